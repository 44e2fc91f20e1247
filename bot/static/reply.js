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
  function update(box) {
    var out = document.getElementById(box.getAttribute("aria-describedby"));
    var c = count(box.value, box.getAttribute("data-gsm7"), box.getAttribute("data-gsm7-extension"));
    var line = c.units + " characters, " + c.segments + (c.segments === 1 ? " text" : " texts");
    if (c.unusual.length) {
      line += ". Costs more: " + c.unusual.join(" ") + " is not plain SMS text (70 characters a text instead of 160)";
    }
    out.textContent = line + ".";
    out.className = c.unusual.length ? "counter warning" : "counter muted";
  }
  document.addEventListener("input", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-gsm7")) update(event.target);
  });
})();
