// shared.js under htmx 4: hx-sse's `fetch` of an [hx-sse:connect] URL is answered from the tabs' shared hub (here the
// one tab leads, through fake Web Locks and BroadcastChannel), as a text/event-stream Response; other fetches pass through.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const {webcrypto} = require('node:crypto');
const {page, FakeEventSource, Elt} = require('./harness.js');

class FakeChannel { constructor(name) { this.name = name; this.onmessage = null; } postMessage() {} close() {} }
function fakeLocks() {
  const held = new Set();
  return {request(name, fn) {
    if (held.has(name)) return new Promise(() => {});
    held.add(name);
    return Promise.resolve().then(fn);
  }};
}
const tick = () => new Promise(resolve => setImmediate(resolve));

function tab(attrs, htmx) {
  const elt = new Elt(Object.assign({'hx-sse:connect': '/sse/broadcast?last_event_id=5'}, attrs || {}));
  const p = page({elements: [elt], htmx: htmx || {config: {}}});
  const passed = [];
  Object.assign(p.ctx, {navigator: {locks: fakeLocks()}, BroadcastChannel: FakeChannel, crypto: webcrypto, Response, Request,
                        ReadableStream, TextEncoder, DOMException, MessageEvent, Uint8Array,
                        fetch(input, init) { passed.push({input, init}); return Promise.resolve('network'); }});
  p.load('common.js', 'hub.js', 'shared.js');
  p.run("cjmSharedConnections({workerUrl: null, name: 'test', bufferSize: 100, debug: false})");
  FakeEventSource.made.length = 0;
  return {p, elt, passed, fetch: (url, init) => p.ctx.fetch(url, init)};
}
// Let the tab win the lock, subscribe and open the hub's EventSource; return that source, opened.
async function hubSource(t) {
  for (let i = 0; i < 5; i++) { await tick(); t.p.runTimers(); }
  assert.equal(FakeEventSource.made.length, 1, 'the hub opened one EventSource');
  const es = FakeEventSource.made[0];
  es.readyState = 1;
  es.onopen();
  return es;
}
async function readText(reader, frames) {
  const decoder = new TextDecoder();
  let text = '';
  for (let i = 0; i < frames; i++) text += decoder.decode((await reader.read()).value);
  return text;
}

test('streamRequest: a GET of a same-origin URL that an [hx-sse:connect] element names, whatever its last_event_id', () => {
  const {p} = tab({'data-sse-events': 'job, done'});
  const ask = (url, init) => JSON.parse(JSON.stringify(p.run('cjmSharedSSE.streamRequest')(url, init)));
  assert.deepEqual(ask('/sse/broadcast?last_event_id=5', {method: 'GET', headers: {}}),
                   {url: 'http://app.test/sse/broadcast?last_event_id=5', lastId: '5', types: ['message', 'reset', 'job', 'done']});
  // hx-sse's reconnect: the same URL with the Last-Event-ID header, which is newer than the URL's
  assert.equal(ask('http://app.test/sse/broadcast?last_event_id=5', {headers: {'Last-Event-ID': '8'}}).lastId, '8');
  for (const [url, init] of [['/sse/broadcast?last_event_id=5', {method: 'POST'}], ['/other', {}],
                             ['http://elsewhere.test/sse/broadcast', {}], ['/sse/broadcast?channel=x', {}]]) {
    assert.equal(p.run('cjmSharedSSE.streamRequest')(url, init), null, url);
  }
});

test('a stream fetch is answered from the hub: one EventSource, resuming after the page\'s id, its events as SSE text', async () => {
  const t = tab();
  const answer = t.fetch('/sse/broadcast?last_event_id=5', {method: 'GET', headers: {Accept: 'text/html, text/event-stream'}});
  const es = await hubSource(t);
  assert.equal(es.url, 'http://app.test/sse/broadcast?last_event_id=5');
  const response = await answer;
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/event-stream');
  const reader = response.body.getReader();
  es.emit('message', '<p>a</p>\n<p>b</p>', '6');
  es.emit('reset', '{"reason": "too_old"}', '7');
  assert.equal(await readText(reader, 2), 'id: 6\ndata: <p>a</p>\ndata: <p>b</p>\n\nid: 7\nevent: reset\ndata: {"reason": "too_old"}\n\n');
  // other requests go to the network untouched
  assert.equal(await t.fetch('/messages', {method: 'POST'}), 'network');
  assert.deepEqual(t.passed.map(r => r.input), ['/messages']);
});

