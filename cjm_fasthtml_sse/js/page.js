// cjm_fasthtml_sse: the script `sse_hdrs` puts on every page. It makes each new EventSource resume after the last event the
// page saw (the hook of common.js), turns the server's `reset` into a cancelable `sse:reset` event that reloads the page
// unless handled, and logs one clear error when the page has stream elements but htmx or its SSE extension never loaded.
function cjmPage(config) {
  'use strict';
  if (window.cjmPageSSE) return;
  var S = cjmSSE, reloading = false, warned = false;
  var HTMX4 = '[hx-sse\\:connect],[data-hx-sse\\:connect]';
  window.cjmPageSSE = {config: config};
  function log() { S.log(config.debug, '[SSE page]', arguments); }

  // reset: the server can't replay what this page missed. Tell the app; reload unless it calls preventDefault().
  function elementOf(source) {
    var elts = document.querySelectorAll(S.CONNECT);
    for (var i = 0; i < elts.length; i++) if (S.sourceOf(elts[i]) === source) return elts[i];
    return null;
  }
  function onReset(elt, data, id, url) {
    var body = {};
    try { body = JSON.parse(data) || {}; } catch (error) { body = {}; }
    var detail = {reason: body.reason === undefined ? null : body.reason,
                  last_event_id: body.last_event_id === undefined ? null : body.last_event_id,
                  id: id || '', url: url || ''};
    var target = elt && document.body.contains(elt) ? elt : document.body;
    var go = target.dispatchEvent(new CustomEvent('sse:reset', {bubbles: true, cancelable: true, detail: detail}));
    log('reset', detail, go ? 'reloading' : 'handled by the page');
    if (go && !reloading) {
      reloading = true;
      location.reload();
    }
  }
  S.onSources({watch: function (source, url) {
    source.addEventListener('reset', function (event) { onReset(elementOf(source), event.data, event.lastEventId, url); });
  }});
  // htmx 4's hx-sse dispatches named events as DOM events on the element: {data, id} in the detail.
  document.addEventListener('reset', function (event) {
    var elt = event.target, detail = event.detail;
    if (!elt || !elt.matches || !elt.matches(HTMX4) || !detail || typeof detail.data !== 'string') return;
    onReset(elt, detail.data, detail.id, elt.getAttribute('hx-sse:connect') || elt.getAttribute('data-hx-sse:connect'));
  });

  // A missing extension fails silently in htmx: say so once, naming the script.
  var htmx4Seen = false;
  ['htmx:sse:before:connection', 'htmx:sse:after:connection', 'htmx:sse:error', 'htmx:sse:close'].forEach(function (name) {
    document.addEventListener(name, function () { htmx4Seen = true; });
  });
  function missing(what) {
    if (warned) return;
    warned = true;
    console.error('cjm_fasthtml_sse: ' + what + ' Add the scripts to the page headers, e.g. ' +
                  '`fast_app(hdrs=sse_hdrs(include_htmx=False))` (or `sse_hdrs()` without FastHTML\'s htmx).');
  }
  function check() {
    var two = document.querySelectorAll(S.CONNECT), four = document.querySelectorAll(HTMX4), n = two.length + four.length;
    if (!n) return;
    if (!window.htmx) return missing('this page has ' + n + ' SSE element(s) but htmx did not load, so no stream opens.');
    if (two.length && !Array.prototype.some.call(two, S.sourceOf)) {
      return missing('this page has ' + two.length + ' [sse-connect] element(s) but none opened a stream: the htmx SSE ' +
                     'extension (htmx-ext-sse, sse.js) did not load, or the element lacks hx-ext="sse".');
    }
    if (four.length) setTimeout(function () {
      if (htmx4Seen || Array.prototype.some.call(four, function (elt) { return elt._htmx && elt._htmx.sse; })) return;
      missing('this page has ' + four.length + ' [hx-sse:connect] element(s) but none opened a stream: htmx 4\'s SSE ' +
              'extension (dist/ext/hx-sse.js) did not load.');
    }, config.extensionWaitMs);
  }
  if (document.readyState === 'complete') setTimeout(check, 0);
  else window.addEventListener('load', function () { setTimeout(check, 0); });
}
