// cjm_fasthtml_sse: helpers shared by every script of the library, in pages and in the shared worker.
// Defines `cjmSSE` once per global scope; later copies of this file reuse the first.
var cjmSSE = self.cjmSSE || (function () {
  'use strict';
  var RESUME_PARAM = 'last_event_id';
  // The stream elements: htmx 2's (htmx-ext-sse), htmx 4's (hx-sse), and both. Every script selects them through these.
  var CONNECT = '[sse-connect],[data-sse-connect]';
  var CONNECT4 = '[hx-sse\\:connect],[data-hx-sse\\:connect]';
  var STREAMS = CONNECT + ',' + CONNECT4;
  var URL_ATTRS = ['sse-connect', 'data-sse-connect', 'hx-sse:connect', 'data-hx-sse:connect'];
  var LISTENERS = '[sse-swap],[data-sse-swap],[hx-trigger],[data-hx-trigger]';

  // Event ids and stream URLs
  function parseUrl(url) { return new URL(url, self.location.href); }
  function resumeKey(url) {
    var u = parseUrl(url);
    u.searchParams.delete(RESUME_PARAM);
    u.hash = '';
    return u.href;
  }
  function resumeFrom(url) { return parseUrl(url).searchParams.get(RESUME_PARAM) || ''; }
  function withResume(url, id) {
    var u = parseUrl(url);
    if (id) u.searchParams.set(RESUME_PARAM, id);
    else u.searchParams.delete(RESUME_PARAM);
    return u.href;
  }
  function connectUrl(elt) {
    for (var i = 0; i < URL_ATTRS.length; i++) {
      var url = elt.getAttribute(URL_ATTRS[i]);
      if (url) return url;
    }
    return null;
  }
  function compareIds(a, b) {
    if (!/^[0-9]+$/.test(a) || !/^[0-9]+$/.test(b)) return null;
    a = a.replace(/^0+(?=[0-9])/, '');
    b = b.replace(/^0+(?=[0-9])/, '');
    if (a.length !== b.length) return a.length < b.length ? -1 : 1;
    return a < b ? -1 : (a > b ? 1 : 0);
  }

  // The page's position in each stream: the id of the last event it received, by stream URL (without `last_event_id`).
  var positions = Object.create(null);
  function saw(url, id, reset) {
    if (!id) return;
    var key = resumeKey(url);
    positions[key] = {id: String(id), reset: !!reset};
  }
  function resumeUrl(url) {
    var p = positions[resumeKey(url)];
    if (!p) return url;
    var own = resumeFrom(url), newer = own ? compareIds(own, p.id) : null;
    if (!p.reset && newer !== null && newer > 0) return url;
    return withResume(url, p.id);
  }

  // htmx-ext-sse 2.x keeps its EventSource in the element's internal data.
  function sourceOf(elt) {
    var data = elt['htmx-internal-data'];
    return data && data.sseEventSource;
  }
  function reopen(elt) {
    if (!self.htmx || !document.body.contains(elt)) return false;
    var nodes = [elt].concat(Array.prototype.slice.call(elt.querySelectorAll(LISTENERS)));
    nodes.forEach(function (node) {
      if (node !== elt && node.closest(CONNECT) !== elt) return;
      var data = node['htmx-internal-data'];
      if (data) delete data.initHash;
    });
    htmx.process(elt);
    return true;
  }

  // The one hook on `htmx.createEventSource`. Every new source starts after the last event the page saw from its URL,
  // is made by `factory(url, inner)` (the shared-connection script sets one; `inner` is the extension's own), and is watched
  // by every `watch(source, url)`.
  var factory = null, watchers = [], listeners = [];
  function defaultFactory(url) { return new EventSource(url, {withCredentials: true}); }
  function track(source, url) {
    var add = source.addEventListener, types = Object.create(null);
    function record(event) {
      if (typeof event.data !== 'string') return;
      saw(url, event.lastEventId, event.type === 'reset');
      listeners.forEach(function (fn) { fn(event.type, url, source); });
    }
    function watch(type) {
      if (types[type]) return;
      types[type] = true;
      add.call(source, type, record);
    }
    source.addEventListener = function (type, listener, options) {
      watch(String(type));
      return add.call(source, type, listener, options);
    };
    watch('message');
    watch('reset');
  }
  function create(url) {
    var args = Array.prototype.slice.call(arguments);
    args[0] = resumeUrl(String(url));
    var source = factory ? factory(args[0], create.inner) : create.inner.apply(this, args);
    track(source, args[0]);
    watchers.forEach(function (fn) { fn(source, args[0]); });
    return source;
  }
  create.isCjmHook = true;
  function hook() {
    if (!self.htmx) return false;
    var current = htmx.createEventSource;
    if (current && current.isCjmHook) return true;
    create.inner = current || defaultFactory;
    htmx.createEventSource = create;
    return true;
  }
  function onSources(options) {
    if (options && options.factory) factory = options.factory;
    if (options && options.watch) watchers.push(options.watch);
    if (options && options.event) listeners.push(options.event);
    if (!hook() && self.document) document.addEventListener('DOMContentLoaded', hook);
  }
  // htmx 4's hx-sse parses the bytes of a `fetch` response. A stream shared between tabs reaches each tab as events the
  // browser's EventSource already parsed; this writes one back as the block that parses to it (its data never holds CR,
  // and its type and id never hold CR or LF, because a parser split them out). An empty `id` clears the id, as it did.
  function eventText(type, data, id) {
    var text = 'id: ' + (id || '') + '\n';
    if (type && type !== 'message') text += 'event: ' + type + '\n';
    return text + String(data).split('\n').map(function (line) { return 'data: ' + line + '\n'; }).join('') + '\n';
  }
  function onReady(fn) {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', fn);
    else fn();
  }
  // Every page script starts here: it calls the script's entry point with the settings its own <script> element carries
  // as JSON in `data-cjm-settings`, whether that element holds the code or loads it from a file. One code path, no inline
  // call, so a page can run under a `script-src 'self'` policy.
  function start(fn) {
    var tag = self.document && document.currentScript;
    var text = tag && tag.getAttribute('data-cjm-settings');
    if (!text) {
      console.error('cjm_fasthtml_sse: ' + fn.name + ' found no data-cjm-settings on its <script> element: add it with sse_hdrs() or the Python helper that makes it');
      return;
    }
    fn(JSON.parse(text));
  }
  function log(on, label, args) {
    if (on) console.log.apply(console, [label].concat(Array.prototype.slice.call(args)));
  }

  return {RESUME_PARAM: RESUME_PARAM, CONNECT: CONNECT, CONNECT4: CONNECT4, STREAMS: STREAMS, LISTENERS: LISTENERS,
          connectUrl: connectUrl, onReady: onReady, parseUrl: parseUrl, resumeKey: resumeKey,
          resumeFrom: resumeFrom, withResume: withResume, compareIds: compareIds, positions: positions, saw: saw,
          resumeUrl: resumeUrl, eventText: eventText, sourceOf: sourceOf, reopen: reopen, onSources: onSources, log: log,
          defaultFactory: defaultFactory, start: start};
})();
self.cjmSSE = cjmSSE;
