// Draws every figure of the page: an element [data-figure="ID"] is drawn from the JSON that
// Django's json_script wrote into <script type="application/json" id="ID"> (no inline scripts,
// so a strict Content-Security-Policy can be set). A click on a point whose customdata is a
// path ("/nodes/12/", "/executive/?node=12") goes there: the status map drills into a node.
(function () {
  "use strict";

  function linkOf(point) {
    var target = point && point.customdata;
    if (Array.isArray(target)) target = target[0];
    return typeof target === "string" && target.charAt(0) === "/" ? target : null;
  }

  function follow(event) {
    var url = event && event.points && event.points.length ? linkOf(event.points[0]) : null;
    if (url) {
      window.location.assign(url);
      return false; // for an icicle or treemap: no zoom, the page we go to draws the subtree
    }
    return undefined;
  }

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-figure"));
    if (!source || typeof Plotly === "undefined") return;
    var figure = JSON.parse(source.textContent);
    var config = Object.assign({ responsive: true, displaylogo: false }, figure.config || {});
    Plotly.newPlot(element, figure.data || [], figure.layout || {}, config).then(function () {
      element.on("plotly_click", follow);
      element.on("plotly_icicleclick", follow);
      element.on("plotly_treemapclick", follow);
      element.on("plotly_sunburstclick", follow);
      element.classList.add("figure-drawn");
    });
  }

  function drawAll() {
    document.querySelectorAll("[data-figure]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
