// cjm_fasthtml_sse: close the page's event streams when the page is left, and reopen them if it comes back from the bfcache.
function cjmCleanup(config) {
  'use strict';
  var S = cjmSSE, closed = [];
  function closeAll(event) {
    if (event.type === 'beforeunload' &&
        (event.defaultPrevented || (typeof event.returnValue === 'string' && event.returnValue !== ''))) return;
    document.querySelectorAll(S.CONNECT).forEach(function (elt) {
      var source = S.sourceOf(elt);
      if (!source || source.readyState === EventSource.CLOSED) return;
      source.close();
      closed.push(elt);
      if (window.htmx) htmx.trigger(elt, 'htmx:sseClose', {source: source, type: 'unload'});
    });
  }
  window.addEventListener('beforeunload', closeAll);
  window.addEventListener('pagehide', closeAll);
  window.addEventListener('pageshow', function (event) {
    if (event.persisted) closed.splice(0).forEach(S.reopen);
  });
}
