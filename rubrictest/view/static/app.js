// rubrictest view: draws the plots (vendored vega-embed, no network) and wires the small
// interactions. Pages are complete without it; nothing here writes anywhere.
(function () {
  "use strict";

  function visible(el) {
    return el.offsetParent !== null || el.getClientRects().length > 0;
  }

  // Plots: each <div class="chart" data-spec="ID"> takes its Vega-Lite spec from the JSON
  // block #ID. `ast: true` makes Vega interpret expressions instead of compiling them, so the
  // pages need no 'unsafe-eval' in their Content-Security-Policy.
  function drawCharts() {
    document.querySelectorAll("div.chart[data-spec]:not([data-drawn])").forEach(function (div) {
      if (!visible(div) || typeof vegaEmbed === "undefined") return;
      div.setAttribute("data-drawn", "1");
      var source = document.getElementById(div.getAttribute("data-spec"));
      var spec = JSON.parse(source.textContent);
      vegaEmbed(div, spec, { actions: false, ast: true, renderer: "svg" }).catch(function (err) {
        div.textContent = "The plot could not be drawn: " + err;
      });
    });
  }

  // Case page: pointing at a verdict lights up its evidence in the response.
  function wireEvidence() {
    document.querySelectorAll(".verdict[data-mark]").forEach(function (card) {
      var n = card.getAttribute("data-mark");
      var scope = card.closest("[data-scope]") || document;
      var marks = scope.querySelectorAll('mark.ev[data-marks~="' + n + '"]');
      card.addEventListener("mouseenter", function () { marks.forEach(function (m) { m.classList.add("hot"); }); });
      card.addEventListener("mouseleave", function () { marks.forEach(function (m) { m.classList.remove("hot"); }); });
    });
  }

  // The self-contained report filters its verdict table in the page (the server filters in SQL).
  function wireClientFilters() {
    document.querySelectorAll("form.filters[data-client]").forEach(function (form) {
      var table = document.getElementById(form.getAttribute("data-client"));
      var counter = form.querySelector("[data-count]");
      function apply() {
        var want = {};
        form.querySelectorAll("select, input").forEach(function (el) { want[el.name] = el.value.toLowerCase(); });
        var shown = 0;
        table.querySelectorAll("tbody tr").forEach(function (row) {
          var d = row.dataset, ok = true;
          if (want.status && d.status.toLowerCase() !== want.status) ok = false;
          if (want.suite && d.suite.toLowerCase() !== want.suite) ok = false;
          if ("target" in want && want.target !== "*" && (d.target || "").toLowerCase() !== want.target) ok = false;
          if (want.judge && (d.judge || "").toLowerCase() !== want.judge) ok = false;
          if (want.tag && (" " + (d.tags || "").toLowerCase() + " ").indexOf(" " + want.tag + " ") < 0) ok = false;
          if (want.q && row.textContent.toLowerCase().indexOf(want.q) < 0) ok = false;
          row.hidden = !ok;
          if (ok) shown += 1;
        });
        if (counter) counter.textContent = shown + " shown";
      }
      form.addEventListener("input", apply);
      form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
      apply();
    });
  }

  // A verdict's "judge call" link opens that call's details where it is listed.
  function wireCalls() {
    document.querySelectorAll("a[data-call]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        var target = document.getElementById(a.getAttribute("href").slice(1));
        if (!target) return;
        e.preventDefault();
        target.open = true;
        target.scrollIntoView({ block: "start" });
      });
    });
  }

  function start() {
    wireCalls();
    drawCharts();
    wireEvidence();
    wireClientFilters();
    window.addEventListener("hashchange", function () { window.scrollTo(0, 0); drawCharts(); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
