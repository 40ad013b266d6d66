// The admin's autocomplete fields (select2, shipped with Django) name their combobox after the value it shows, so
// an empty one has no name for a screen reader. Each is named by its field's label as well. The admin's own
// autocomplete.js turns the selects into select2 boxes in a jQuery ready handler; this one is registered after it
// (a deferred script), and jQuery runs ready handlers in order.
(function () {
  "use strict";
  var $ = window.django && window.django.jQuery;
  if (!$) { return; }
  $(function () {
    document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var label = document.querySelector('label[for="' + select.id + '"]');
      var box = select.nextElementSibling;
      if (!label || !box || !box.classList.contains("select2")) { return; }
      label.id = label.id || select.id + "-label";
      var combobox = box.querySelector(".select2-selection");
      var rendered = box.querySelector(".select2-selection__rendered");
      if (combobox) { combobox.setAttribute("aria-labelledby", label.id + (rendered ? " " + rendered.id : "")); }
      if (rendered) { rendered.setAttribute("aria-labelledby", label.id); }
    });
  });
})();
