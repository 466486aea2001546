// copy.js: the Copy buttons beside values to paste elsewhere (a client secret and ID, issuer and
// metadata URLs, backup codes). A button names the element that holds the value in data-copy;
// it stays hidden without JavaScript or a clipboard, and the value is selectable text either
// way. "Copied" appears in the live region right after the button, so screen readers announce
// it too. No inline script anywhere: the CSP forbids it.
(function () {
  "use strict";

  var clearing = new WeakMap();

  function reveal(root) {
    if (!navigator.clipboard) return;
    var found = Array.prototype.slice.call(root.querySelectorAll("[data-copy]"));
    if (root.matches && root.matches("[data-copy]")) found.push(root);
    found.forEach(function (el) { el.hidden = false; });
  }

  // say puts text in the button's live region, emptied first so the same words twice in a row
  // are announced again, and empties it a few seconds later.
  function say(button, text) {
    var status = button.nextElementSibling;
    if (!status || !status.hasAttribute("data-copy-status")) return;
    clearTimeout(clearing.get(status));
    status.textContent = "";
    setTimeout(function () { status.textContent = text; }, 30);
    clearing.set(status, setTimeout(function () { status.textContent = ""; }, 4000));
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-copy]");
    if (!button || !navigator.clipboard) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      say(button, "Copied");
    }, function () {
      say(button, "Could not copy: select the text and copy it yourself");
    });
  });
  document.addEventListener("htmx:load", function (ev) { reveal(ev.target); });
  reveal(document);
})();
