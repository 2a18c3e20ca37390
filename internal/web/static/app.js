// Copy buttons: <button data-copy="element-id">. The page works without
// this file; it only saves selecting the text by hand.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.getAttribute("data-copy"));
      if (!el) return;
      var text = el.value !== undefined ? el.value : el.textContent;
      var label = btn.textContent;
      var done = function (msg) {
        btn.textContent = msg;
        setTimeout(function () { btn.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { done("Copied"); }, function () { el.select && el.select(); done("Press Ctrl+C"); });
      } else {
        el.select && el.select();
        done("Press Ctrl+C");
      }
    });
  });
  // Auto-select the secret on focus so that keyboard users can copy it.
  document.querySelectorAll("input[data-select-on-focus]").forEach(function (el) {
    el.addEventListener("focus", function () { el.select(); });
  });
});
