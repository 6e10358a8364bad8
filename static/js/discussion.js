/*
 * Cascade team thread: mentions and scrolling (exercises/engine/discussion.py).
 *
 * A thread's messages arrive over the exercise socket, one frame per team, so the frame
 * cannot know who reads it: each message lists the usernames it mentions
 * (data-mentions) and this page, which knows its player (data-username on #discussion),
 * highlights the ones naming them and announces them in #mention-alert (aria-live).
 * The thread also stays scrolled to its newest message.
 */
(function () {
  "use strict";

  function mentionsMe(item, me) {
    var names = (item.dataset.mentions || "").split(" ");
    return names.indexOf(me) >= 0;
  }

  function announce(item) {
    var alert = document.getElementById("mention-alert");
    if (!alert) return;
    var author = item.querySelector("strong");
    alert.textContent = (author ? author.textContent : "Someone") + " mentioned you in the team thread.";
    alert.hidden = false;
  }

  function onSwap(event) {
    var list = event.detail && event.detail.target;
    if (!list || !list.classList || !list.classList.contains("thread-list")) return;
    list.scrollTop = list.scrollHeight;
    var section = document.getElementById("discussion");
    var me = section && section.dataset.username;
    if (!me) return;
    var items = list.querySelectorAll("li.message:not([data-checked])");
    for (var i = 0; i < items.length; i++) {
      items[i].dataset.checked = "1";
      if (mentionsMe(items[i], me) && !items[i].classList.contains("mentions-me")) {
        items[i].classList.add("mentions-me");
        announce(items[i]);
      }
    }
  }

  function init() {
    var lists = document.querySelectorAll(".thread-list");
    for (var i = 0; i < lists.length; i++) {
      lists[i].scrollTop = lists[i].scrollHeight;
      var seen = lists[i].querySelectorAll("li.message");
      for (var j = 0; j < seen.length; j++) seen[j].dataset.checked = "1";
    }
    document.body.addEventListener("htmx:oobAfterSwap", onSwap);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
