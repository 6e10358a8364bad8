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
 * - Clocks and countdowns tick locally from the server's value.
 * - Empty client_token inputs (forms pushed over the socket) get a fresh token.
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

  function tick() {
    var now = Date.now() / 1000;
    var clocks = document.querySelectorAll("[data-clock]");
    for (var i = 0; i < clocks.length; i++) {
      var el = clocks[i];
      if (!el.dataset.loadedAt) el.dataset.loadedAt = String(now);
      var base = parseFloat(el.dataset.clock);
      var running = el.dataset.running === "true";
      var elapsed = running ? now - parseFloat(el.dataset.loadedAt) : 0;
      // data-countdown counts down to zero; plain clocks count up.
      var value = el.hasAttribute("data-countdown") ? base - elapsed : base + elapsed;
      el.textContent = formatSeconds(value);
      if (el.hasAttribute("data-countdown")) el.classList.toggle("overdue", value <= 0);
    }
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

  function onBeforeMessage(event) {
    var match = SEQ_RE.exec(event.detail.message || "");
    if (!match) return; // heartbeat and other non-event frames
    var seq = parseInt(match[1], 10);
    if (seq <= lastSeq) {
      event.preventDefault(); // already shown: never twice
      return;
    }
    remember(seq);
  }

  function init() {
    root = document.querySelector("[data-live-root]");
    window.cascadeLive = window.cascadeLive || {};
    if (root) {
      // The page shows everything up to its render-time seq: start from there.
      remember(parseInt(root.dataset.lastSeq || "0", 10));
      window.cascadeLive.lastSeq = function () { return lastSeq; };
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
      window.addEventListener("beforeunload", function () { leaving = true; });
    }
    fillTokens(document);
    document.body.addEventListener("htmx:load", function (event) { fillTokens(event.target); });
    document.body.addEventListener("htmx:oobAfterSwap", function (event) {
      fillTokens(event.detail.target || document);
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
