// saml-post.js: sends a SAML message on to the application. The page is a form that posts to the
// application (its assertion consumer service, or its single logout service) with a visible
// Continue button; this script presses it as soon as the page is ready, and a delegated listener
// keeps a second press (or a second submit) from posting the same message twice. A logout
// message sent by HTTP-Redirect is a link instead (a[data-saml-redirect]), which it follows. No
// inline script: the CSP forbids it.
(function () {
  "use strict";

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-saml-post]")) return;
    if (form.hasAttribute("data-sent")) {
      e.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "");
    var button = form.querySelector('button[type="submit"]');
    if (button) button.setAttribute("aria-busy", "true");
  });

  function send() {
    var link = document.querySelector("a[data-saml-redirect]");
    if (link) {
      location.replace(link.href);
      return;
    }
    var form = document.querySelector("form[data-saml-post]");
    if (!form || form.hasAttribute("data-sent")) return;
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", send);
  else send();
})();
