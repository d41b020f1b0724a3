// cjm_fasthtml_sse: the script `sse_hdrs` puts on every page. It makes each new EventSource resume after the last event the
// page saw (the hook of common.js), turns the server's `reset` into a cancelable `sse:reset` event that brings the page up to
// date unless handled (never in a loop: at most once per backoff window), and logs one clear error for each wiring mistake:
// htmx or its SSE extension missing, htmx loaded twice, a stream the server refused (with the server's status and reason).
function cjmPage(config) {
  'use strict';
  if (window.cjmPageSSE) return;
  var S = cjmSSE, warned = false, firstType = null, pending = false, probed = Object.create(null);
  var BACKOFF_MS = config.resetBackoffMs || 1000, BACKOFF_MAX_MS = config.resetBackoffMaxMs || 60000;
  var STORE = 'cjm-sse:recover:' + location.pathname;
  window.cjmPageSSE = {config: config};
  function log() { S.log(config.debug, '[SSE page]', arguments); }

  // The backoff lives in sessionStorage, so that it survives the reloads it spaces out: {n: recoveries in a row, at: the last}.
  function stored() {
    try { return JSON.parse(sessionStorage.getItem(STORE)) || null; } catch (error) { return null; }
  }
  function store(value) {
    try {
      if (value) sessionStorage.setItem(STORE, JSON.stringify(value));
      else sessionStorage.removeItem(STORE);
    } catch (error) { /* no storage (a sandboxed frame): the backoff then lasts as long as the page */ }
  }
  var memory = null;
  function last() { return stored() || memory; }
  function waitMs() {
    var prev = last();
    if (!prev || typeof prev.n !== 'number' || typeof prev.at !== 'number' || prev.n < 1) return 0;
    var span = Math.min(BACKOFF_MAX_MS, BACKOFF_MS * Math.pow(2, prev.n - 1));
    return Math.max(0, Math.min(span, prev.at + span - Date.now()));
  }
  function recovering() {
    var prev = last();
    memory = {n: Math.min(30, ((prev && prev.n) || 0) + 1), at: Date.now()};
    store(memory);
  }
  // The page's first event tells whether it arrived up to date: anything but a reset means it did, and ends the backoff.
  function arrived(type) {
    if (firstType !== null) return;
    firstType = type;
    if (type !== 'reset') { memory = null; store(null); }
  }

  // A page that was current and fell behind reloads. A page stale on arrival (its first event is a reset: a cached copy, or
  // markup from before a restart) would come back as stale from the same cache: it fetches fresh markup instead, bypassing
  // the cache, and swaps its body. Either happens at most once per backoff window (1 s, doubling, capped).
  function closeStreams() {
    document.querySelectorAll(S.CONNECT).forEach(function (elt) {
      var source = S.sourceOf(elt);
      if (source) source.close();
    });
  }
  // htmx 4's hx-sse reads until its element leaves the page: end the reads of the elements a swap removed.
  function readersOf(elts) {
    return Array.prototype.map.call(elts, function (elt) { return elt._htmx && elt._htmx.sse; }).filter(Boolean);
  }
  function endReads(connections) {
    connections.forEach(function (connection) {
      if (connection.reader) connection.reader.cancel().catch(function () { return null; });
    });
  }
  // Scripts already running (htmx, its extension, this one) stay as they are: a second copy of htmx would drop every hook.
  function running(script) {
    var src = script.getAttribute('src');
    return Array.prototype.some.call(document.querySelectorAll('script'), function (s) {
      return src ? s.getAttribute('src') === src : s.textContent === script.textContent;
    });
  }
  function swapBody(doc) {
    Array.prototype.forEach.call(doc.body.querySelectorAll('script'), function (s) { if (running(s)) s.remove(); });
    if (doc.title) document.title = doc.title;
    var htmx2 = window.htmx && typeof htmx.swap === 'function' && /^2\./.test(String(htmx.version));
    if (htmx2) htmx.swap(document.body, doc.body.innerHTML, {swapStyle: 'innerHTML'});  // its cleanup closes the old streams
    else {
      var old = readersOf(document.querySelectorAll(S.CONNECT4));
      closeStreams();
      document.body.innerHTML = doc.body.innerHTML;
      endReads(old);
      if (window.htmx) htmx.process(document.body);
    }
  }
  // The fresh markup is rendered after the resets seen so far, at its own positions: from then on those resets no longer
  // override the positions its stream elements carry (else it would get again the events it already shows).
  function resetsSeen() {
    var seen = Object.create(null);
    for (var key in S.positions) if (S.positions[key].reset) seen[key] = S.positions[key];
    return seen;
  }
  function renderedAfter(seen) {
    for (var key in seen) if (S.positions[key] === seen[key]) S.positions[key] = {id: seen[key].id, reset: false};
  }
  function refresh() {
    if (!self.fetch || !self.DOMParser) return location.reload();
    var seen = resetsSeen();
    fetch(location.href, {cache: 'no-store', credentials: 'same-origin', headers: {'Accept': 'text/html'}})
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status + ' from ' + location.href);
        return response.text();
      })
      .then(function (html) {
        firstType = null;
        pending = false;
        renderedAfter(seen);
        swapBody(new DOMParser().parseFromString(html, 'text/html'));
      })
      .catch(function (error) {
        log('could not fetch fresh markup; reloading', error);
        location.reload();
      });
  }
  function recover(stale) {
    if (pending) return;
    pending = true;
    var wait = waitMs();
    log(stale ? 'fetching fresh markup' : 'reloading', wait ? 'in ' + wait + ' ms' : 'now');
    function go() {
      recovering();
      if (stale) refresh();
      else location.reload();
    }
    if (wait) setTimeout(go, wait);
    else go();
  }

  // reset: the server can't replay what this page missed. Tell the app; recover unless it calls preventDefault().
  function elementOf(source) {
    var elts = document.querySelectorAll(S.CONNECT);
    for (var i = 0; i < elts.length; i++) if (S.sourceOf(elts[i]) === source) return elts[i];
    return null;
  }
  function onReset(elt, data, id, url) {
    var body = {};
    try { body = JSON.parse(data) || {}; } catch (error) { body = {}; }
    var stale = firstType === null || firstType === 'reset';
    var detail = {reason: body.reason === undefined ? null : body.reason,
                  last_event_id: body.last_event_id === undefined ? null : body.last_event_id,
                  id: id || '', url: url || '', stale: stale};
    var target = elt && document.body.contains(elt) ? elt : document.body;
    var go = target.dispatchEvent(new CustomEvent('sse:reset', {bubbles: true, cancelable: true, detail: detail}));
    log('reset', detail, go ? (stale ? 'refreshing' : 'reloading') : 'handled by the page');
    if (go) recover(stale);
  }

  // A refused stream: an EventSource can't read the status, so fetch its URL once (per URL and page) to read the status and
  // the reason, and log them. The fetch is aborted as soon as the answer is known, so it never holds a stream open.
  function probe(url) {
    var key = S.resumeKey(url), state = probed[key] = probed[key] || {tries: 0, done: false, busy: false};
    if (state.done || state.busy || state.tries >= 3 || !self.fetch || !self.AbortController) return Promise.resolve(null);
    state.tries += 1;
    state.busy = true;
    var abort = new AbortController(), timer = setTimeout(function () { abort.abort(); }, 10000);
    return fetch(url, {credentials: 'same-origin', cache: 'no-store', headers: {'Accept': 'text/event-stream'}, signal: abort.signal})
      .then(function (response) {
        state.done = true;  // an answer: never again for this URL (a network error may try again, up to 3 times)
        if (response.ok) return null;
        return response.text().then(function (text) { return {status: response.status, text: text}; });
      })
      .then(function (refused) {
        state.busy = false;
        clearTimeout(timer);
        abort.abort();
        if (!refused) return null;
        console.error('cjm_fasthtml_sse: stream ' + S.parseUrl(url).pathname + ' refused: ' + refused.status + ' ' +
                      refused.text.replace(/\s+/g, ' ').trim().slice(0, 500));
        return refused;
      }, function () { state.busy = false; clearTimeout(timer); return null; });
  }

  S.onSources({
    watch: function (source, url) {
      source.addEventListener('reset', function (event) { onReset(elementOf(source), event.data, event.lastEventId, url); });
      // Closed after an error: refused. A stand-in of the shared connection never closes (its hub retries), so one that
      // fails before it ever opened is checked too.
      var opened = false;
      source.addEventListener('open', function () { opened = true; });
      source.addEventListener('error', function () {
        if (source.readyState === 2 || (!opened && window.cjmSharedSSE && source instanceof window.cjmSharedSSE.SharedEventSource)) probe(url);
      });
    },
    event: function (type) { arrived(type); }
  });
  // htmx 4's hx-sse dispatches named events as DOM events on the element: {data, id} in the detail.
  document.addEventListener('htmx:sse:before:message', function (event) {
    var message = event.detail && event.detail.message;
    if (message) arrived(message.event || 'message');
  });
  document.addEventListener('reset', function (event) {
    var elt = event.target, detail = event.detail;
    if (!elt || !elt.matches || !elt.matches(S.CONNECT4) || !detail || typeof detail.data !== 'string') return;
    onReset(elt, detail.data, detail.id, S.connectUrl(elt));
  });
  // htmx 4 reports a refused reconnect with its status (a network error has none, and needs no probe).
  document.addEventListener('htmx:sse:error', function (event) {
    var elt = event.target, status = event.detail && event.detail.status;
    if (status && elt && elt.matches && elt.matches(S.CONNECT4)) probe(S.connectUrl(elt));
  });

  // Wiring mistakes fail silently in htmx: say so once, naming the fix.
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
  function htmxScripts() {
    return Array.prototype.map.call(document.querySelectorAll('script[src]'), function (s) { return s.getAttribute('src'); })
      .filter(function (src) { return /(^|\/)htmx(\.min)?\.js([?#].*)?$/.test(src); });
  }
  function loadedTwice(srcs) {
    warned = true;
    console.error('cjm_fasthtml_sse: htmx is loaded ' + srcs.length + ' times on this page (' + srcs.join(', ') + '): each ' +
                  'copy replaces the last, and the SSE extension registers with only one of them, so streams fail. Load htmx ' +
                  'once: under `fast_app()`, which already loads it, use `fast_app(hdrs=sse_hdrs(include_htmx=False))`.');
  }
  function check() {
    var srcs = htmxScripts();
    if (srcs.length > 1) return loadedTwice(srcs);
    var two = document.querySelectorAll(S.CONNECT), four = document.querySelectorAll(S.CONNECT4), n = two.length + four.length;
    if (!n) return;
    if (!window.htmx) return missing('this page has ' + n + ' SSE element(s) but htmx did not load, so no stream opens.');
    if (two.length && !Array.prototype.some.call(two, S.sourceOf)) {
      return missing('this page has ' + two.length + ' [sse-connect] element(s) but none opened a stream: the htmx SSE ' +
                     'extension (htmx-ext-sse, sse.js) did not load, or the element lacks hx-ext="sse".');
    }
    if (four.length) setTimeout(function () {
      if (htmx4Seen || Array.prototype.some.call(four, function (elt) { return elt._htmx && elt._htmx.sse; })) return;
      probe(S.connectUrl(four[0])).then(function (refused) {
        if (refused) return;
        missing('this page has ' + four.length + ' [hx-sse:connect] element(s) but none opened a stream: htmx 4\'s SSE ' +
                'extension (dist/ext/hx-sse.js) did not load.');
      });
    }, config.extensionWaitMs);
  }
  if (document.readyState === 'complete') setTimeout(check, 0);
  else window.addEventListener('load', function () { setTimeout(check, 0); });
}
