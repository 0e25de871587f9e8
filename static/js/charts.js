/* Draw each dashboard chart: <div class="chart" data-chart="ID"> takes its ECharts option object
   from the JSON script element with that id (written by the page with json_script). SVG renderer:
   crisp when printed, and every figure is also in the table beside the chart. */
(function () {
  "use strict";
  var charts = [];
  function draw(box) {
    var source = document.getElementById(box.getAttribute("data-chart"));
    if (!source || typeof echarts === "undefined") return;
    var option = JSON.parse(source.textContent);
    option.animation = false;
    var chart = echarts.init(box, null, { renderer: "svg" });
    chart.setOption(option);
    charts.push(chart);
  }
  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".chart[data-chart]"), draw);
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
    window.addEventListener("beforeprint", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
