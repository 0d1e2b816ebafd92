// The saved-card page (/portal/me/card): Stripe.js takes the card in its own element, so the card number never
// reaches this page's code or the CSMS. POST /api/v1/me/card gives a SetupIntent, stripe.confirmCardSetup saves the
// card with Stripe, PUT /api/v1/me/card has the CSMS read it back from Stripe and keep it; then the page reloads.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form) {
    return;
  }
  var status = document.getElementById("card-status");
  var button = form.querySelector("button[type=submit]");
  var setup = null;
  var stripe = null;
  var card = null;

  function say(text) {
    status.textContent = text;
  }

  function api(method, path, body) {
    return fetch("/api/v1" + path, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) {
        if (!r.ok) {
          throw new Error((json.error && json.error.message) || "HTTP " + r.status);
        }
        return json;
      });
    });
  }

  function failed(message) {
    say(form.dataset.failed + " " + (message || ""));
    button.disabled = false;
  }

  api("POST", "/me/card").then(function (s) {
    setup = s;
    stripe = window.Stripe(s.publishableKey);
    card = stripe.elements().create("card");
    card.mount("#card-element");
    button.disabled = false;
  }).catch(function (e) { failed(e.message); button.disabled = true; });

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    button.disabled = true;
    say(form.dataset.saving);
    stripe.confirmCardSetup(setup.clientSecret, { payment_method: { card: card } }).then(function (result) {
      if (result.error) {
        return failed(result.error.message);
      }
      return api("PUT", "/me/card", { setupIntentId: setup.setupIntentId }).then(function () {
        window.location.reload();
      });
    }).catch(function (e) { failed(e.message); });
  });
})();
