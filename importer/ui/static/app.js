// The page's only script: drag and drop, the mapping's live re-check, and the import's progress.
// Everything also works without it (plain forms), only less immediately.
(function () {
  "use strict";

  function dropzones() {
    document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
      var input = zone.querySelector("input[type=file]");
      var form = zone.closest("form");
      ["dragenter", "dragover"].forEach(function (name) {
        zone.addEventListener(name, function (ev) { ev.preventDefault(); zone.classList.add("over"); });
      });
      ["dragleave", "drop"].forEach(function (name) {
        zone.addEventListener(name, function (ev) { ev.preventDefault(); zone.classList.remove("over"); });
      });
      zone.addEventListener("drop", function (ev) {
        if (ev.dataTransfer && ev.dataTransfer.files.length) {
          input.files = ev.dataTransfer.files;
          form.requestSubmit();
        }
      });
      input.addEventListener("change", function () { if (input.files.length) form.requestSubmit(); });
    });
  }

  function mapping() {
    var form = document.getElementById("mapping-form");
    if (!form) return;
    var live = document.getElementById("live");
    var yaml = document.getElementById("yaml");
    var timer = null, busy = false, again = false;

    function showKind(row) {
      var select = row.querySelector("[data-target]");
      var kind = select && select.value ? select.value.split(":")[0] : "";
      row.querySelectorAll(".for-field").forEach(function (el) { el.hidden = kind !== "field"; });
      row.querySelectorAll(".for-interest").forEach(function (el) { el.hidden = kind !== "interest"; });
    }

    function send() {
      if (busy) { again = true; return; }
      busy = true;
      live.dataset.state = "checking";
      fetch("/mapping/live", { method: "POST", body: new FormData(form), credentials: "same-origin",
                               headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) {
          live.innerHTML = data.status;
          Object.keys(data.lines).forEach(function (i) {
            var cell = document.getElementById("status-" + i);
            if (cell) cell.innerHTML = data.lines[i];
          });
          if (yaml) yaml.textContent = data.yaml;
        })
        .catch(function () { /* the Check again button still works */ })
        .then(function () {
          busy = false;
          live.dataset.state = "done";
          if (again) { again = false; send(); }
        });
    }

    function schedule(ms) {
      clearTimeout(timer);
      live.dataset.state = "checking";
      timer = setTimeout(send, ms);
    }

    form.querySelectorAll("tr[data-line]").forEach(showKind);
    form.addEventListener("change", function (ev) {
      var row = ev.target.closest("tr[data-line]");
      if (row) showKind(row);
      schedule(0);
    });
    form.addEventListener("input", function (ev) {
      if (ev.target.matches("input[type=text]")) schedule(400);
    });
    form.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && ev.target.matches("input[type=text]")) { ev.preventDefault(); schedule(0); }
    });
  }

  function progress() {
    var panel = document.getElementById("progress-panel");
    if (!panel || !window.EventSource) return;
    var bar = document.getElementById("progress");
    var source = new EventSource(panel.dataset.events);
    function text(id, value) { var el = document.getElementById(id); if (el) el.textContent = value; }
    function duration(s) {
      if (s === null || s === undefined) return "–";
      s = Math.round(s);
      if (s < 60) return s + " s";
      var m = Math.floor(s / 60);
      return m < 60 ? m + " min " + String(s % 60).padStart(2, "0") + " s"
                    : Math.floor(m / 60) + " h " + String(m % 60).padStart(2, "0") + " min";
    }
    source.addEventListener("progress", function (ev) {
      var d = JSON.parse(ev.data);
      bar.max = Math.max(d.total, d.done, 1);
      bar.value = d.done;
      text("done", d.done.toLocaleString());
      text("total", d.total.toLocaleString());
      ["created", "updated", "skipped", "invalid", "failed", "unknown"].forEach(function (s) {
        text("count-" + s, (d.counts[s] || 0).toLocaleString());
      });
      text("rate", d.rate);
      text("eta", duration(d.eta));
    });
    source.addEventListener("end", function () {
      source.close();
      window.location.href = "/results";
    });
    var stop = document.getElementById("stop-form");
    if (stop) {
      stop.addEventListener("submit", function (ev) {
        ev.preventDefault();
        text("state", "Stopping: the requests on their way finish, then the import stops; it can be continued.");
        fetch(stop.action, { method: "POST", body: new FormData(stop), credentials: "same-origin",
                             headers: { "X-Requested-With": "fetch" } });
      });
    }
  }

  dropzones();
  mapping();
  progress();
}());
