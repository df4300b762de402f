// Scanner inputs (macro scan_input in web/templates/macros.html). A USB or handheld scanner types
// the code and Enter, which submits the form. Where the browser has BarcodeDetector, a camera
// button reads a code with the camera (getUserMedia), fills the input and submits.
(function () {
  "use strict";
  function submit(input) {
    var form = input.form;
    if (!form) { return; }
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }
  function stop(video) {
    var stream = video.srcObject;
    if (stream && stream.getTracks) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    video.srcObject = null;
    video.hidden = true;
  }
  function camera(box, input, button, video) {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices ||
        !navigator.mediaDevices.getUserMedia) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var detector = new window.BarcodeDetector();
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (stream) {
          video.srcObject = stream;
          video.hidden = false;
          return video.play();
        })
        .then(function () {
          var tries = 0;
          function look() {
            if (!video.srcObject) { return; }
            detector.detect(video).then(function (codes) {
              if (codes && codes.length && codes[0].rawValue) {
                input.value = codes[0].rawValue;
                stop(video);
                submit(input);
              } else if (++tries < 600) {
                window.setTimeout(look, 150);
              } else {
                stop(video);
              }
            }, function () { stop(video); });
          }
          look();
        })
        .catch(function () { stop(video); input.focus(); });
    });
  }
  function setup(box) {
    if (box.dataset.scanReady) { return; }
    box.dataset.scanReady = "1";
    var input = box.querySelector("[data-scan-input]");
    var button = box.querySelector("[data-scan-camera]");
    var video = box.querySelector("[data-scan-video]");
    if (!input) { return; }
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.isComposing) {
        event.preventDefault();
        if (input.value.trim()) { submit(input); }
      }
    });
    if (button && video) { camera(box, input, button, video); }
  }
  function scan(root) {
    var found = root.querySelectorAll ? root.querySelectorAll("[data-scan]") : [];
    for (var i = 0; i < found.length; i++) { setup(found[i]); }
  }
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (event) { scan(event.detail.elt); });
})();
