// localtime.js: shows each <time data-local> (the event log's times) in the viewer's time zone.
// The server writes them in UTC, which is what a page without JavaScript shows; this script
// rewrites the text as "2026-03-01 14:05:09 GMT+1" in the browser's zone, keeps the UTC text as
// the title, and does the same for rows htmx adds ("Load more", the user's Events tab).
// No inline script: the CSP forbids it.
(function () {
  "use strict";

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function zone(d) {
    try {
      var parts = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(d);
      for (var i = 0; i < parts.length; i++) {
        if (parts[i].type === "timeZoneName") return " " + parts[i].value;
      }
    } catch (e) {
      // no Intl: the offset below still says which zone it is
    }
    var off = -d.getTimezoneOffset(), sign = off < 0 ? "-" : "+";
    off = Math.abs(off);
    return " UTC" + sign + pad(Math.floor(off / 60)) + ":" + pad(off % 60);
  }

  function localise(el) {
    var d = new Date(el.getAttribute("datetime"));
    if (isNaN(d.getTime())) return;
    el.title = el.textContent.trim();
    el.textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + zone(d);
    el.removeAttribute("data-local");
  }

  function localiseAll(root) {
    if (root.matches && root.matches("time[data-local]")) localise(root);
    if (root.querySelectorAll) root.querySelectorAll("time[data-local]").forEach(localise);
  }

  localiseAll(document);
  document.addEventListener("htmx:load", function (e) {
    localiseAll(e.detail.elt);
  });
})();
