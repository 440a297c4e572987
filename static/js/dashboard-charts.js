// Draws each <canvas data-chart> from the JSON beside it, on page load and in any part of the
// page htmx fills in later (the dashboard's "Added value" section). Every chart has a table with
// the same figures next to it, so the canvas is only a picture of that table.
(function () {
  "use strict";
  function draw(root) {
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      canvas.dataset.drawn = "true";
      // Rows come in the canvas's own data-rows where htmx filled the chart in (it inserts no
      // <script>, not even a JSON one), else from the json_script element it names.
      const rows = JSON.parse(canvas.dataset.rows || document.getElementById(canvas.dataset.chart).textContent);
      const series = JSON.parse(canvas.dataset.series);
      const horizontal = canvas.dataset.horizontal === "true";
      const stacked = canvas.dataset.stacked === "true";
      const valueAxis = horizontal ? "x" : "y";
      const scales = {x: {stacked: stacked}, y: {stacked: stacked}};
      scales[valueAxis].beginAtZero = true;
      new Chart(canvas, {
        type: "bar",
        data: {
          labels: rows.map(function (row) { return row[canvas.dataset.labels]; }),
          datasets: series.map(function (s) {
            return {label: s[1], backgroundColor: s[2], data: rows.map(function (row) { return row[s[0]]; })};
          }),
        },
        options: {animation: false, indexAxis: horizontal ? "y" : "x", scales: scales},
      });
    });
  }
  draw(document);
  document.body.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
