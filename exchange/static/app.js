/* City Exchange: the little behaviour pages have, from this file only.
   The Content-Security-Policy allows no inline script, so templates mark elements
   with data attributes instead of onclick/onchange/onsubmit handlers:
     data-autosubmit   on a select: submit its form when the choice changes
     data-confirm="…"  on a form: ask before submitting it
     data-print        on a link: open the print dialogue
     data-error-summary  on a form's error summary: takes the focus when the page loads
     data-menu         on the header's <details> menu: open on wide screens
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

/* After a failed submit the error summary takes the focus, so a screen reader reads it
   and a keyboard user continues from its links (WCAG 3.3.1). */
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
});

/* The header menu is a <details>: closed on a phone, open on a wide screen, where
   style.css hides its toggle. Browsers that can style ::details-content show it open
   without this; this keeps older ones usable too. */
(function () {
  var wide = window.matchMedia && window.matchMedia("(min-width: 60em)");
  function apply() {
    var menu = document.querySelector("[data-menu]");
    if (menu && wide) {
      menu.open = wide.matches;
    }
  }
  if (wide) {
    document.addEventListener("DOMContentLoaded", apply);
    if (wide.addEventListener) {
      wide.addEventListener("change", apply);
    }
  }
})();
