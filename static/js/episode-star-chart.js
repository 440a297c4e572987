// Draws the Outcomes Star on an episode's page as a radar chart, from the JSON beside it
// (selectors_outcomes.star_chart). The table beside the chart holds the same figures, so the
// canvas is only a picture of that table.
(function () {
  "use strict";
  const canvas = document.querySelector("canvas[data-star-chart]");
  if (!canvas || typeof Chart === "undefined") {
    return;
  }
  const star = JSON.parse(document.getElementById(canvas.dataset.starChart).textContent);
  const narrow = canvas.parentElement.clientWidth < 480;

  // An area's name over several short lines, so that on a phone it fits beside the star
  // instead of running off the canvas ("Work, volunteering and other activities").
  function lines(label) {
    const most = narrow ? 12 : 20;
    return label.split(" ").reduce(function (found, word) {
      const last = found[found.length - 1];
      if (last && (last + " " + word).length <= most) {
        found[found.length - 1] = last + " " + word;
      } else {
        found.push(word);
      }
      return found;
    }, []);
  }

  const datasets = [];
  if (star.baseline) {
    datasets.push({label: "Baseline", data: star.baseline, borderColor: "#425563",
                   backgroundColor: "rgba(66, 85, 99, 0.15)", borderDash: [6, 4]});
  }
  if (star.follow_up) {
    datasets.push({label: "At 12 weeks or exit", data: star.follow_up, borderColor: "#005eb8",
                   backgroundColor: "rgba(0, 94, 184, 0.2)"});
  }
  new Chart(canvas, {
    type: "radar",
    data: {labels: star.labels.map(lines), datasets: datasets},
    options: {
      animation: false,
      scales: {
        r: {
          min: 0,
          max: star.highest,
          ticks: {stepSize: 2},
          pointLabels: {font: {size: narrow ? 10 : 12}},
        },
      },
    },
  });
})();
