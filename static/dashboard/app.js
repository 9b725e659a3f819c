// The dashboard's only script besides htmx. No inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";

  // htmx swaps only 2xx answers by default; the dashboard answers a form with errors as 422
  // and a refusal as 403, each with a fragment meant to be shown.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 403 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The inbox badge refreshes every 15 s while the page is visible, and at once when the
  // page comes back into view (no polling from a hidden tab).
  function refreshBadge() {
    if (document.visibilityState === "visible" && window.htmx) {
      window.htmx.trigger(document.body, "inbox-refresh");
    }
  }
  setInterval(refreshBadge, 15000);
  document.addEventListener("visibilitychange", refreshBadge);

  // <button data-copy="#id">: copy the text of the element #id (a secret shown once).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });

  // <button data-fill="#id" value="...">: put an example in the box #id to start from (without
  // the script, the button submits the example as it is).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-fill]");
    if (!button) return;
    var box = document.querySelector(button.getAttribute("data-fill"));
    if (!box) return;
    event.preventDefault();
    box.value = button.value;
    box.focus();
  });

  // <form data-confirm="Delete 3 automations?">: ask before a destructive submit.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);
})();
