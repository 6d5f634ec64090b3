// AMP dashboard: the only script. It copies the new key to the clipboard
// and selects it on focus; every page works without it.
"use strict";

function announce(el, text) {
  if (!el) return;
  el.textContent = "";
  // A fresh text node is announced again by screen readers even when the
  // message repeats.
  window.setTimeout(function () { el.textContent = text; }, 30);
}

function fallbackCopy(input) {
  input.focus();
  input.select();
  try {
    return document.execCommand("copy");
  } catch (e) {
    return false;
  }
}

document.addEventListener("click", function (ev) {
  var btn = ev.target.closest("[data-copy]");
  if (!btn) return;
  var input = document.getElementById(btn.getAttribute("data-copy"));
  var status = document.getElementById(btn.getAttribute("data-copy-status"));
  if (!input) return;
  var done = function () {
    btn.textContent = "Copied";
    announce(status, "Copied to the clipboard.");
    window.setTimeout(function () { btn.textContent = "Copy"; }, 2500);
  };
  var failed = function () {
    input.focus();
    input.select();
    announce(status, "Copying failed: the key is selected, press Ctrl+C or Cmd+C.");
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, function () {
      if (fallbackCopy(input)) done(); else failed();
    });
  } else if (fallbackCopy(input)) {
    done();
  } else {
    failed();
  }
});

document.addEventListener("focusin", function (ev) {
  if (ev.target.matches && ev.target.matches("[data-select-on-focus]")) ev.target.select();
});
