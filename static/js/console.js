// Console progressive enhancement. Every page works without this file; it only makes a few
// things nicer. No framework: htmx (vendored, static/js/vendor/) swaps list results in place.
(function () {
  "use strict";

  // Column chooser: join the ticked "col" boxes into one ?columns=a,b parameter, so the URL
  // stays short and bookmarkable. The server also understands the repeated "col" boxes.
  function enhanceColumnChooser(form) {
    form.addEventListener("submit", function (event) {
      if (event.submitter && event.submitter.name === "reset_columns") return;
      var boxes = form.querySelectorAll('input[type="checkbox"][name="col"]');
      var chosen = [];
      boxes.forEach(function (box) {
        if (box.checked) chosen.push(box.value);
        box.disabled = true; // not sent: "columns" carries the choice
      });
      form.querySelector('input[name="columns"]').value = chosen.join(",");
      // Re-enable after the browser has serialised the form (back/forward cache keeps state).
      setTimeout(function () { boxes.forEach(function (box) { box.disabled = false; }); }, 0);
    });
  }

  // Destructive buttons ask once more when they carry data-confirm="question".
  function enhanceConfirm(root) {
    root.querySelectorAll("[data-confirm]").forEach(function (el) {
      el.addEventListener("click", function (event) {
        if (!window.confirm(el.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  // Flash messages of success fade after a while; errors stay until the next page.
  function fadeMessages(root) {
    root.querySelectorAll(".message.success").forEach(function (el) {
      setTimeout(function () { el.classList.add("fading"); }, 6000);
    });
  }

  // A select with data-autosubmit submits its form when changed (no inline handlers: the
  // Content-Security-Policy allows scripts from this site only).
  function enhanceAutosubmit(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-column-chooser]").forEach(enhanceColumnChooser);
    enhanceAutosubmit(document);
    enhanceConfirm(document);
    fadeMessages(document);
  });
})();
