// AMP dashboard: the only script. It copies the new key to the clipboard
// and selects it on focus, refreshes live figures and keeps the current
// page's link in view in the phone-width navigation; every page works
// without it.
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

// Live refresh: an element with data-live="N" is fetched again every N
// seconds while the page is visible, and replaced by the same element of
// the fresh page. Focus and scroll stay where they are; a failed fetch
// leaves the element as it was.
(function () {
  var el = document.querySelector("[data-live]");
  if (!el || !window.fetch || !window.DOMParser) return;
  var every = parseInt(el.getAttribute("data-live"), 10) * 1000;
  if (!(every > 0)) return;
  window.setInterval(function () {
    if (document.hidden) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (res) { return res.ok ? res.text() : Promise.reject(res.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(el.id);
        var cur = document.getElementById(el.id);
        if (fresh && cur) cur.replaceWith(fresh);
      })
      .catch(function () {});
  }, every);
})();

// At phone width the navigation is one row that scrolls sideways: show
// the current page's link, without scrolling the page itself, on load
// and whenever the width changes (a phone turned, a window narrowed).
(function () {
  var cur = document.querySelector(".sidebar a[aria-current=page]");
  var row = cur && cur.closest("ul");
  if (!row) return;
  var show = function () {
    if (row.scrollWidth <= row.clientWidth) return;
    var at = cur.getBoundingClientRect().left - row.getBoundingClientRect().left;
    row.scrollLeft += at - (row.clientWidth - cur.offsetWidth) / 2;
  };
  show();
  window.addEventListener("resize", show);
  // A browser scrolls a focused link into view only when none of it is
  // showing: bring a half-hidden one fully in, for keyboard users.
  row.addEventListener("focusin", function (ev) {
    if (ev.target.scrollIntoView) ev.target.scrollIntoView({ block: "nearest", inline: "nearest" });
  });
})();
