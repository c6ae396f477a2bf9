// The desk's whole-log verification page: while a job runs, ask for its progress every two seconds and
// move the bar; once it has ended (done, error, interrupted), reload to show its report.
(function () {
  "use strict";
  var job = document.getElementById("job");
  if (!job || job.dataset.state !== "running") { return; }
  var bar = document.getElementById("job-progress");
  function poll() {
    fetch(job.dataset.status, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.state !== "running") { window.location.reload(); return; }
        if (bar) { bar.value = s.percent; bar.textContent = s.percent + "%"; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
}());
