// cjm_fasthtml_sse: reopen streams that were closed outside the extension's control; every reopened source resumes after
// the last event the page saw (through the shared `htmx.createEventSource` hook of common.js).
function cjmReconnect(config) {
  'use strict';
  var S = cjmSSE;
  var retries = new WeakMap();
  var leftAlone = new WeakSet();
  function log() { S.log(config.debug, '[SSE reconnect]', arguments); }
  S.onSources();
  document.addEventListener('htmx:sseError', function (event) {
    var source = event.detail && event.detail.source;
    if (source && source.readyState === EventSource.CLOSED) leftAlone.add(source);
  });
  document.addEventListener('htmx:sseClose', function (event) {
    if (event.detail && event.detail.source) leftAlone.add(event.detail.source);
  });
  document.addEventListener('htmx:sseOpen', function (event) {
    retries.delete(event.target);
  });
  function check() {
    document.querySelectorAll(S.CONNECT).forEach(function (elt) {
      var source = S.sourceOf(elt);
      if (!source || source.readyState !== EventSource.CLOSED || leftAlone.has(source)) return;
      var count = retries.get(elt) || 0;
      if (count >= config.maxRetries) {
        if (count === config.maxRetries) log('giving up on', elt, 'after', count, 'reopens');
        retries.set(elt, count + 1);
        return;
      }
      retries.set(elt, count + 1);
      log('reopening', elt, '(attempt ' + (count + 1) + ' of ' + config.maxRetries + ')');
      S.reopen(elt);
    });
  }
  setInterval(check, config.checkInterval);
  window.addEventListener('online', check);
}
