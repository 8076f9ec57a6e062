// The console's charts (dashboard, customer Overview): each <canvas data-chart="ID"> is drawn by Chart.js (vendored, static/js/vendor)
// from the JSON in <script type="application/json" id="ID"> (loyalty.charts.Chart.config).
// No inline scripts (the CSP refuses them); the same numbers are in the table under each chart.
(function () {
  "use strict";
  var COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#be185d"];

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || !window.Chart) return;
    var config = JSON.parse(source.textContent);
    var hasRightAxis = false;
    var datasets = config.datasets.map(function (set, i) {
      var color = COLORS[i % COLORS.length];
      var line = (set.type || config.type) === "line";
      if (set.axis === "y1") hasRightAxis = true;
      return {
        label: set.label,
        data: set.data,
        type: set.type || config.type,
        yAxisID: set.axis || "y",
        borderColor: color,
        backgroundColor: line ? color : color + "cc",
        borderWidth: line ? 2 : 0,
        pointRadius: config.labels.length > 40 ? 0 : 2,
        tension: 0.2,
      };
    });
    var scales = {
      x: { ticks: { autoSkip: true, maxRotation: 0, font: { size: 12 } } },
      y: { beginAtZero: true, ticks: { font: { size: 12 } } },
    };
    if (hasRightAxis) {
      scales.y1 = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, ticks: { font: { size: 12 } } };
    }
    new window.Chart(canvas, {
      type: config.type,
      data: { labels: config.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { labels: { font: { size: 12 } } } },
        scales: scales,
      },
    });
  }

  function init() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
