// The pay-at-the-charger page (/portal/start/{key}/pay): Stripe.js takes the card in its own element, so the card
// number never reaches this page's code or the CSMS. The hold was made by the server (the PaymentIntent's client
// secret is on the form); stripe.confirmCardPayment holds the money with Stripe; then the start form is sent, and the
// server reads the intent back from Stripe before it starts anything. The start form works without this script too
// (a visitor whose card was approved presses its button).
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  var start = document.getElementById("start-form");
  if (!form || !start || !window.Stripe) {
    return;
  }
  var status = document.getElementById("card-status");
  var button = form.querySelector("button[type=submit]");
  var stripe = window.Stripe(form.dataset.key);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  button.disabled = false;

  function say(text) {
    status.textContent = text;
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    button.disabled = true;
    say(form.dataset.working);
    stripe.confirmCardPayment(form.dataset.secret, {
      payment_method: { card: card, billing_details: { email: form.dataset.email } }
    }).then(function (result) {
      if (result.error) {
        say(form.dataset.failed + " " + (result.error.message || ""));
        button.disabled = false;
        return;
      }
      say(form.dataset.held);
      start.submit();
    }).catch(function (e) {
      say(form.dataset.failed + " " + (e && e.message ? e.message : ""));
      button.disabled = false;
    });
  });
})();
