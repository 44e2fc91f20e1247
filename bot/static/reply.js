// The reply box's counter: characters, texts (segments) and any character that would make
// the text cost more (outside the GSM-7 alphabet: 70 characters a text instead of 160).
// The alphabet comes from the page (data-gsm7*), as the server counts it (bot/segments.py).
(function () {
  function count(text, basic, extension) {
    var units = 0, unusual = [];
    for (var i = 0; i < text.length; i++) {
      var ch = text[i];
      if (basic.indexOf(ch) >= 0) units += 1;
      else if (extension.indexOf(ch) >= 0) units += 2;
      else if (unusual.indexOf(ch) < 0) unusual.push(ch);
    }
    if (unusual.length) {
      var code = text.length; // UTF-16 code units, as UCS-2 counts them
      return { units: code, segments: code <= 70 ? 1 : Math.ceil(code / 67), unusual: unusual };
    }
    return { units: units, segments: units === 0 ? 0 : units <= 160 ? 1 : Math.ceil(units / 153), unusual: [] };
  }
  // Spanish's á, í, ó, ú as plain letters (the server's SPANISH_ACCENTS, from the page): the
  // form the patients' texts take, at 160 characters a text.
  function plain(box, text) {
    var from = box.getAttribute("data-accented") || "", to = box.getAttribute("data-plain-letters") || "";
    var out = "";
    for (var i = 0; i < text.length; i++) {
      var at = from.indexOf(text[i]);
      out += at >= 0 ? to[at] : text[i];
    }
    return out;
  }
  function said(c) {
    return c.units + " characters, " + c.segments + (c.segments === 1 ? " text" : " texts");
  }
  function update(box) {
    var out = document.getElementById(box.getAttribute("aria-describedby"));
    var basic = box.getAttribute("data-gsm7"), extension = box.getAttribute("data-gsm7-extension");
    var c = count(box.value, basic, extension);
    var line = said(c);
    if (c.unusual.length) {
      line += ". Costs more: " + c.unusual.join(" ") + " is not plain SMS text (70 characters a text instead of 160)";
    }
    out.textContent = line + ".";
    out.className = c.unusual.length ? "counter warning" : "counter muted";
    var offer = box.form && box.form.querySelector(".plain-offer");
    if (!offer) return;
    var letters = plain(box, box.value);
    var p = count(letters, basic, extension);
    offer.hidden = !(c.unusual.length && letters !== box.value);
    if (!offer.hidden) {
      offer.querySelector("span").textContent = "In plain letters: " + said(p) + (p.unusual.length ? " (other characters still cost more)." : ".");
    }
  }
  document.addEventListener("input", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-gsm7")) update(event.target);
  });
  // A saved reply chosen: its text (filled in for this patient by the server) in the box,
  // counted as if typed; the box stays editable.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.hasAttribute || !select.hasAttribute("data-saved-for")) return;
    var option = select.options[select.selectedIndex];
    if (!option || !option.hasAttribute("data-text")) return;
    var box = document.getElementById(select.getAttribute("data-saved-for"));
    box.value = option.getAttribute("data-text");
    update(box);
    box.focus();
  });
  // Ctrl+Enter (Cmd+Enter on a Mac) in the reply box sends it, as the Send button does.
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    if (!box.hasAttribute || !box.hasAttribute("data-gsm7") || !box.form) return;
    event.preventDefault();
    var send = box.form.querySelector("button[type=submit]:not([name])");
    if (box.form.requestSubmit) box.form.requestSubmit(send || undefined);
    else if (send) send.click();
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-plain-for]");
    if (!button) return;
    var box = document.getElementById(button.getAttribute("data-plain-for"));
    box.value = plain(box, box.value);
    update(box);
    box.focus();
  });
})();
