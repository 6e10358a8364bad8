/*
 * Evaluator console keyboard shortcuts (listed on the page, templates/exercises/live/evaluate.html):
 * 1-9 select a team card, P/S/M/U record that rating for the selected card on its chosen
 * criterion, N moves to the card's note, Escape leaves the note for the card again.
 * Keys typed into a field are the field's; the selected card survives the panel's redraw.
 */
(function () {
  "use strict";

  var selected = null; // the selected card's team code

  function cards() {
    return document.querySelectorAll("#evaluation-panel .team-card");
  }

  function selectedCard() {
    return selected && document.querySelector('.team-card[data-team="' + selected + '"]');
  }

  function mark(card, focus) {
    var all = cards();
    for (var i = 0; i < all.length; i++) all[i].classList.toggle("selected", all[i] === card);
    selected = card ? card.dataset.team : null;
    if (card && focus) card.focus();
  }

  function typing(element) {
    return element && (element.matches("input, textarea, select") || element.isContentEditable);
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var inCard = event.target.closest && event.target.closest(".team-card");
    if (typing(event.target)) {
      if (event.key === "Escape" && inCard) {
        event.preventDefault();
        inCard.focus();
      }
      return;
    }
    if (document.querySelector("dialog[open]")) return;
    if (/^[1-9]$/.test(event.key)) {
      var card = cards()[parseInt(event.key, 10) - 1];
      if (card) {
        event.preventDefault();
        mark(card, true);
      }
      return;
    }
    var current = selectedCard();
    if (!current) return;
    var key = event.key.toUpperCase();
    if (key.length === 1 && "PSMU".indexOf(key) >= 0) {
      event.preventDefault();
      // A key pressed just after the panel's redraw can reach a card htmx has not bound
      // yet, whose button would then submit the form natively (a full page load). Binding
      // it here first is harmless for a bound card: htmx.process skips those.
      if (window.htmx) window.htmx.process(current);
      current.querySelector('button[name="rating"][value="' + key + '"]').click();
    } else if (key === "N") {
      event.preventDefault();
      current.querySelector("textarea").focus();
    }
  }

  document.addEventListener("keydown", onKey);
  // Working in a card with the mouse or Tab selects it too.
  document.addEventListener("focusin", function (event) {
    var card = event.target.closest && event.target.closest(".team-card");
    if (card) mark(card, false);
  });
  // The panel is redrawn after each rating: keep the same card selected and focused.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "evaluation-panel" || !selected) return;
    var card = selectedCard();
    if (card) mark(card, true);
  });
})();
