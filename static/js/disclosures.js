// A <details data-open-from="992"> is folded on narrow screens and opened on load from that
// viewport width up (px; 992 is Bootstrap's lg), where what it holds fits beside the content.
// Without this script it stays folded and opens with a click, as any <details> does.
(function () {
  document.querySelectorAll("details[data-open-from]").forEach(function (details) {
    var width = parseInt(details.dataset.openFrom, 10);
    if (window.matchMedia("(min-width: " + width + "px)").matches) {
      details.open = true;
    }
  });
})();
