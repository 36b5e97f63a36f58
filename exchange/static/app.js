/* City Exchange: the little behaviour pages have, from this file only.
   The Content-Security-Policy allows no inline script, so templates mark elements
   with data attributes instead of onclick/onchange/onsubmit handlers:
     data-autosubmit   on a select: submit its form when the choice changes
     data-confirm="…"  on a form: ask before submitting it
     data-print        on a link: open the print dialogue
   Every page works without JavaScript too (a filter has its own button in <noscript>). */
"use strict";

document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.submit();
  }
});

document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("[data-print]");
  if (link) {
    event.preventDefault();
    window.print();
  }
});
