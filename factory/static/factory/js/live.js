// Live dashboards: draw the page's plotly figures, then refresh figures, tiles and fragments every few
// seconds from the page's JSON endpoint. Plotly.react updates a figure in place, so nothing flickers and
// the user's zoom survives (the figures carry layout.uirevision).
(function () {
  "use strict";
  var root = document.querySelector("[data-live-url]");
  if (!root || !window.Plotly) { return; }
  // No "Share chart..." button: plotly.js 4 offers one by default, and the factory's data never leave the site.
  var config = {
    displaylogo: false, responsive: true, showSendToCloud: false, modeBarButtonsToRemove: ["select2d", "lasso2d"]
  };
  // plotly's own words in the page's language (factory.charts.plotly_locale); this script runs after plotly's.
  var locale = document.getElementById("plotly-locale");
  if (locale) {
    var module = JSON.parse(locale.textContent);
    window.Plotly.register(module);
    config.locale = module.name;
  }

  // `summary`: the figure's text alternative, read by screen readers in place of the drawing (kept when not given).
  function draw(key, figure, summary) {
    var element = document.querySelector('[data-chart="' + key + '"]');
    var empty = document.querySelector('[data-chart-empty="' + key + '"]');
    var text = document.querySelector('[data-chart-summary="' + key + '"]');
    if (!element) { return; }
    if (text) {
      text.hidden = !figure;
      if (summary != null) { text.textContent = summary; }
    }
    if (!figure) {
      element.hidden = true;
      if (empty) { empty.hidden = false; }
      return;
    }
    element.hidden = false;
    if (empty) { empty.hidden = true; }
    window.Plotly.react(element, figure.data, figure.layout, config);
  }

  function drawAll(figures, summaries) {
    Object.keys(figures || {}).forEach(function (key) { draw(key, figures[key], (summaries || {})[key]); });
  }

  function updateTiles(tiles) {
    Object.keys(tiles || {}).forEach(function (key) {
      var tile = root.querySelector('[data-tile="' + key + '"]');
      if (!tile) { return; }
      tile.querySelector("[data-tile-value]").textContent = tiles[key].value;
      tile.querySelector("[data-tile-detail]").textContent = tiles[key].detail;
      tile.className = tile.className.replace(/\s*kpi--\w+/g, "") + (tiles[key].tone ? " kpi--" + tiles[key].tone : "");
    });
  }

  // A fragment someone is working in (focus inside, a form being filled, an open <details>) is left alone
  // until they are done: a refresh must never eat what a person typed.
  function inUse(element) {
    if (element.contains(document.activeElement) && document.activeElement !== document.body) { return true; }
    if (element.querySelector("details[open]")) { return true; }
    return Array.prototype.some.call(element.querySelectorAll("input, textarea, select"), function (field) {
      if (field.type === "hidden") { return false; }
      if (field.type === "checkbox" || field.type === "radio") { return field.checked !== field.defaultChecked; }
      if (field.tagName === "SELECT") {
        return Array.prototype.some.call(field.options, function (option) { return option.selected !== option.defaultSelected; });
      }
      return field.value !== field.defaultValue;
    });
  }

  function updateFragments(fragments) {
    Object.keys(fragments || {}).forEach(function (key) {
      var element = root.querySelector('[data-fragment="' + key + '"]');
      if (element && !inUse(element)) { element.innerHTML = fragments[key]; }
    });
  }

  var initial = document.getElementById("dashboard-figures");
  // The page's text and tiles are painted first; the charts are drawn in the frame after.
  window.requestAnimationFrame(function () {
    window.setTimeout(function () { drawAll(initial ? JSON.parse(initial.textContent) : {}); }, 0);
  });

  if (!root.dataset.liveUrl) { return; }  // a page that draws its figures once
  var seconds = parseInt(root.dataset.liveSeconds, 10) || 5;
  var busy = false;
  function refresh() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(root.dataset.liveUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        // The session ended: reloading the page leads to the sign-in page, rather than old figures shown as live.
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data) { return; }
        updateTiles(data.tiles);
        drawAll(data.charts, data.summaries);
        updateFragments(data.fragments);
        root.dataset.liveAt = data.at;
      })
      .catch(function () { /* a missed refresh is retried at the next tick */ })
      .finally(function () { busy = false; });
  }
  window.setInterval(refresh, seconds * 1000);
})();
