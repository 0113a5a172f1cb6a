/* Draws the dashboard's charts with the bundled Plotly (no inline script: the figures are
   JSON data blocks next to their <div>). */
(function () {
  "use strict";
  function draw() {
    if (typeof Plotly === "undefined") { return; }
    var plots = document.querySelectorAll("div.plot[data-figure-json]");
    for (var i = 0; i < plots.length; i++) {
      var holder = document.getElementById(plots[i].getAttribute("data-figure-json"));
      if (!holder) { continue; }
      var figure = JSON.parse(holder.textContent);
      var layout = figure.layout || {};
      layout.autosize = true;
      Plotly.newPlot(plots[i], figure.data || [], layout, { displaylogo: false, responsive: true });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
}());
