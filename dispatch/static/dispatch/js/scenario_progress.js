// A scenario run's progress bar follows the run: every second and a half it asks the run's progress (JSON), moves
// the bar and the state's badge, and once the run is done (or failed) opens the run's page with its result. Without
// JavaScript the page says the run is going and offers a reload instead.
(function () {
  "use strict";
  var SECONDS = 1.5;
  document.querySelectorAll("[data-run-progress]").forEach(function (box) {
    var bar = box.querySelector("[role=progressbar]");
    var fill = bar.querySelector("span");
    var percent = box.querySelector("[data-run-percent]");
    var state = box.querySelector("[data-run-state]");
    var busy = false;
    var timer = null;

    function show(data) {
      var value = Math.round(Math.max(0, Math.min(1, data.progress)) * 100);
      fill.style.width = value + "%";
      bar.setAttribute("aria-valuenow", String(value));
      percent.textContent = value + "%";
      state.textContent = data.state_label;
      state.className = "badge badge--" + data.tone;
      box.dataset.state = data.state;
    }

    function poll() {
      if (busy || document.hidden) { return; }
      busy = true;
      fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          // The session ended: reloading leads to the sign-in page rather than a bar that never moves.
          if (response.status === 401) { window.location.reload(); return null; }
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (!data) { return; }
          show(data);
          if (data.state === "done" || data.state === "failed") {
            window.clearInterval(timer);
            window.location.assign(data.url);
          }
        })
        .catch(function () { /* a missed poll is asked again at the next one */ })
        .finally(function () { busy = false; });
    }

    timer = window.setInterval(poll, SECONDS * 1000);
  });
})();
