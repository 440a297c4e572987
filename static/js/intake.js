// The new referral form (templates/referrals/referral_form.html). Everything here only hides,
// opens or fills in: without it every field shows and the server ignores the other sector's.
(function () {
  "use strict";

  // Only the chosen sector's fields: a voluntary service and the sharing basis, or a health or
  // social care organisation.
  function showSector() {
    const chosen = document.querySelector("input[name='destination_sector']:checked");
    document.querySelectorAll("[data-sector]").forEach(function (part) {
      part.hidden = Boolean(chosen) && !part.dataset.sector.split(" ").includes(chosen.value);
    });
  }

  // The override reason is asked for only while the remit check finds the referral outside the
  // remit, or once something is written in it.
  function showOverride() {
    const override = document.getElementById("override");
    const reason = document.getElementById("id_override_reason");
    if (!override || !reason) {
      return;
    }
    const outside = document.querySelector("#remit-check [data-out-of-remit]");
    override.hidden = !outside && !reason.value.trim() && !reason.classList.contains("is-invalid");
  }

  // A patient picked from the search: their number goes in the NHS number field, whose lookup
  // then confirms them under it, and the remit check learns who it is for.
  function pickPatient(button) {
    const field = document.getElementById("id_nhs_number");
    field.value = button.dataset.nhsNumber;
    htmx.trigger(field, "keyup");
    htmx.trigger(field, "change");
    field.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.querySelector("form.vso-intake");
    if (!form) {
      return;
    }
    showSector();
    form.addEventListener("change", function (event) {
      if (event.target.name === "destination_sector") {
        showSector();
      }
    });
    form.addEventListener("click", function (event) {
      const button = event.target.closest("button[data-nhs-number]");
      if (button) {
        pickPatient(button);
      }
    });
    form.addEventListener("htmx:afterSwap", function (event) {
      const target = event.detail.target;
      if (target.id === "remit-check") {
        showOverride();
      } else if (target.id === "patient-lookup" && target.querySelector("[data-new-patient]")) {
        document.getElementById("new-patient").open = true;
      }
    });
  });
})();
