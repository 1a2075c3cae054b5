// Accessible names for the admin's select2 pickers (autocomplete fields).
// select2 names its combobox after the chosen value's text only, so an empty
// picker has no name at all; point it at the field's own label as well.
(function () {
  "use strict";

  function name(selection) {
    var container = selection.closest(".select2-container");
    var select = container && container.previousElementSibling;
    if (!select || select.tagName !== "SELECT" || !select.id) return;
    var label = document.querySelector('label[for="' + select.id + '"]');
    var text = label ? label.textContent.replace(/:\s*$/, "").trim() : "";
    if (!text) {
      // Rows of a tabular inline have no label: the column heading names them.
      text = select.getAttribute("aria-label") || "";
    }
    if (!text) return;
    var rendered = selection.querySelector(".select2-selection__rendered");
    var chosen = rendered ? rendered.textContent.trim() : "";
    selection.setAttribute("aria-label", chosen ? text + ": " + chosen : text);
    selection.removeAttribute("aria-labelledby");
    if (rendered) rendered.setAttribute("aria-label", chosen || text);
  }

  function nameAll() {
    var selections = document.querySelectorAll(".select2-selection[role='combobox']");
    for (var i = 0; i < selections.length; i++) name(selections[i]);
  }

  // select2 builds its pickers when the page is ready, when a row is added and
  // when a value is chosen: name them whenever its markup appears or changes.
  var pending = false;
  function soon() {
    if (pending) return;
    pending = true;
    window.setTimeout(function () { pending = false; nameAll(); }, 0);
  }
  document.addEventListener("DOMContentLoaded", function () {
    nameAll();
    new MutationObserver(function (records) {
      for (var i = 0; i < records.length; i++) {
        var node = records[i].target;
        if (node.nodeType === 1 && (node.closest(".select2-container") || node.querySelector(".select2-container"))) {
          soon();
          return;
        }
      }
    }).observe(document.body, {childList: true, subtree: true});
  });
  window.addEventListener("load", nameAll);
  document.addEventListener("change", function (event) {
    if (event.target && event.target.tagName === "SELECT") window.setTimeout(nameAll, 0);
  });
})();
