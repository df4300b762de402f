// The field job page: once the live progress says the job has finished, show the page again,
// now with the verification's result as the server reads it from the journal.
(function () {
  "use strict";
  document.addEventListener("netkeep:progress-done", function () {
    if (document.querySelector("[data-field-job]")) { window.location.reload(); }
  });
})();
