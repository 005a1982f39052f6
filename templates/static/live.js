// Live run progress over server-sent events: the phase table updates in place; when the run
// completes, the page's main content is fetched again and swapped in (no reload).
(function () {
  "use strict";
  var main = document.getElementById("main");
  var source = main && main.getAttribute("data-events");
  if (!source || !window.EventSource) { return; }
  var stream = new EventSource(source);
  var live = document.getElementById("live-status");
  function text(id, value) {
    var node = document.getElementById(id);
    if (node && value !== undefined && value !== null) { node.textContent = String(value); }
  }
  function setStatus(node, status) {
    if (!node) { return; }
    node.textContent = status;
    node.className = "status status-" + status;
  }
  stream.addEventListener("run", function (event) {
    var run = JSON.parse(event.data);
    setStatus(document.getElementById("run-state"), run.state);
    text("run-current", run.current_phase || "—");
    text("run-conclusion", run.conclusion || "—");
    (run.phases || []).forEach(function (phase) {
      var row = document.getElementById("phase-" + phase.phase_id);
      if (!row) { return; }
      setStatus(row.querySelector(".phase-status"), phase.status);
      var counts = row.querySelector(".phase-counts");
      if (counts) { counts.textContent = phase.passed + "/" + phase.total; }
    });
    if (live) { live.textContent = "Live: " + run.state + (run.current_phase ? " (" + run.current_phase + ")" : ""); }
    if (run.state === "completed") {
      stream.close();
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (answer) { return answer.text(); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
          if (fresh) { main.replaceWith(fresh); }
        });
    }
  });
  stream.onerror = function () { if (live) { live.textContent = "Live updates paused; retrying…"; } };
})();
