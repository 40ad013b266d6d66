// The header's count of unread notices, kept current: asked at once, then every few seconds (the link's
// data-unread-seconds, settings.NOTICE_POLL_SECONDS) while the page is open. A session that ended answers 401 and the count is left alone (the page's next action signs in again).
(function () {
  "use strict";
  var link = document.querySelector("[data-unread-url]");
  if (!link) { return; }
  var badge = link.querySelector("[data-unread-count]");
  var label = link.querySelector("[data-unread-label]");
  var seconds = Number(link.dataset.unreadSeconds) || 10;

  function show(count) {
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.hidden = count === 0;
    label.textContent = count === 0 ? link.dataset.noneLabel : link.dataset.someLabel.replace("%(count)s", count);
  }

  function ask() {
    fetch(link.dataset.unreadUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) { if (answer) { show(answer.unread); } })
      .catch(function () { /* offline for a moment: the next round tries again */ });
  }

  ask();
  window.setInterval(ask, seconds * 1000);
})();
