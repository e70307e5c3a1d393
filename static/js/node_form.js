// The node form shows only the fields that apply to what is chosen (no inline scripts: see
// figures.js). A wrapper [data-show-when="direction!=maintain; time_aggregation=sum"] is shown
// while every condition holds: "name=a|b" (the field "name" is a or b) or "name!=a|b". Without
// this script every field shows. A field that is hidden keeps what was typed in it, and it is
// still submitted: choosing again shows it as it was. A field with an error is never hidden.
(function () {
  "use strict";

  var form = document.getElementById("node-form");
  if (!form) return;
  var groups = form.querySelectorAll("[data-show-when]");
  if (!groups.length) return;

  function valueOf(name) {
    var field = form.elements.namedItem(name);
    if (!field) return null;
    if (field instanceof RadioNodeList) return field.value;
    return field.value;
  }

  function holds(condition) {
    var match = /^\s*([\w]+)\s*(!?=)\s*(.*?)\s*$/.exec(condition);
    if (!match) return true;
    var value = valueOf(match[1]);
    if (value === null) return true; // the field is not on this form: nothing to decide by
    var listed = match[3].split("|").indexOf(value) !== -1;
    return match[2] === "=" ? listed : !listed;
  }

  function update() {
    groups.forEach(function (group) {
      var shown = group.getAttribute("data-show-when").split(";").filter(function (c) {
        return c.trim();
      }).every(holds);
      if (group.querySelector(".errorlist, [aria-invalid=true]")) shown = true;
      group.hidden = !shown;
    });
  }

  form.addEventListener("change", update);
  update();
})();
