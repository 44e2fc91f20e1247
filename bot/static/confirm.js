// Asks before a form that cannot be undone is sent. The question is the form's
// data-confirm attribute (plain text, never run); the pages hold no inline script.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
