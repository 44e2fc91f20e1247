// The inbox's news without reloading (bot/web/inbox.py, /inbox/news): every
// INBOX_POLL_SECONDS the badge in the navigation is set to the threads unread for this
// staff member, the inbox's list is fetched again when anything in it changed, and, when
// the member allowed it, a new urgent text shows a browser notification with no name and no
// words of the text (it may show on a locked screen). The poll does not keep the session
// alive; once signed out, it stops (a server away, mid-restart, is asked again later).
(function () {
  var body = document.body;
  var url = body.getAttribute("data-news-url");
  var every = parseInt(body.getAttribute("data-poll-seconds") || "0", 10);
  if (!url || !(every > 0) || !window.fetch) return;
  // The urgent unread threads when the page was made: a notification is for more than these.
  var urgentSeen = parseInt(body.getAttribute("data-urgent-unread") || "0", 10);

  function setBadge(unread) {
    var link = document.getElementById("inbox-link");
    if (!link) return;
    var badge = link.querySelector(".badge");
    if (!unread) {
      if (badge) badge.remove();
      return;
    }
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "badge";
      link.appendChild(document.createTextNode(" "));
      link.appendChild(badge);
    }
    badge.textContent = String(unread);
    badge.setAttribute("aria-label", unread + " unread");
  }

  function refreshList(mark) {
    var list = document.getElementById("inbox-list");
    if (!list || list.getAttribute("data-mark") === mark) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) throw new Error("no page");
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("inbox-list");
        if (!fresh) return;
        list.replaceWith(document.importNode(fresh, true));
        var status = document.getElementById("inbox-update");
        if (status) status.textContent = "The inbox was updated.";
      })
      .catch(function () {});
  }

  function notify(urgent) {
    if (urgent > urgentSeen && window.Notification &&
        Notification.permission === "granted") {
      new Notification("Urgent text in the inbox", {
        body: "A patient's text needs a person now. Open the inbox.",
        tag: "urgent-text",
      });
    }
    urgentSeen = urgent;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (response.redirected || (response.ok && !json)) return null; // signed out
        if (!response.ok) throw new Error("server away");
        return response.json();
      })
      .then(function (news) {
        if (news === null) return; // signed out: stop asking
        setBadge(news.unread);
        notify(news.urgent_unread);
        refreshList(news.mark);
        window.setTimeout(poll, every * 1000);
      })
      .catch(function () { window.setTimeout(poll, every * 4000); }); // a restart: ask later
  }

  function offerNotifications() {
    var button = document.getElementById("notify");
    if (!button || !window.Notification || Notification.permission !== "default") return;
    button.hidden = false;
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function () { button.hidden = true; });
    });
  }

  offerNotifications();
  window.setTimeout(poll, every * 1000);
})();
