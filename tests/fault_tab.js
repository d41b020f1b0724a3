// The recorder of the fault checker's shared tabs (tests/faultcheck.py, page /tab of tests/fault_app.py).
// Every event the page gets is pushed into `window.__events` and reported to the checker through `window.__faultRecord`
// (a Playwright binding, when there is one): {load, seq, t, kind, id, data}. `load` names this page load and stream element
// (a reload, or fresh markup swapped in, is a new stream); `kind` is `pos` (the position the stream element was rendered at,
// first), `msg` or `reset`.
function faultTab(config) {
  'use strict';
  var page = config.name + ':' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8), seq = 0, part = 0;
  var load = page + '/0';
  window.__events = [];
  function record(kind, id, data) {
    var rec = {load: load, seq: seq++, t: Date.now(), kind: kind, id: id || null, data: data === undefined ? null : data};
    window.__events.push(rec);
    if (typeof window.__faultRecord === 'function') {
      try { Promise.resolve(window.__faultRecord(rec)).catch(function () { return null; }); } catch (e) { /* the checker left */ }
    }
  }
  function position(elt) {
    var connect = elt && elt.getAttribute('sse-connect');
    return connect ? new URL(connect, location.href).searchParams.get('last_event_id') : null;
  }
  var current = document.getElementById('stream');
  record('pos', position(current));
  // The page script may swap in fresh markup (a page stale on arrival): a new stream element, rendered at a newer position,
  // whose state the page now shows. From there on it is a new stream (as a reload is), which starts at that position.
  cjmSSE.onSources({watch: function () {
    var elt = document.getElementById('stream');
    if (!elt || elt === current) return;
    current = elt;
    load = page + '/' + (++part);
    record('pos', position(elt));
  }});
  document.addEventListener('htmx:sseBeforeMessage', function (event) {
    var ev = event.detail;
    if (ev && typeof ev.data === 'string') record('msg', ev.lastEventId, ev.data);
  });
  document.addEventListener('sse:reset', function (event) {
    var d = event.detail || {};
    record('reset', d.id, JSON.stringify({reason: d.reason, stale: d.stale}));
    if (config.keep) event.preventDefault();
  });
}
