// Draws every figure of the page: an element [data-figure="ID"] is drawn from the JSON that
// Django's json_script wrote into <script type="application/json" id="ID"> (no inline scripts,
// so a strict Content-Security-Policy can be set). A click on a point whose customdata is a
// path ("/nodes/12/", "/executive/?node=12") goes there: the status map drills into a node.
//
// On a narrow screen (a phone) the same figures are fitted to the width: no tool bar over the
// title, titles and notes broken into lines, the status map three levels deep with its labels
// in short lines (dashboards/figures.py sends them, escaped), and a figure laid out for paper
// (the monthly report) drawn at the screen's width, and at the paper's again when printed.
// Every text arrives escaped from the server: this file only adds <br> between its words.
(function () {
  "use strict";

  var PHONE = window.matchMedia("(max-width: 640px)");
  var PHONE_DEPTH = 3; // levels of the status map on a phone: a box is a third of the width
  var PHONE_BOX = 80; // px of height per leaf of the map on a phone: five lines of text
  var PHONE_MAP_MAX = 1800; // px: a bigger tree is read by drilling in (a tap on a box)
  var NO_LINE_START = /^[)\]}）」』】〕〉》、。，．,.:;!?・：；？！ーぁぃぅぇぉっゃゅょァィゥェォッャュョ…]/;
  var LEGEND_LINE = 20; // px of a legend entry on a line of its own
  var LINE = 1.5; // a title line's height, in font sizes (with room below the last)
  var measure = document.createElement("canvas").getContext("2d");

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

  // The width of escaped text as drawn (an entity counts as the character it stands for).
  function textWidth(text, size) {
    measure.font = size + "px system-ui, -apple-system, 'Segoe UI', 'Hiragino Sans', sans-serif";
    return measure.measureText(text.replace(/&(#\d+|#x[\da-f]+|[a-z]+);/gi, "x")).width;
  }

  // Escaped text in lines no wider than ``width``: broken at spaces, or between two CJK
  // characters; an entity (&lt;) is never split. Returns the lines joined by <br>.
  function fitLines(text, width, size) {
    var lines = [];
    text.split("<br>").forEach(function (part) {
      var tokens = (part.match(/ *(&[#\w]+;|[\u2E80-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]|[^ \u2E80-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF&]+|&)/g) || [""])
        .reduce(function (joined, token) {
          // A closing bracket or mark never starts a line (Japanese line breaking rules).
          if (joined.length && NO_LINE_START.test(token)) joined[joined.length - 1] += token;
          else joined.push(token);
          return joined;
        }, []);
      var line = "";
      tokens.forEach(function (token) {
        if (line && textWidth(line + token, size) > width) {
          lines.push(line);
          line = token.replace(/^ +/, "");
        } else {
          line += token;
        }
      });
      lines.push(line);
    });
    return lines;
  }

  function fitTitle(layout, width) {
    var title = layout.title;
    if (!title || !title.text) return;
    var size = (title.font && title.font.size) || 15;
    var lines = fitLines(title.text, width - 16, size);
    var extra = Math.round((lines.length - title.text.split("<br>").length) * size * LINE);
    title.text = lines.join("<br>");
    if (extra > 0) {
      layout.margin = Object.assign({}, layout.margin);
      layout.margin.t = (layout.margin.t || 40) + extra;
      if (layout.height) layout.height += extra;
    }
  }

  function fitNotes(layout, width) {
    (layout.annotations || []).forEach(function (note) {
      if (note.text) note.text = fitLines(note.text, width * 0.55, (note.font && note.font.size) || 12).join("<br>");
    });
  }

  // A legend across the foot: on a phone each entry takes a line of its own, below the axis
  // title rather than over it, and the figure grows by as many lines.
  function fitLegend(layout, data) {
    if (layout.showlegend === false || !layout.legend || layout.legend.orientation !== "h") return;
    var entries = data.filter(function (trace) { return trace.showlegend !== false; }).length;
    var extra = entries * LEGEND_LINE;
    layout.legend = Object.assign({}, layout.legend, { yref: "container", y: 0, yanchor: "bottom" });
    layout.margin = Object.assign({}, layout.margin);
    layout.margin.b = (layout.margin.b || 10) + extra;
    if (layout.height) layout.height += extra;
  }

  // The status map on a phone: three levels, each box's label in short lines, tall enough to read.
  function fitMap(trace, layout) {
    trace.maxdepth = PHONE_DEPTH;
    trace.texttemplate = "%{customdata[1]}<br>%{text}";
    // plotly gives each leaf the same share of the height: the smallest box is one leaf's.
    var parents = {};
    trace.parents.forEach(function (parent) { parents[parent] = true; });
    var leaves = trace.ids.filter(function (id) { return !parents[id]; }).length;
    var wanted = (layout.margin ? layout.margin.t : 40) + leaves * PHONE_BOX;
    layout.height = Math.max(layout.height || 360, Math.min(wanted, PHONE_MAP_MAX));
  }

  function forPaper(element, figure, config) {
    var paperWidth = figure.layout.width;
    if (!paperWidth || config.responsive !== false || element.clientWidth >= paperWidth) return;
    // Narrower than the paper: follow the screen, and take the paper's width to print.
    delete figure.layout.width;
    config.responsive = true;
    window.addEventListener("beforeprint", function () {
      Plotly.relayout(element, { width: paperWidth });
    });
    window.addEventListener("afterprint", function () {
      Plotly.relayout(element, { width: element.parentElement.clientWidth });
    });
  }

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-figure"));
    if (!source || typeof Plotly === "undefined") return;
    var figure = JSON.parse(source.textContent);
    figure.layout = figure.layout || {};
    var config = Object.assign({ responsive: true, displaylogo: false }, figure.config || {});
    forPaper(element, figure, config);
    var width = element.clientWidth || window.innerWidth;
    if (PHONE.matches) {
      config.displayModeBar = false; // on a phone the tool bar covered the titles
      (figure.data || []).forEach(function (trace) {
        if (trace.type === "icicle" && Array.isArray(trace.customdata)) fitMap(trace, figure.layout);
        // The bullet's number shrank to a few pixels beside the gauge: on a phone the gauge takes
        // the width, and the facts right below it give the actual and the gap in words.
        if (trace.type === "indicator" && trace.gauge && trace.gauge.shape === "bullet") trace.mode = "gauge";
      });
    }
    fitTitle(figure.layout, width);
    if (PHONE.matches) {
      fitNotes(figure.layout, width);
      fitLegend(figure.layout, figure.data || []);
      // A tick every month does not fit a phone's width: plotly picks fewer.
      Object.keys(figure.layout).forEach(function (key) {
        if (/^xaxis\d*$/.test(key) && figure.layout[key].dtick === "M1") delete figure.layout[key].dtick;
      });
    }
    Plotly.newPlot(element, figure.data || [], figure.layout, config).then(function () {
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
