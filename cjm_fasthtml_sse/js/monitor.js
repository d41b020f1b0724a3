// cjm_fasthtml_sse: keep the status indicator showing the real state of the page's streams (htmx 2 and htmx 4).
function cjmStatusMonitor(config) {
  'use strict';
  var S = cjmSSE, STREAMS = config.source || S.STREAMS;
  var RANK = {connected: 0, connecting: 1, reconnecting: 2, offline: 3};
  var LEAVING_MS = 3000;
  var opened = new WeakSet(), ended = new WeakSet(), retrying = new WeakSet(), closed = new WeakSet();
  var shown = null, downSince = null, leavingUntil = 0;
  function log() { S.log(config.debug, '[SSE status]', arguments); }
  function tokens(text) { return String(text || '').split(/\s+/).filter(Boolean); }
  function stateOf(elt) {
    var source = S.sourceOf(elt);
    if (source) {
      if (source.readyState === 1) return 'connected';
      if (source.readyState === 0) return opened.has(elt) ? 'reconnecting' : 'connecting';
      return (retrying.has(source) && !closed.has(source)) ? 'reconnecting' : 'offline';
    }
    var sse = elt._htmx && elt._htmx.sse;
    if (sse) return sse.reader ? 'connected' : (opened.has(elt) ? 'reconnecting' : 'connecting');
    return ended.has(elt) ? 'offline' : 'connecting';
  }
  function show(state) {
    var elt = document.getElementById(config.elementId);
    if (elt) {
      if (elt.textContent !== config.labels[state]) elt.textContent = config.labels[state];
      elt.setAttribute('data-sse-status', state);
      for (var s in config.classes) if (s !== state) tokens(config.classes[s]).forEach(function (t) { elt.classList.remove(t); });
      tokens(config.classes[state]).forEach(function (t) { elt.classList.add(t); });
    }
    if (state === shown) return;
    var previous = shown;
    shown = state;
    log(previous || '(start)', '->', state);
    document.dispatchEvent(new CustomEvent('sse:status', {detail: {state: state, previous: previous}}));
  }
  function check() {
    if (Date.now() < leavingUntil) return;
    var elts = document.querySelectorAll(STREAMS), state = elts.length ? 'connected' : 'offline';
    elts.forEach(function (elt) {
      var s = stateOf(elt);
      if (RANK[s] > RANK[state]) state = s;
    });
    if (state !== 'connected' && navigator.onLine === false) state = 'offline';
    var now = Date.now();
    if (state === 'connected') downSince = null;
    else if (downSince === null) downSince = now;
    else if (now - downSince >= config.offlineAfter) state = 'offline';
    show(state);
  }
  function on(name, fn, later) {
    document.addEventListener(name, function (event) {
      if (fn) fn(event.target, event.detail || {});
      if (later) Promise.resolve().then(check);
      else check();
    });
  }
  on('htmx:sseOpen', function (elt) { opened.add(elt); });
  on('htmx:sseError', function (elt, detail) {
    if (detail.source && detail.source.readyState === 2) retrying.add(detail.source);
  });
  on('htmx:sseClose', function (elt, detail) {
    // A swap replaced the element (the page script's fresh markup, say): the new element reports for the page, not this one.
    if (detail.source && detail.type !== 'nodeReplaced') closed.add(detail.source);
    if (detail.type === 'unload') leavingUntil = Date.now() + LEAVING_MS;
  });
  on('htmx:sse:after:connection', function (elt) { opened.add(elt); ended.delete(elt); }, true);
  on('htmx:sse:before:connection');
  on('htmx:sse:error');
  on('htmx:sse:close', function (elt) { ended.add(elt); });
  window.addEventListener('pageshow', function (event) { if (event.persisted) { leavingUntil = 0; check(); } });
  window.addEventListener('online', check);
  window.addEventListener('offline', check);
  S.onReady(check);
  setInterval(check, config.checkInterval);
}
