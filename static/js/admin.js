// The Django admin's date-and-time fields are two inputs after the words "Date:" and "Time:",
// with the field's one <label> pointing at neither in particular. Each input is named here
// ("Clocked time: date") so that a screen reader, and axe, know what it is for.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("p.datetime").forEach(function (group) {
      const row = group.closest(".form-row, .fieldBox, td") || group.parentElement;
      const label = row && row.querySelector("label");
      const question = label ? label.textContent.replace(/:\s*$/, "").trim() : "";
      const parts = [["vDateField", "date"], ["vTimeField", "time"]];
      parts.forEach(function (part) {
        group.querySelectorAll("input." + part[0]).forEach(function (input) {
          if (!input.labels.length && !input.hasAttribute("aria-label")) {
            input.setAttribute("aria-label", (question ? question + ": " : "") + part[1]);
          }
        });
      });
    });
  });
})();