test('hx-sse reconnecting with Last-Event-ID gets what it missed from the hub\'s buffer, on the same EventSource, nothing twice', async () => {
  const t = tab();
  const first = t.fetch('/sse/broadcast?last_event_id=5', {headers: {}});
  const other = t.fetch('/sse/broadcast?last_event_id=5', {headers: {}});  // another element (or tab) on the stream keeps it open
  const es = await hubSource(t);
  const reader = (await first).body.getReader();
  await other;
  for (const id of ['6', '7', '8']) es.emit('message', 'm' + id, id);
  assert.equal(await readText(reader, 3), 'id: 6\ndata: m6\n\nid: 7\ndata: m7\n\nid: 8\ndata: m8\n\n');
  await reader.cancel();  // what hx-sse does on a background pause or a reconnect
  const again = await t.fetch('/sse/broadcast?last_event_id=5', {headers: {'Last-Event-ID': '6'}});
  assert.equal(await readText(again.body.getReader(), 2), 'id: 7\ndata: m7\n\nid: 8\ndata: m8\n\n');
  assert.equal(FakeEventSource.made.length, 1, 'no second connection');
});

test('the last reader of a stream gone, a reconnect opens the hub\'s connection again after hx-sse\'s Last-Event-ID', async () => {
  const t = tab();
  const first = t.fetch('/sse/broadcast?last_event_id=5', {headers: {}});
  const es = await hubSource(t);
  const reader = (await first).body.getReader();
  es.emit('message', 'm6', '6');
  assert.equal(await readText(reader, 1), 'id: 6\ndata: m6\n\n');
  await reader.cancel();
  await tick();
  assert.equal(es.readyState, 2, 'no tab wants the stream: its connection is closed');
  t.fetch('/sse/broadcast?last_event_id=5', {headers: {'Last-Event-ID': '6'}});
  for (let i = 0; i < 5; i++) { await tick(); t.p.runTimers(); }
  assert.deepEqual(FakeEventSource.made.map(s => s.url), ['http://app.test/sse/broadcast?last_event_id=5', 'http://app.test/sse/broadcast?last_event_id=6']);
});

test('an aborted fetch rejects with AbortError, and the hub closes the EventSource no tab wants', async () => {
  const t = tab();
  const controller = new AbortController();
  const answer = t.fetch('/sse/broadcast?last_event_id=5', {signal: controller.signal});
  const es = await hubSource(t);
  const body = (await answer).body.getReader();
  controller.abort();
  await assert.rejects(body.read(), {name: 'AbortError'});
  await tick();
  assert.equal(es.readyState, 2);
  await assert.rejects(t.fetch('/sse/broadcast', {signal: AbortSignal.abort()}), {name: 'AbortError'});
});

test('a shared stream keeps a hidden tab on the share, unless the page set pauseOnBackground itself', async () => {
  const t = tab();
  t.fetch('/sse/broadcast?last_event_id=5', {});
  assert.equal(t.p.ctx.htmx.config.sse.pauseOnBackground, false);
  const own = tab({}, {config: {sse: {pauseOnBackground: true, reconnectDelay: 100}}});
  own.fetch('/sse/broadcast?last_event_id=5', {});
  assert.deepEqual({...own.p.ctx.htmx.config.sse}, {pauseOnBackground: true, reconnectDelay: 100});
  // a request that is not a stream changes nothing
  const plain = tab();
  await plain.fetch('/messages', {method: 'POST'});
  assert.equal(plain.p.ctx.htmx.config.sse, undefined);
});

test('the shared connection dropping fails the tab\'s stream, so hx-sse reports it and reconnects; that fetch waits for the hub', async () => {
  const t = tab();
  const first = t.fetch('/sse/broadcast?last_event_id=5', {});
  const es = await hubSource(t);
  const reader = (await first).body.getReader();
  es.readyState = 0;
  es.onerror();  // the browser lost the connection and is retrying it
  await assert.rejects(reader.read(), {name: 'TypeError', message: 'the shared event stream dropped'});
  let answered = false;
  const again = t.fetch('/sse/broadcast?last_event_id=5', {headers: {'Last-Event-ID': '5'}}).then(r => { answered = true; return r; });
  for (let i = 0; i < 5; i++) { await tick(); t.p.runTimers(); }
  assert.equal(answered, false, 'no answer while the connection is down');
  const es2 = FakeEventSource.made[FakeEventSource.made.length - 1];
  es2.readyState = 1;
  es2.onopen();
  es2.emit('message', 'back', '6');
  assert.equal(await readText((await again).body.getReader(), 1), 'id: 6\ndata: back\n\n');
});
