// cjm_fasthtml_sse: the hub that holds one EventSource per stream URL for all tabs, in the shared worker or in the leading tab.
function Hub(out, options) {
  'use strict';
  var withResume = cjmSSE.withResume, compareIds = cjmSSE.compareIds;
  var hub = this, streams = Object.create(null), tabCount = -1;
  var bufferSize = Math.max(1, options.bufferSize | 0) || 100;
  var log = options.log || function () {};
  var openAt = Date.now() + (options.collectMs || 0);
  function tabsOf(s) {
    var tabs = [];
    for (var sub in s.subs) if (tabs.indexOf(s.subs[sub]) < 0) tabs.push(s.subs[sub]);
    return tabs;
  }
  function emit(s, message) {
    var tabs = tabsOf(s);
    if (tabs.length) out(tabs, message);
  }
  function setState(s, state) {
    s.state = state;
    emit(s, {t: 'state', key: s.key, state: state});
  }
  function attach(s, es, type) {
    es.addEventListener(type, function (event) { if (s.es === es) receive(s, es, type, event); });
  }
  function listen(s, type) {
    if (s.types[type]) return;
    s.types[type] = true;
    if (s.es) attach(s, s.es, type);
    for (var sub in s.catching) catchUpOn(s, s.catching[sub], s.catching[sub].es, type);
  }
  function open(s) {
    s.timer = null;
    var es = new EventSource(withResume(s.key, s.lastId), {withCredentials: true});
    log('connecting to', s.key, s.lastId ? 'after event ' + s.lastId : '(live)');
    s.es = es;
    s.esLastId = '';
    s.state = 'connecting';
    for (var type in s.types) attach(s, es, type);
    es.onopen = function () {
      if (s.es !== es) return;
      s.delay = 0;
      setState(s, 'open');
    };
    es.onerror = function () {
      if (s.es !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        s.es = null;
        s.delay = Math.min(30000, s.delay ? 2 * s.delay : 500);
        log('connection to', s.key, 'failed; retrying in', s.delay, 'ms');
        s.timer = setTimeout(function () { open(s); }, s.delay);
      }
      setState(s, 'error');
    };
  }
  function schedule(s) {
    if (s.es || s.timer) return;
    var wait = openAt - Date.now();
    if (wait > 0) s.timer = setTimeout(function () { open(s); }, wait);
    else open(s);
  }
  function receive(s, es, type, event) {
    var id = event.lastEventId || '', fresh = id !== '' && id !== s.esLastId;
    var ev = {type: type, data: event.data, id: id, fresh: fresh};
    if (fresh) s.esLastId = s.lastId = id;
    s.seen = true;
    if (type === 'reset') {
      s.buffer = [];
      s.since = id || null;
    } else {
      s.buffer.push(ev);
      if (s.buffer.length > bufferSize) s.since = s.buffer.shift().id || null;
    }
    emit(s, {t: 'ev', key: s.key, ev: ev});
  }
  function missed(s, last) {
    var newest = compareIds(last, s.lastId);
    if (!s.lastId || newest === null || newest >= 0) return {events: []};
    for (var i = s.buffer.length - 1; i >= 0; i--) {
      var ev = s.buffer[i], c = compareIds(ev.id, last);
      if (ev.fresh && c !== null && c <= 0) return {events: s.buffer.slice(i + 1)};
    }
    var covered = s.since === null ? null : compareIds(last, s.since);
    if (covered !== null && covered >= 0) return {events: s.buffer.slice()};
    return {events: [], short: true};
  }
  // A tab that is further behind than the buffer reaches gets its own stream from the server's log, resuming after its
  // last id. Its events go to that subscription only, in order, and the tab ignores the shared stream meanwhile. Once the
  // buffer reaches back to the last event it got, the catch-up stream closes and the tab gets the buffered rest: from
  // there it follows the shared stream, with nothing lost and nothing twice (the tab drops ids it already has).
  function catchUpOn(s, c, es, type) {
    es.addEventListener(type, function (event) { if (c.es === es) caughtUp(s, c, type, event); });
  }
  function catchUp(s, sub, tab, last) {
    var c = s.catching[sub] = {sub: sub, tab: tab, lastId: last, esLastId: '', es: null, timer: null, delay: 0};
    function connect() {
      c.timer = null;
      var es = c.es = new EventSource(withResume(s.key, c.lastId), {withCredentials: true});
      c.esLastId = '';
      log('catching', sub, 'up on', s.key, 'from the server, after event', c.lastId);
      for (var type in s.types) catchUpOn(s, c, es, type);
      es.onopen = function () { if (c.es === es) c.delay = 0; };
      es.onerror = function () {
        if (c.es !== es || es.readyState !== EventSource.CLOSED) return;
        c.delay = Math.min(30000, c.delay ? 2 * c.delay : 500);
        c.timer = setTimeout(connect, c.delay);
      };
    }
    connect();
  }
  function endCatchUp(s, c) {
    if (c.es) c.es.close();
    if (c.timer) clearTimeout(c.timer);
    c.es = null;
    delete s.catching[c.sub];
  }
  function caughtUp(s, c, type, event) {
    var id = event.lastEventId || '', fresh = id !== '' && id !== c.esLastId;
    if (fresh) c.esLastId = c.lastId = id;
    out([c.tab], {t: 'ev', key: s.key, sub: c.sub, ev: {type: type, data: event.data, id: id, fresh: fresh}});
    var rest = fresh ? missed(s, c.lastId) : {short: true};
    if (rest.short) return;
    endCatchUp(s, c);
    log(c.sub, 'caught up on', s.key);
    out([c.tab], {t: 'caught', key: s.key, sub: c.sub, events: rest.events});
  }
  function subscribe(m) {
    var key = String(m.key), last = m.lastId ? String(m.lastId) : '', s = streams[key];
    if (!s) {
      s = streams[key] = {key: key, es: null, esLastId: '', lastId: last, since: last || null, buffer: [],
                          subs: Object.create(null), types: Object.create(null), state: 'connecting', delay: 0, timer: null, seen: false,
                          catching: Object.create(null)};
    }
    s.subs[m.sub] = m.tab;
    ['message', 'reset'].concat(m.types || []).forEach(function (type) { listen(s, String(type)); });
    var answer = {events: []};
    if (last && !s.seen) {
      var older = compareIds(last, s.lastId);
      if (!s.lastId || (older !== null && older < 0)) {
        s.lastId = s.since = last;
        if (s.es) { s.es.close(); s.es = null; s.state = 'connecting'; }
      }
    } else if (last) answer = missed(s, last);
    if (s.catching[m.sub]) endCatchUp(s, s.catching[m.sub]);
    if (answer.short) catchUp(s, m.sub, m.tab, last);
    out([m.tab], {t: 'ack', sub: m.sub, key: key, state: s.state, from: s.lastId, events: answer.events, catchUp: !!answer.short});
    schedule(s);
    shareTabs(m.tab);
  }
  function drop(s) {
    for (var sub in s.catching) endCatchUp(s, s.catching[sub]);
    if (s.es) s.es.close();
    if (s.timer) clearTimeout(s.timer);
    delete streams[s.key];
    log('closed', s.key, '(no tab wants it any more)');
  }
  function forget(test) {
    for (var key in streams) {
      var s = streams[key];
      for (var sub in s.subs) {
        if (!test(sub, s.subs[sub])) continue;
        delete s.subs[sub];
        if (s.catching[sub]) endCatchUp(s, s.catching[sub]);
      }
      if (!Object.keys(s.subs).length) drop(s);
    }
    shareTabs();
  }
  // Tell every tab how many tabs share the connections; a tab that just subscribed hears it even when the count is unchanged.
  function allTabs() {
    var tabs = [];
    for (var key in streams) tabsOf(streams[key]).forEach(function (tab) { if (tabs.indexOf(tab) < 0) tabs.push(tab); });
    return tabs;
  }
  function shareTabs(joined) {
    var tabs = allTabs();
    if (tabs.length !== tabCount) {
      tabCount = tabs.length;
      if (tabs.length) out(tabs, {t: 'tabs', count: tabs.length});
    } else if (joined) out([joined], {t: 'tabs', count: tabs.length});
  }
  hub.tabGone = function (tab) { forget(function (sub, owner) { return owner === tab; }); };
  hub.handle = function (m) {
    if (!m || typeof m !== 'object') return;
    if (m.t === 'sub') subscribe(m);
    else if (m.t === 'unsub') forget(function (sub) { return sub === m.sub; });
    else if (m.t === 'listen' && streams[m.key]) listen(streams[m.key], String(m.type));
    else if (m.t === 'bye') hub.tabGone(m.tab);
  };
  hub.streams = streams;
}
