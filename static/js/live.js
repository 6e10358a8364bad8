/*
 * Cascade live pages: glue between the htmx WebSocket extension and the server's
 * replay protocol (docs/live-engine.md "The socket", exercises/consumers.py).
 *
 * - On every (re)connect, send {"type": "hello", "last_seq": N} so the server
 *   replays only the events this page has not shown yet.
 * - Every event frame starts with <!--seq:N-->: a frame whose seq is not newer
 *   than the last one shown is dropped, so an event is never shown twice.
 * - The last seq lives in sessionStorage per exercise; the page render sets it
 *   to the exercise's last seq at render time (the page already shows those).
 * - A visible connection indicator (aria-live) and a ping every 20 s.
 * - One clock truth: the status bar carries the exercise clock and whether it runs;
 *   every countdown is a deadline on that clock, re-based whenever a status frame lands.
 * - The offline badge clears when the network returns and the socket is still open.
 * - Empty client_token inputs (forms pushed over the socket) get a fresh token.
 * - Attention: while the tab is hidden, new events count in its title ("(3) Room · …");
 *   events that arrive live are marked unread in the feed until they have been on
 *   screen; an optional chime (off by default, remembered in localStorage) and browser
 *   notifications (asked for only on a click) for new injects and prompts; on a phone a
 *   newly opened prompt scrolls into view.
 */
