// hub.js: a tab further behind than the hub's buffer catches up from the server's log, not with a reset (issue 18).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const {webcrypto} = require('node:crypto');
const {page, FakeEventSource, Elt} = require('./harness.js');

const tick = () => new Promise(resolve => setImmediate(resolve));
const KEY = 'http://app.test/sse/broadcast';

// A hub with a buffer of `size` events in a fake page; `sent` holds every message it posts, with the tabs it posts to.
function hub(size) {
  const p = page().load('common.js', 'hub.js'), sent = [];
  FakeEventSource.made.length = 0;
  const h = p.run('(function (out) { return new Hub(out, {bufferSize: ' + size + '}); })')((tabs, m) => sent.push({tabs, m: JSON.parse(JSON.stringify(m))}));
  return {p, h, sent};
}
function open(es) { es.readyState = 1; es.onopen(); return es; }
const ids = from => Array.from({length: from[1] - from[0] + 1}, (_, i) => String(from[0] + i));

// The ids tab `tab`'s subscription `sub` would show, from the hub's messages: its own catch-up events until `caught`, then
// the shared stream's, dropping ids it already has (what SharedEventSource does).
function shown(sent, tab, sub) {
  let catching = false, last = '';
  const out = [];
  function take(ev) {
    if (ev.type === 'reset') { out.push('reset'); return; }
    if (last && BigInt(ev.id) <= BigInt(last)) return;
    last = ev.id;
    out.push(ev.id);
  }
  for (const {tabs, m} of sent) {
    if (!tabs.includes(tab)) continue;
    if (m.t === 'ack' && m.sub === sub) { catching = m.catchUp; if (m.reset) take(m.reset); m.events.forEach(take); }
    else if (m.t === 'ev' && m.sub === sub) take(m.ev);
    else if (m.t === 'ev' && !m.sub && !catching) take(m.ev);
    else if (m.t === 'caught' && m.sub === sub) { catching = false; m.events.forEach(take); }
  }
  return out;
}

test('a tab behind the buffer gets its own catch-up stream from the server, then joins the shared one: nothing lost or twice', () => {
  const {h, sent} = hub(3);
  h.handle({t: 'sub', tab: 'a', sub: 'a.1', key: KEY, lastId: '', types: []});
  const main = open(FakeEventSource.made[0]);
  for (const id of ids([1, 10])) main.emit('message', 'm' + id, id);
  // tab b rendered at event 2: the buffer (8, 9, 10) does not reach back that far
  h.handle({t: 'sub', tab: 'b', sub: 'b.1', key: KEY, lastId: '2', types: []});
  const ack = sent.find(s => s.m.t === 'ack' && s.m.sub === 'b.1').m;
  assert.equal(ack.catchUp, true);
  assert.equal(ack.reset, undefined, 'no reset: the server log can still serve it');
  assert.equal(FakeEventSource.made.length, 2);
  const own = open(FakeEventSource.made[1]);
  assert.equal(own.url, KEY + '?last_event_id=2');
  // the shared stream goes on while the catch-up stream replays the server's log
  main.emit('message', 'm11', '11');
  for (const id of ids([3, 7])) own.emit('message', 'm' + id, id);
  main.emit('message', 'm12', '12');
  own.emit('message', 'm8', '8');
  assert.equal(own.readyState, 1, 'still catching up: the buffer (10, 11, 12) does not reach back to 8');
  own.emit('message', 'm9', '9');
  assert.equal(own.readyState, 2, 'caught up at 9: the buffer holds everything after it, so its own stream is closed');
  main.emit('message', 'm13', '13');
  assert.deepEqual(shown(sent, 'b', 'b.1'), ids([3, 13]));
  assert.deepEqual(shown(sent, 'a', 'a.1'), ids([1, 13]));
});

test('catching up: a catch-up stream that runs ahead of the shared one joins at once, and the tab drops what it already has', () => {
  const {h, sent} = hub(2);
  h.handle({t: 'sub', tab: 'a', sub: 'a.1', key: KEY, lastId: '', types: ['counter']});
  const main = open(FakeEventSource.made[0]);
  for (const id of ids([1, 5])) main.emit('message', 'm' + id, id);
  h.handle({t: 'sub', tab: 'b', sub: 'b.1', key: KEY, lastId: '1', types: []});
  const own = open(FakeEventSource.made[1]);
  for (const id of ids([2, 5])) own.emit('message', 'm' + id, id);
  own.emit('counter', 'c6', '6');  // the named events the tabs listen to come through too
  assert.equal(own.readyState, 2);
  main.emit('counter', 'c6', '6');
  main.emit('message', 'm7', '7');
  assert.deepEqual(shown(sent, 'b', 'b.1'), ids([2, 7]));
});

test('catching up: the server\'s own reset passes through; a tab that leaves closes its catch-up stream', () => {
  const {h, sent} = hub(1);
  h.handle({t: 'sub', tab: 'a', sub: 'a.1', key: KEY, lastId: '', types: []});
  const main = open(FakeEventSource.made[0]);
  for (const id of ids([10, 12])) main.emit('message', 'm' + id, id);
  h.handle({t: 'sub', tab: 'b', sub: 'b.1', key: KEY, lastId: '1', types: []});
  const own = open(FakeEventSource.made[1]);
  own.emit('reset', '{"reason": "too_old"}', '12');
  assert.equal(own.readyState, 2);
  assert.deepEqual(shown(sent, 'b', 'b.1'), ['reset']);
  h.handle({t: 'sub', tab: 'c', sub: 'c.1', key: KEY, lastId: '3', types: []});
  const third = FakeEventSource.made[2];
  h.handle({t: 'unsub', tab: 'c', sub: 'c.1'});
  assert.equal(third.readyState, 2);
});

test('the tab side: a SharedEventSource that is behind the buffer shows every event once, in order, with no reset', async () => {
  class FakeChannel { constructor() { this.onmessage = null; } postMessage() {} close() {} }
  const held = new Set();
  const locks = {request(name, fn) { if (held.has(name)) return new Promise(() => {}); held.add(name); return Promise.resolve().then(fn); }};
  const p = page({elements: [], htmx: {config: {}}});
  Object.assign(p.ctx, {navigator: {locks}, BroadcastChannel: FakeChannel, crypto: webcrypto, MessageEvent, Uint8Array});
  p.load('common.js', 'hub.js', 'shared.js');
  p.run("cjmSharedConnections({workerUrl: null, name: 'test', bufferSize: 2, debug: false})");
  FakeEventSource.made.length = 0;
  const first = p.run("new cjmSharedSSE.SharedEventSource('/sse/broadcast')");
  for (let i = 0; i < 5; i++) { await tick(); p.runTimers(); }
  const main = open(FakeEventSource.made[0]);
  for (const id of ids([1, 6])) main.emit('message', 'm' + id, id);
  await tick();
  const got = [];
  const second = p.run("new cjmSharedSSE.SharedEventSource('/sse/broadcast?last_event_id=2')");
  second.addEventListener('message', e => got.push(e.lastEventId));
  second.addEventListener('reset', () => got.push('reset'));
  for (let i = 0; i < 5; i++) { await tick(); p.runTimers(); }
  const own = open(FakeEventSource.made[1]);
  main.emit('message', 'm7', '7');
  for (const id of ids([3, 6])) own.emit('message', 'm' + id, id);
  main.emit('message', 'm8', '8');
  await tick();
  assert.deepEqual(got, ids([3, 8]));
  assert.equal(first.readyState, 1);
});
