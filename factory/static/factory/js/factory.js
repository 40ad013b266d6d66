// Small progressive enhancements shared by every page. The pages work without them.
(function () {
  "use strict";
  // The language switcher submits as soon as a language is picked.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // Buttons with data-confirm ask before an irreversible action.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
})();
// Buttons with data-print print the page (the compliance record).
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
// "Copy link" (the tracking link): copies it; without a clipboard, selects it for Ctrl+C.
(function () {
  "use strict";
  var button = document.querySelector("[data-copy-target]");
  if (!button) { return; }
  var input = document.getElementById(button.dataset.copyTarget);
  var status = document.getElementById("copy-status");
  button.hidden = false;
  function say(text) { status.textContent = text; }
  function selectLink() { input.focus(); input.select(); say(button.dataset.copyFailed); }
  button.addEventListener("click", function () {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { say(button.dataset.copied); }, selectLink);
    } else {
      selectLink();
    }
  });
})();
