// The node form shows only the fields that apply to what is chosen (no inline scripts: see
// figures.js). A wrapper [data-show-when="direction!=maintain; time_aggregation=sum"] is shown
// while every condition holds: "name=a|b" (the field "name" is a or b), "name!=a|b", and
// "has_number=no" while no target (no range) is typed. Without this script every field shows.
// A field that is hidden keeps what was typed in it and is still submitted: choosing again
// shows it as it was. A field with an error is never hidden.
(function () {
  "use strict";

  var form = document.getElementById("node-form");
  if (!form) return;
  var groups = form.querySelectorAll("[data-show-when]");
  if (!groups.length) return;

  function valueOf(name) {
    if (name === "has_number") return hasNumber();
    var field = form.elements.namedItem(name);
    return field ? field.value : null;
  }

  // Whether what is typed gives the node a number of its own, as goals.targets.has_number says:
  // a bound of the range to stay within, else a target. Without one (a KSF) it takes its status
  // from its children, by the rule asked for only then.
  function hasNumber() {
    function typed(name) {
      var field = form.elements.namedItem(name);
      return !!field && field.value.trim() !== "";
    }
    var number = valueOf("direction") === "maintain" ? typed("target_min") || typed("target_max") : typed("target_value");
    return number ? "yes" : "no";
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
  form.addEventListener("input", update);
  update();
})();
