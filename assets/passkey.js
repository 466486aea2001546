// passkey.js: the script for WebAuthn (passkeys have no form equivalent). Copy buttons are
// copy.js's. No inline script anywhere: the CSP forbids it.
(function () {
  "use strict";

  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), buf = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) buf[i] = bin.charCodeAt(i);
    return buf.buffer;
  }

  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? "{}" : JSON.stringify(body),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw new Error(data.error || "Something went wrong. Please try again.");
        return data;
      });
    });
  }

  function credentialJSON(cred) {
    var r = cred.response, out = {
      id: cred.id,
      rawId: bufToB64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      response: { clientDataJSON: bufToB64url(r.clientDataJSON) },
    };
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = bufToB64url(r.authenticatorData);
      out.response.signature = bufToB64url(r.signature);
      if (r.userHandle) out.response.userHandle = bufToB64url(r.userHandle);
    }
    return out;
  }

  function showError(root, err) {
    var el = root.querySelector("[data-passkey-error]");
    if (!el) return;
    var msg = err && err.name === "NotAllowedError"
      ? "The passkey request was cancelled or timed out."
      : (err && err.message) || "Something went wrong. Please try again.";
    el.setAttribute("role", "alert");
    el.textContent = msg;
    el.hidden = false;
  }

  function supported() {
    return window.PublicKeyCredential && navigator.credentials;
  }

  // The request options of a sign-in, as the begin endpoint sends them, made binary.
  function requestOptions(opts) {
    var pk = opts.publicKey;
    pk.challenge = b64urlToBuf(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return pk;
  }

  function finishSignIn(csrf, cred) {
    return post("/login/passkey/finish", csrf, credentialJSON(cred)).then(function (res) {
      window.location.assign(res.redirect || "/dashboard");
    });
  }

  // Passkey autofill on /login: a conditional-mediation request, which the browser answers when
  // the user picks a passkey among the email field's suggestions. It starts when the user opens
  // those suggestions (presses or taps into the field, or presses the down arrow in it), not
  // when the page loads: the server counts passkey begins per address (60 in 15 minutes), and
  // every view of /login from an office behind one address would spend one. One request at a
  // time, and none while the button's is under way (the server keeps one challenge per
  // browser: a new begin replaces the previous one); only the user starts another.
  var autofillRequest = null; // { abort: AbortController, begun: the begin's promise }
  var buttonBusy = false;

  function startAutofill() {
    var root = document.querySelector('[data-passkey="signin"]');
    if (autofillRequest || buttonBusy || !root || !supported() || !window.PublicKeyCredential.isConditionalMediationAvailable) return;
    var csrf = root.getAttribute("data-csrf"), abort = new AbortController();
    var done = function () { if (autofillRequest && autofillRequest.abort === abort) autofillRequest = null; };
    var begun = window.PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available || abort.signal.aborted) return null;
      return post(root.getAttribute("data-begin") || "/login/passkey/begin", csrf);
    });
    autofillRequest = { abort: abort, begun: begun };
    begun.then(function (opts) {
      if (!opts || abort.signal.aborted) return null;
      return navigator.credentials.get({ mediation: "conditional", publicKey: requestOptions(opts), signal: abort.signal });
    }).then(function (cred) {
      if (cred && !abort.signal.aborted) return finishSignIn(csrf, cred);
    }).catch(function (err) {
      // Aborted: the button took over. Otherwise a passkey was picked and refused, or the
      // begin failed (too many requests): say so; the button is still there.
      if (!abort.signal.aborted && !(err && err.name === "AbortError")) showError(root, err);
    }).then(done, done);
  }

  function autofillField(target) {
    return target && target.matches && target.matches('input[autocomplete~="webauthn"]') ? target : null;
  }

  document.addEventListener("pointerdown", function (ev) {
    var input = autofillField(ev.target);
    if (input) startAutofill();
  });
  document.addEventListener("keydown", function (ev) {
    var input = autofillField(ev.target);
    if (input && ev.key === "ArrowDown") startAutofill();
  });

  // Sign in with a passkey: on /login it finds the account by itself (a discoverable
  // credential); on /login/verify it is the second factor of the sign-in in progress. A pending
  // autofill request is aborted first, and its begin waited for, so the button's challenge is
  // the one the server keeps.
  function signIn(root, button) {
    var csrf = root.getAttribute("data-csrf");
    button.setAttribute("aria-busy", "true");
    buttonBusy = true;
    var pending = Promise.resolve();
    if (autofillRequest) {
      autofillRequest.abort.abort();
      pending = autofillRequest.begun.catch(function () {});
    }
    pending.then(function () {
      return post(root.getAttribute("data-begin") || "/login/passkey/begin", csrf);
    }).then(function (opts) {
      return navigator.credentials.get({ publicKey: requestOptions(opts) });
    }).then(function (cred) {
      return finishSignIn(csrf, cred);
    }).catch(function (err) {
      buttonBusy = false;
      button.removeAttribute("aria-busy");
      showError(root, err);
    });
  }

  // Register a passkey: the form names it; its data-begin and data-finish say where to ask.
  function register(form) {
    var csrf = form.querySelector('input[name="_csrf"]').value;
    var nameInput = form.querySelector('input[name="name"]');
    var name = nameInput ? nameInput.value : "";
    var button = form.querySelector('button[type="submit"]');
    button.setAttribute("aria-busy", "true");
    post(form.getAttribute("data-begin"), csrf).then(function (opts) {
      var pk = opts.publicKey;
      pk.challenge = b64urlToBuf(pk.challenge);
      pk.user.id = b64urlToBuf(pk.user.id);
      (pk.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
      return navigator.credentials.create({ publicKey: pk });
    }).then(function (cred) {
      var body = credentialJSON(cred);
      return post(form.getAttribute("data-finish") + "?name=" + encodeURIComponent(name), csrf, body);
    }).then(function (res) {
      window.location.assign(res.redirect || window.location.pathname);
    }).catch(function (err) {
      button.removeAttribute("aria-busy");
      showError(form, err);
    });
  }

  // Show the passkey parts when the browser has WebAuthn. Run on load and on every part htmx
  // swaps in (the enrollment paths).
  function within(root, selector) {
    var found = Array.prototype.slice.call(root.querySelectorAll(selector));
    if (root.matches && root.matches(selector)) found.push(root);
    return found;
  }

  function reveal(root) {
    if (supported()) {
      within(root, '[data-passkey="signin"], form[data-passkey="register"]').forEach(function (el) {
        el.hidden = false;
      });
    }
  }

  // One listener each on the document, so parts swapped in later work without binding again.
  document.addEventListener("click", function (ev) {
    var start = ev.target.closest("[data-passkey-start]");
    if (start && supported()) {
      signIn(start.closest('[data-passkey="signin"]'), start);
    }
  });
  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest('form[data-passkey="register"]');
    if (form && supported()) {
      ev.preventDefault();
      register(form);
    }
  });
  document.addEventListener("htmx:load", function (ev) { reveal(ev.target); });
  reveal(document);
})();
