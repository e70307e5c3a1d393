// The monthly report's "Print or save as PDF" button (no inline scripts: see figures.js).
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
