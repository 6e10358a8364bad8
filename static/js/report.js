/*
 * Cascade after-action report: its sections fold (<details class="report-section">,
 * templates/scoring/_report_body.html). Going to a place in the report — a link of the
 * contents, an evidence link, a shared URL with a #fragment — unfolds the section it is
 * in (and any fold around the target) and brings it into view. Folding itself needs no
 * script: <summary> is a native, keyboard-usable toggle; print CSS unfolds everything.
 */
(function () {
  "use strict";

  function unfold(id) {
    var target = id && document.getElementById(id);
    if (!target) return;
    var own = target.querySelector(":scope > details.report-section");
    if (own) own.open = true;
    for (var el = target; el; el = el.parentElement) {
      if (el.tagName === "DETAILS") el.open = true;
    }
    target.scrollIntoView();
  }

  function fromHash() {
    unfold(decodeURIComponent(location.hash.slice(1)));
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest('a[href^="#"]');
    if (link) unfold(decodeURIComponent(link.getAttribute("href").slice(1)));
  });
  window.addEventListener("hashchange", fromHash);
  document.addEventListener("DOMContentLoaded", fromHash);
})();