(function () {
  "use strict";

  var PING_MS = 20000;
  var SEQ_RE = /^\s*<!--seq:(\d+)-->/;
  // Close codes after which the server does not want us back.
  var FINAL_CODES = [4401, 4403, 4404];

  var root = null;
  var lastSeq = 0;
  var pingTimer = null;
  var retry = 0;
  var leaving = false;
  var unread = 0;
  var baseTitle = document.title;
  var SEEN_MS = 1500; // how long a new feed item must be on screen to count as read
  var PHONE = "(max-width: 48rem)";
  var SOUND_KEY = "cascade:sound";
  var NOTIFY_KEY = "cascade:notify";
  var seenPrompts = {};
  var chime = null;

  function storageKey() {
    return "cascade:last-seq:" + root.dataset.exercise;
  }

  function remember(seq) {
    lastSeq = seq;
    root.dataset.lastSeq = String(seq);
    try {
      window.sessionStorage.setItem(storageKey(), String(seq));
    } catch (e) {
      /* private mode: the in-memory value still works for this page */
    }
  }

  function setState(state, text) {
    var indicator = document.getElementById("connection");
    if (!indicator) return;
    indicator.dataset.state = state;
    var label = indicator.querySelector(".connection-label");
    if (label) label.textContent = text;
  }

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }

  function fillTokens(scope) {
    var inputs = (scope || document).querySelectorAll('input[name$="client_token"]');
    for (var i = 0; i < inputs.length; i++) {
      if (!inputs[i].value) inputs[i].value = uuid();
    }
  }

  // ------------------------------------------------------------ clocks

  function formatSeconds(total) {
    total = Math.max(0, Math.floor(total));
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m));
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  // One clock truth: the status bar's data-clock (the exercise clock, in seconds, when
  // the server rendered it) and data-running. Every oob status frame (start, pause,
  // resume, stage change, end) replaces the status bar, so the base is re-read and
  // re-stamped the moment it arrives; countdowns are deadlines on that same clock.
  function clockSource() {
    return document.querySelector("#status-bar [data-exercise-clock]");
  }

  function exerciseClock() {
    var el = clockSource();
    if (!el) return null;
    var now = Date.now() / 1000;
    if (!el.dataset.receivedAt) el.dataset.receivedAt = String(now);
    var base = parseFloat(el.dataset.clock);
    var running = el.dataset.running === "true";
    return base + (running ? now - parseFloat(el.dataset.receivedAt) : 0);
  }

  function tick() {
    var current = exerciseClock();
    if (current === null) return;
    var source = clockSource();
    source.textContent = formatSeconds(current);
    var countdowns = document.querySelectorAll("[data-deadline]");
    for (var i = 0; i < countdowns.length; i++) {
      var left = parseFloat(countdowns[i].dataset.deadline) - current;
      countdowns[i].textContent = formatSeconds(left);
      countdowns[i].classList.toggle("overdue", left <= 0);
    }
  }

  // Dialogs fetched with htmx (data-modal) open as modal: focus moves in, Escape closes.
  function openModals(scope) {
    var dialogs = (scope || document).querySelectorAll("dialog[data-modal]:not([open])");
    for (var i = 0; i < dialogs.length; i++) dialogs[i].showModal();
  }

  // ------------------------------------------------------------ socket

  function startPing(socketWrapper) {
    stopPing();
    pingTimer = window.setInterval(function () {
      socketWrapper.send(JSON.stringify({ type: "ping" }));
    }, PING_MS);
  }

  function stopPing() {
    if (pingTimer) window.clearInterval(pingTimer);
    pingTimer = null;
  }

  // Reconnect fast at first, then every ~5 s at most (the extension's default waits up to 64 s).
  function reconnectDelay(retryCount) {
    return Math.min(500 * Math.pow(2, retryCount), 5000) * (0.5 + Math.random() / 2);
  }

  function wrapSocketFactory() {
    // Keep a handle on the current socket: reconnect logic and tests use it.
    var create = window.htmx && window.htmx.createWebSocket;
    if (!create || create.cascadeWrapped) return;
    var wrapped = function (url) {
      var socket = create(url);
      window.cascadeLive.socket = socket;
      return socket;
    };
    wrapped.cascadeWrapped = true;
    window.htmx.createWebSocket = wrapped;
  }

  function onOpen(event) {
    retry = 0;
    setState("connected", "Live");
    event.detail.socketWrapper.send(JSON.stringify({ type: "hello", last_seq: lastSeq }));
    startPing(event.detail.socketWrapper);
  }

  function onClose(event) {
    stopPing();
    if (leaving) return;
    var code = event.detail.event && event.detail.event.code;
    if (FINAL_CODES.indexOf(code) >= 0) {
      setState("offline", "Disconnected: reload the page");
      return;
    }
    setState("reconnecting", "Reconnecting…");
    // The ws extension itself retries only after 1006/1011/1012/1013; retry after
    // any other unexpected close too (server restart, proxy timeout, dropped socket).
    if ([1006, 1011, 1012, 1013].indexOf(code) < 0) {
      var wrapper = event.detail.socketWrapper;
      var delay = reconnectDelay(retry);
      retry += 1;
      window.setTimeout(function () { wrapper.reconnect(); }, delay);
    }
  }

  // Back online: a socket that survived is live again at once; a dead one reconnects.
  function onOnline() {
    var socket = window.cascadeLive.socket;
    if (socket && socket.readyState === WebSocket.OPEN) {
      setState("connected", "Live");
    } else {
      setState("reconnecting", "Reconnecting…");
    }
  }

  function onBeforeMessage(event) {
    var match = SEQ_RE.exec(event.detail.message || "");
    if (!match) return; // heartbeat and other non-event frames
    var seq = parseInt(match[1], 10);
    if (seq <= lastSeq) {
      event.preventDefault(); // already shown: never twice
      return;
    }
    remember(seq);
    countUnread();
  }

  // ------------------------------------------------------------ attention

  // A new event while nobody looks at the tab shows in its title until they come back.
  function countUnread() {
    if (document.visibilityState !== "hidden") return;
    unread += 1;
    document.title = "(" + unread + ") " + baseTitle;
  }

  function onVisibility() {
    if (document.visibilityState !== "visible") return;
    unread = 0;
    document.title = baseTitle;
    markSeenOnScreen();
  }

  function stored(key) {
    try {
      return window.localStorage.getItem(key) === "on";
    } catch (e) {
      return false;
    }
  }

  function store(key, on) {
    try {
      window.localStorage.setItem(key, on ? "on" : "off");
    } catch (e) {
      /* private mode: the choice lasts for this page only */
    }
  }

  // Feed items that arrive live are unread until they have been on screen, in a visible
  // tab, for SEEN_MS; "n new" beside the feed's heading counts them and marks all read.
  function unreadItems() {
    return document.querySelectorAll("#feed .feed-item.unread");
  }

  function showUnreadCount() {
    var button = document.getElementById("feed-unread");
    if (!button) return;
    var count = unreadItems().length;
    button.hidden = count === 0;
    button.textContent = count + " new · mark read";
  }

  function markRead(item) {
    item.classList.remove("unread");
    delete item.dataset.seenTimer;
    showUnreadCount();
  }

  function markAllRead() {
    var items = unreadItems();
    for (var i = 0; i < items.length; i++) markRead(items[i]);
  }

  function onScreen(item) {
    var box = item.getBoundingClientRect();
    var feed = item.closest("#feed").getBoundingClientRect();
    var top = Math.max(0, feed.top);
    var bottom = Math.min(window.innerHeight, feed.bottom);
    return box.bottom > top && box.top < bottom;
  }

  function markSeenOnScreen() {
    if (document.visibilityState !== "visible") return;
    var items = unreadItems();
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      if (item.dataset.seenTimer || !onScreen(item)) continue;
      item.dataset.seenTimer = "1";
      window.setTimeout(settleRead.bind(null, item), SEEN_MS);
    }
  }

  // Read only if it is still on screen in a visible tab once SEEN_MS have passed.
  function settleRead(item) {
    delete item.dataset.seenTimer;
    if (document.visibilityState === "visible" && item.isConnected && onScreen(item)) {
      markRead(item);
    } else {
      markSeenOnScreen();
    }
  }

  function watchFeed() {
    var feed = document.getElementById("feed");
    if (!feed || !window.MutationObserver) return;
    var watcher = new MutationObserver(function (changes) {
      var fresh = [];
      for (var c = 0; c < changes.length; c++) {
        var added = changes[c].addedNodes;
        for (var i = 0; i < added.length; i++) {
          if (added[i].classList && added[i].classList.contains("feed-item")) fresh.push(added[i]);
        }
      }
      if (fresh.length) onNewFeedItems(fresh);
    });
    watcher.observe(feed, { childList: true });
    feed.addEventListener("scroll", markSeenOnScreen, { passive: true });
    window.addEventListener("scroll", markSeenOnScreen, { passive: true });
    var button = document.getElementById("feed-unread");
    if (button) button.addEventListener("click", markAllRead);
  }

  function onNewFeedItems(items) {
    var injects = [];
    for (var i = 0; i < items.length; i++) {
      items[i].classList.add("unread");
      if (items[i].dataset.alert) injects.push(items[i]);
    }
    showUnreadCount();
    markSeenOnScreen();
    if (injects.length) alertUser(injects[0].dataset.alert);
  }

  // A new prompt for the team: the same alert, and on a phone it scrolls into view.
  function checkNewPrompts(first) {
    var cards = document.querySelectorAll("#prompts .prompt-card");
    var fresh = null;
    for (var i = 0; i < cards.length; i++) {
      if (!seenPrompts[cards[i].id] && !first && !fresh) fresh = cards[i];
      seenPrompts[cards[i].id] = true;
    }
    if (!fresh) return;
    var question = fresh.querySelector("h3");
    alertUser("Decision needed: " + (question ? question.textContent.trim() : ""));
    if (window.matchMedia(PHONE).matches) fresh.scrollIntoView({ block: "start", behavior: "smooth" });
  }

  function playChime() {
    if (!chime || !stored(SOUND_KEY)) return;
    chime.currentTime = 0;
    var playing = chime.play();
    if (playing && playing.catch) playing.catch(function () { /* blocked until a click */ });
  }

  function alertUser(text) {
    playChime();
    if (document.visibilityState === "hidden" && notificationsOn()) {
      try {
        new window.Notification(baseTitle, { body: text, tag: "cascade-" + root.dataset.exercise });
      } catch (e) {
        /* Chrome on Android allows them only from a service worker: the title still counts */
      }
    }
  }

  function notificationsOn() {
    return "Notification" in window && window.Notification.permission === "granted" && stored(NOTIFY_KEY);
  }

  // The sound toggle (a checkbox) and the notifications button, where the page has them.
  function setUpAlertControls() {
    var sound = document.getElementById("sound-toggle");
    if (sound) {
      chime = new Audio(sound.dataset.src);
      sound.checked = stored(SOUND_KEY);
      sound.addEventListener("change", function () {
        store(SOUND_KEY, sound.checked);
        playChime(); // once, on the click: lets the browser play it later and says what it sounds like
      });
    }
    var notify = document.getElementById("notify-toggle");
    if (!notify) return;
    if (!("Notification" in window)) return;
    notify.hidden = false;
    showNotifyState(notify);
    // Permission is asked for only here, on the user's click.
    notify.addEventListener("click", function () {
      if (notificationsOn()) {
        store(NOTIFY_KEY, false);
        showNotifyState(notify);
        return;
      }
      window.Notification.requestPermission().then(function (permission) {
        store(NOTIFY_KEY, permission === "granted");
        showNotifyState(notify);
      });
    });
  }

  function showNotifyState(button) {
    var on = notificationsOn();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    if (window.Notification.permission === "denied") {
      button.textContent = "Notifications blocked by the browser";
      button.disabled = true;
    } else {
      button.textContent = on ? "Notifications on" : "Notify me";
    }
  }

  function init() {
    root = document.querySelector("[data-live-root]");
    window.cascadeLive = window.cascadeLive || {};
    if (root) {
      // The page shows everything up to its render-time seq: start from there.
      remember(parseInt(root.dataset.lastSeq || "0", 10));
      window.cascadeLive.lastSeq = function () { return lastSeq; };
      window.cascadeLive.clock = exerciseClock;
      root.addEventListener("htmx:wsConnecting", function () {
        if (root.dataset.everOpen) setState("reconnecting", "Reconnecting…");
      });
      root.addEventListener("htmx:wsOpen", function (event) {
        root.dataset.everOpen = "1";
        onOpen(event);
      });
      root.addEventListener("htmx:wsClose", onClose);
      root.addEventListener("htmx:wsBeforeMessage", onBeforeMessage);
      window.addEventListener("offline", function () { setState("offline", "Offline"); });
      window.addEventListener("online", onOnline);
      document.addEventListener("visibilitychange", onVisibility);
      watchFeed();
      setUpAlertControls();
      checkNewPrompts(true);
      window.addEventListener("beforeunload", function () { leaving = true; });
    }
    fillTokens(document);
    document.body.addEventListener("htmx:load", function (event) { fillTokens(event.target); });
    document.body.addEventListener("htmx:oobAfterSwap", function (event) {
      fillTokens(event.detail.target || document);
      tick(); // a new status bar re-bases the clock now, not at the next second
      if (root) checkNewPrompts(false);
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      tick();
      openModals(event.detail.target);
    });
    // A confirmation dialog's form posts with htmx: the dialog closes once it answered.
    document.body.addEventListener("htmx:afterRequest", function (event) {
      var dialog = event.target.closest && event.target.closest("dialog[data-modal]");
      if (dialog && dialog.open) dialog.close();
    });
    tick();
    window.setInterval(tick, 1000);
  }

  wrapSocketFactory();
  if (window.htmx) window.htmx.config.wsReconnectDelay = reconnectDelay;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
