// Live progress (web/templates/partials/job_progress.html): follows the section's SSE stream;
// a `step` event adds or replaces a step row, `done` shows the outcome and closes the stream.
(function () {
  "use strict";
  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }
  function follow(section) {
    if (section.dataset.following || !window.EventSource) { return; }
    var url = section.getAttribute("data-events");
    var outcome = section.querySelector("[data-progress-outcome]");
    if (!url || (outcome && outcome.querySelector("[data-status]"))) { return; }
    section.dataset.following = "1";
    var list = section.querySelector("[data-progress-steps]");
    var source = new EventSource(url);
    source.addEventListener("step", function (event) {
      var row = fragment(event.data);
      if (!row) { return; }
      var old = row.id ? document.getElementById(row.id) : null;
      if (old) { old.replaceWith(row); } else { list.appendChild(row); }
    });
    source.addEventListener("done", function (event) {
      source.close();
      outcome.innerHTML = "";
      var result = fragment(event.data);
      if (result) { outcome.appendChild(result); }
      var refresh = section.querySelector("[data-progress-refresh]");
      if (refresh) { refresh.hidden = true; }
      section.dispatchEvent(new CustomEvent("netkeep:progress-done", { bubbles: true }));
    });
  }
  function scan(root) {
    var found = root.querySelectorAll ? root.querySelectorAll("[data-progress]") : [];
    for (var i = 0; i < found.length; i++) { follow(found[i]); }
    if (root.matches && root.matches("[data-progress]")) { follow(root); }
  }
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (event) { scan(event.detail.elt); });
})();
