// The GOV.UK error summary (templates/includes/error_summary.html). When a page comes back with
// errors, focus moves to the summary so a screen reader reads it out and the keyboard starts
// there; each link in it then takes the person to the field, showing the field's question (its
// label, or the legend of a group of radios or checkboxes) rather than only the bare input.
(function () {
  "use strict";

  function questionFor(input) {
    const fieldset = input.closest("fieldset");
    const legend = fieldset && fieldset.querySelector("legend");
    if (legend && (input.type === "radio" || input.type === "checkbox")) {
      return legend;
    }
    return document.querySelector("label[for='" + CSS.escape(input.id) + "']") || input.closest("label") || input;
  }

  function focusField(link, event) {
    const id = decodeURIComponent(link.hash.slice(1));
    const input = id && document.getElementById(id);
    if (!input) {
      return;  // no such field on the page: let the browser follow the link
    }
    event.preventDefault();
    // A field inside a closed <details> (a folded form) cannot take focus until it is open.
    for (let parent = input.parentElement; parent; parent = parent.parentElement) {
      if (parent.tagName === "DETAILS") {
        parent.open = true;
      }
    }
    questionFor(input).scrollIntoView();
    input.focus({preventScroll: true});
  }

  function setUp(root) {
    const summary = root.querySelector("[data-error-summary]");
    if (!summary || summary.dataset.errorSummaryReady) {
      return;
    }
    summary.dataset.errorSummaryReady = "true";
    summary.addEventListener("click", function (event) {
      const link = event.target.closest("a[href^='#']");
      if (link) {
        focusField(link, event);
      }
    });
    summary.focus();
  }

  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  // A form swapped in by htmx may bring its own summary with it.
  document.addEventListener("htmx:afterSettle", function (event) { setUp(event.target); });
})();
