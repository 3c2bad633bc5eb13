// app.js - optional comfort on top of the plain upload form: drag and drop,
// a preview of the chosen image, and a busy state while the server works.
// The form works the same without it.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("upload");
  var input = document.getElementById("xray");
  var drop = document.getElementById("drop");
  var preview = document.getElementById("preview");
  var status = document.getElementById("status");
  var submit = document.getElementById("submit");
  if (!form || !input || !drop) return;
  document.documentElement.classList.add("js");

  function showPreview() {
    var file = input.files && input.files[0];
    if (preview.src) URL.revokeObjectURL(preview.src);
    if (!file || !/^image\/(png|jpeg)$/.test(file.type)) {
      preview.hidden = true;
      preview.removeAttribute("src");
      // Browsers cannot show DICOM; archives often name it without an
      // extension (no type): the server decides by content.
      if (file && (file.type === "application/dicom" || file.type === "" ||
                   /\.(dcm|dicom)$/i.test(file.name)))
        status.textContent = file.name + " (DICOM: the X-ray is shown with the result)";
      else
        status.textContent = file ? "This does not look like a PNG, JPEG or DICOM file." : "";
      return;
    }
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    status.textContent = file.name;
  }

  input.addEventListener("change", showPreview);

  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (e) {
      e.preventDefault();
      drop.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function (e) {
      e.preventDefault();
      drop.classList.remove("over");
    });
  });
  drop.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      showPreview();
    }
  });

  form.addEventListener("submit", function () {
    submit.disabled = true;
    status.textContent = "Analysing the X-ray\u2026";
  });
  // Coming back with the Back button: enable the form again.
  window.addEventListener("pageshow", function () {
    submit.disabled = false;
  });
});
