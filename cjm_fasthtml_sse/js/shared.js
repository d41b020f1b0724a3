// cjm_fasthtml_sse: make all tabs of a browser share one EventSource per stream URL (SharedWorker, else a tab elected with
// Web Locks). Needs common.js and hub.js before it.
function cjmSharedConnections(config) {
  'use strict';
  if (window.cjmSharedSSE) return;
  var S = cjmSSE, resumeKey = S.resumeKey, resumeFrom = S.resumeFrom, compareIds = S.compareIds;
  function log() { S.log(config.debug, '[SSE shared]', arguments); }
  var bytes = crypto.getRandomValues(new Uint8Array(12));
  var tab = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  var prefix = 'cjm-sse:' + config.name + ':';
  var TO_HUB = {sub: true, unsub: true, listen: true, bye: true};
  var canLock = !!(navigator.locks && window.BroadcastChannel);
  var mode = (config.workerUrl && window.SharedWorker) ? 'worker' : (canLock ? 'locks' : 'none');
  var proxies = Object.create(null), count = 0, waiting = [], send = null, leading = false, started = false;
  function post(m) {
    if (!started) begin();
    if (send) send(m);
    else waiting.push(m);
  }
  function ready(fn) {
    send = fn;
    waiting.splice(0).forEach(fn);
  }

  // The stand-in EventSource: a real EventTarget (made with Reflect.construct, the ES5 way to subclass a built-in), fed by
  // the hub instead of a connection of its own.
  function SharedEventSource(url) {
    var me = Reflect.construct(EventTarget, [], SharedEventSource);
    me.url = new URL(url, location.href).href;
    me.withCredentials = true;
    me.readyState = 0;
    me.onopen = me.onmessage = me.onerror = null;
    me._key = resumeKey(me.url);
    me._lastId = resumeFrom(me.url);
    me._sub = tab + '.' + (++count);
    me._types = Object.create(null);
    me._types.message = me._types.reset = true;
    me._acked = false;
    me._catching = false;
    proxies[me._sub] = me;
    me._subscribe();
    return me;
  }
  SharedEventSource.prototype = Object.create(EventTarget.prototype, {constructor: {value: SharedEventSource, writable: true, configurable: true}});
  Object.setPrototypeOf(SharedEventSource, EventTarget);
  var proto = SharedEventSource.prototype;
  proto._subscribe = function () {
    this._acked = false;
    this._catching = false;
    post({t: 'sub', tab: tab, sub: this._sub, key: this._key, lastId: this._lastId, types: Object.keys(this._types)});
  };
  proto.addEventListener = function (type, listener, options) {
    EventTarget.prototype.addEventListener.call(this, type, listener, options);
    type = String(type);
    if (this._types[type] || this.readyState === 2) return;
    this._types[type] = true;
    post({t: 'listen', tab: tab, key: this._key, type: type});
  };
  proto.close = function () {
    if (this.readyState === 2) return;
    this.readyState = 2;
    delete proxies[this._sub];
    post({t: 'unsub', tab: tab, sub: this._sub});
  };
  proto._fire = function (type, init) {
    var event = init ? new MessageEvent(type, init) : new Event(type);
    this.dispatchEvent(event);
    var handler = this['on' + type];
    if (typeof handler === 'function') handler.call(this, event);
  };
  proto._ack = function (m) {
    if (this.readyState === 2) return;
    this._acked = true;
    this._catching = !!m.catchUp;
    if (!this._lastId && m.from && !m.catchUp) this._lastId = m.from;
    this._state(m.state);
    var me = this;
    if (m.reset) this._event(m.reset);
    (m.events || []).forEach(function (ev) { me._event(ev); });
  };
  proto._caught = function (m) {
    this._catching = false;
    var me = this;
    (m.events || []).forEach(function (ev) { me._event(ev); });
  };
  proto._state = function (state) {
    if (this.readyState === 2) return;
    if (state === 'open' && this.readyState !== 1) {
      this.readyState = 1;
      this._fire('open');
    } else if (state === 'error') {
      this.readyState = 0;
      this._fire('error');
    }
  };
  proto._event = function (ev) {
    if (!this._acked || this.readyState === 2) return;
    if (ev.fresh && this._lastId) {
      var c = compareIds(ev.id, this._lastId);
      if (c !== null && c <= 0) return;
    }
    if (ev.fresh) this._lastId = ev.id;
    this._fire(ev.type, {data: ev.data, lastEventId: ev.id, origin: location.origin});
  };
  ['CONNECTING', 'OPEN', 'CLOSED'].forEach(function (name, i) {
    SharedEventSource[name] = i;
    SharedEventSource.prototype[name] = i;
  });

  function deliver(m) {
    if (!m || typeof m !== 'object') return;
    var sub;
    if (m.t === 'ack') {
      if (proxies[m.sub]) proxies[m.sub]._ack(m);
    } else if (m.t === 'ev' && m.sub) {
      if (proxies[m.sub]) proxies[m.sub]._event(m.ev);
    } else if (m.t === 'ev') {
      for (sub in proxies) if (proxies[sub] && proxies[sub]._key === m.key && !proxies[sub]._catching) proxies[sub]._event(m.ev);
    } else if (m.t === 'caught') {
      if (proxies[m.sub]) proxies[m.sub]._caught(m);
    } else if (m.t === 'state') {
      for (sub in proxies) if (proxies[sub] && proxies[sub]._key === m.key) proxies[sub]._state(m.state);
    } else if (m.t === 'tabs') showTabs(m.count);
    else if (m.t === 'leader' && m.tab !== tab) resubscribe();
  }
  // `[data-sse-shared-tabs]` elements show how many of this browser's tabs share the connections.
  var tabsSharing = null;
  function showTabs(count) {
    if (typeof count === 'number') tabsSharing = count;
    if (tabsSharing === null) return;
    document.querySelectorAll('[data-sse-shared-tabs]').forEach(function (elt) {
      if (elt.textContent !== String(tabsSharing)) elt.textContent = String(tabsSharing);
    });
  }
  document.addEventListener('htmx:load', function () { showTabs(); });
  document.addEventListener('htmx:after:process', function () { showTabs(); });
  function resubscribe() {
    for (var sub in proxies) proxies[sub]._subscribe();
  }

  function startLocks() {
    mode = 'locks';
    var channel = new BroadcastChannel(prefix + 'relay'), hub = null, watched = Object.create(null);
    function watch(other) {
      if (!other || other === tab || watched[other]) return;
      watched[other] = true;
      navigator.locks.request(prefix + 'tab:' + other, function () {
        delete watched[other];
        if (hub) hub.tabGone(other);
      });
    }
    channel.onmessage = function (event) {
      var m = event.data;
      if (!m || typeof m !== 'object') return;
      if (TO_HUB[m.t]) {
        if (hub) { watch(m.tab); hub.handle(m); }
      } else deliver(m);
    };
    ready(function (m) {
      if (!hub) channel.postMessage(m);
      else Promise.resolve().then(function () { hub.handle(m); });
    });
    navigator.locks.request(prefix + 'leader', function () {
      leading = true;
      hub = new Hub(function (tabs, m) {
        channel.postMessage(m);
        if (tabs.indexOf(tab) >= 0) deliver(m);
      }, {bufferSize: config.bufferSize, collectMs: 100, log: log});
      log('this tab holds the connections now');
      channel.postMessage({t: 'leader', tab: tab});
      resubscribe();
      return new Promise(function () {});
    });
  }
  function fallBack() {
    send = null;
    if (canLock) {
      startLocks();
      resubscribe();
      return;
    }
    mode = 'none';
    showTabs(1);
    for (var sub in proxies) {
      var proxy = proxies[sub];
      delete proxies[sub];
      proxy.readyState = 2;
      proxy._fire('error');
    }
  }
  function startWorker() {
    var worker;
    try { worker = new SharedWorker(config.workerUrl, {name: prefix + 'worker'}); }
    catch (error) { log('no shared worker:', error); return fallBack(); }
    var failed = false;
    worker.addEventListener('error', function (error) {
      if (failed) return;
      failed = true;
      log('the shared worker failed; electing a tab instead', error);
      worker.port.close();
      fallBack();
    });
    worker.port.onmessage = function (event) { deliver(event.data); };
    worker.port.postMessage({t: 'hello', tab: tab, lock: navigator.locks ? prefix + 'tab:' + tab : '',
                             bufferSize: config.bufferSize, debug: config.debug});
    ready(function (m) { if (!failed) worker.port.postMessage(m); });
  }
  function start() {
    if (mode === 'worker') startWorker();
    else if (mode === 'locks') startLocks();
  }
  function begin() {
    started = true;
    if (navigator.locks) navigator.locks.request(prefix + 'tab:' + tab, function () { start(); return new Promise(function () {}); });
    else start();
  }
  window.addEventListener('pagehide', function () { if (started && mode !== 'none') post({t: 'bye', tab: tab}); });
  window.addEventListener('pageshow', function (event) { if (event.persisted && started && mode !== 'none') resubscribe(); });

  // htmx 4: hx-sse reads its stream with `fetch` (htmx's `ctx.fetch`, which is `window.fetch` unless set, and `window.fetch`
  // again on its reconnects). A GET of a same-origin URL that an `[hx-sse:connect]` element of the page names gets, instead,
  // a text/event-stream Response fed by a SharedEventSource: the same hub, buffer and resume as for htmx 2.
  function headerOf(headers, name) {
    if (!headers) return null;
    if (typeof headers.get === 'function') return headers.get(name);
    for (var key in headers) if (key.toLowerCase() === name) return headers[key];
    return null;
  }
  // The stream that a fetch asks for, or null: its URL, the id to resume after, and the event types to relay.
  function streamRequest(input, init) {
    if (mode === 'none' || !self.document) return null;
    var request = typeof Request !== 'undefined' && input instanceof Request ? input : null;
    var method = String((init && init.method) || (request && request.method) || 'GET').toUpperCase();
    var url = new URL(request ? request.url : String(input), location.href);
    if (method !== 'GET' || url.origin !== location.origin) return null;
    var key = resumeKey(url.href), elts = document.querySelectorAll(S.CONNECT4);
    for (var i = 0; i < elts.length; i++) {
      var connect = S.connectUrl(elts[i]);
      if (!connect || resumeKey(connect) !== key) continue;
      var named = String(elts[i].getAttribute('data-sse-events') || '').split(/[\s,]+/).filter(Boolean);
      var last = headerOf((init && init.headers) || (request && request.headers), 'last-event-id');
      return {url: url.href, lastId: last || resumeFrom(url.href), types: ['message', 'reset'].concat(named)};
    }
    return null;
  }
  function streamResponse(stream, signal, fallback) {
    return new Promise(function (resolve, reject) {
      var source = new SharedEventSource(S.withResume(stream.url, stream.lastId)), body = null, done = false, opened = false;
      var encoder = new TextEncoder();
      function finish() {
        if (done) return;
        done = true;
        source.close();
        if (signal) signal.removeEventListener('abort', aborted);
      }
      function aborted() {
        var error = new DOMException('the shared event stream was aborted', 'AbortError');
        finish();
        if (opened) try { body.error(error); } catch (e) { /* already closed */ }
        reject(error);
      }
      if (signal && signal.aborted) return aborted();
      if (signal) signal.addEventListener('abort', aborted);
      var stream_ = new ReadableStream({start: function (controller) { body = controller; }, cancel: finish});
      function relay(event) { if (!done) body.enqueue(encoder.encode(S.eventText(event.type, event.data, event.lastEventId))); }
      stream.types.forEach(function (type) { source.addEventListener(type, relay); });
      source.addEventListener('open', function () {
        if (opened) return;
        opened = true;
        resolve(new Response(stream_, {status: 200, headers: {'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store'}}));
      });
      // The shared connection dropped (the hub retries it): fail this tab's stream as the network would, so that hx-sse
      // reports it (`htmx:sse:error`) and reconnects with Last-Event-ID; that fetch waits until the connection is back.
      // A stream not yet open just keeps waiting. Sharing failed for good (no worker, no Web Locks): use the network.
      source.addEventListener('error', function () {
        if (done || (source.readyState !== 2 && !opened)) return;
        finish();
        if (!opened) resolve(fallback());
        else body.error(new TypeError('the shared event stream dropped'));
      });
    });
  }
  // hx-sse pauses a hidden tab's stream by default, to free the server. A shared stream costs the server nothing per tab,
  // and a paused tab would leave the share and catch up later: keep it on, unless the page set `pauseOnBackground` itself.
  function stayInBackground() {
    if (!self.htmx || !htmx.config) return;
    var sse = htmx.config.sse = htmx.config.sse || {};
    if (!('pauseOnBackground' in sse)) sse.pauseOnBackground = false;
  }
  if (self.fetch && !self.fetch.isCjmShared) {
    var realFetch = self.fetch;
    var sharedFetch = function (input, init) {
      var stream = streamRequest(input, init), self_ = this, args = arguments;
      if (!stream) return realFetch.apply(this, args);
      log('sharing the htmx 4 stream', stream.url, stream.lastId ? 'after event ' + stream.lastId : '(live)');
      stayInBackground();
      return streamResponse(stream, init && init.signal, function () { return realFetch.apply(self_, args); });
    };
    sharedFetch.isCjmShared = true;
    self.fetch = sharedFetch;
  }

  S.onSources({factory: function (url, inner) {
    var target = new URL(url, location.href);
    if (mode === 'none' || target.origin !== location.origin) return inner(url);
    return new SharedEventSource(target.href);
  }});
  if (mode === 'none') showTabs(1);
  window.cjmSharedSSE = {
    tab: tab,
    get mode() { return mode; },
    get leading() { return leading; },
    get tabs() { return tabsSharing; },
    SharedEventSource: SharedEventSource,
    streamRequest: streamRequest
  };
}
