// page.js: `reset` becomes a cancelable `sse:reset` that reloads unless handled; a missing extension is reported once.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const {page, Elt} = require('./harness.js');

const tick = () => new Promise(resolve => setImmediate(resolve));

function withStream(options) {
  const elt = new Elt({'sse-connect': '/sse/broadcast', 'hx-ext': 'sse'});
  const p = page(Object.assign({htmx: {}, elements: [elt]}, options)).load('common.js', 'page.js');
  p.run('cjmPage({extensionWaitMs: 50, debug: false})');
  const source = p.ctx.htmx.createEventSource('/sse/broadcast');
  elt['htmx-internal-data'] = {sseEventSource: source};
  return {p, elt, source};
}

test('reset: sse:reset on the element that opened the stream, with the server\'s fields, then a reload', () => {
  const {p, elt, source} = withStream();
  const seen = [];
  elt.addEventListener('sse:reset', e => seen.push({detail: e.detail, cancelable: e.cancelable, bubbles: e.bubbles}));
  source.emit('message', 'live', '40');
  source.emit('reset', '{"reason": "history_gone", "last_event_id": "5"}', '42');
  assert.equal(seen.length, 1);
  assert.deepEqual(JSON.parse(JSON.stringify(seen[0])), {
    detail: {reason: 'history_gone', last_event_id: '5', id: '42', url: '/sse/broadcast', stale: false}, cancelable: true, bubbles: true});
  assert.equal(p.reloads.length, 1);
  // the next source of that stream starts from the reset's id
  assert.equal(p.ctx.htmx.createEventSource('/sse/broadcast').url, 'http://app.test/sse/broadcast?last_event_id=42');
});

test('reset: a handler that calls preventDefault keeps the page', () => {
  const {p, elt, source} = withStream();
  elt.addEventListener('sse:reset', e => e.preventDefault());
  source.emit('reset', 'not json', '7');
  assert.equal(p.reloads.length, 0);
});

test('reset from htmx 4: the DOM event `reset` on an hx-sse:connect element', () => {
  const elt = new Elt({'hx-sse:connect': '/s'});
  const p = page({elements: [elt]}).load('common.js', 'page.js');
  p.run('cjmPage({extensionWaitMs: 50, debug: false})');
  const details = [];
  elt.addEventListener('sse:reset', e => details.push(e.detail));
  const event = new p.ctx.CustomEvent('reset', {bubbles: true, detail: {data: '{"reason": "r", "last_event_id": null}', id: '9'}});
  p.run('document').addEventListener('reset', () => {});
  // htmx dispatches on the element and it bubbles to document; the fake DOM has no tree, so deliver to document directly
  Object.defineProperty(event, 'target', {value: elt});
  p.document.dispatchEvent(event);
  assert.deepEqual(JSON.parse(JSON.stringify(details)), [{reason: 'r', last_event_id: null, id: '9', url: '/s', stale: true}]);
  assert.equal(p.reloads.length, 1, 'without fetch, a page whose first event is a reset reloads');
});

test('missing extension: one console.error naming the script and sse_hdrs', () => {
  const elt = new Elt({'sse-connect': '/sse/broadcast'});
  const p = page({htmx: {}, elements: [elt]}).load('common.js', 'page.js');
  p.run('cjmPage({extensionWaitMs: 50, debug: false})');
  p.runTimers();
  p.run('cjmPage({extensionWaitMs: 50, debug: false})');  // a second copy of the script changes nothing
  p.runTimers();
  assert.equal(p.errors.length, 1);
  assert.match(p.errors[0], /htmx-ext-sse, sse\.js/);
  assert.match(p.errors[0], /sse_hdrs/);
});

test('missing htmx, and htmx 4 without hx-sse.js, are reported too; a page whose stream opened is quiet', async () => {
  const noHtmx = page({htmx: false, elements: [new Elt({'sse-connect': '/s'})]}).load('common.js', 'page.js');
  noHtmx.run('cjmPage({extensionWaitMs: 50, debug: false})');
  noHtmx.runTimers();
  assert.equal(noHtmx.errors.length, 1);
  assert.match(noHtmx.errors[0], /htmx did not load/);

  const four = page({elements: [new Elt({'hx-sse:connect': '/s'})]}).load('common.js', 'page.js');
  four.run('cjmPage({extensionWaitMs: 50, debug: false})');
  four.runTimers();
  assert.equal(four.errors.length, 0);
  assert.equal(four.timers[0].ms, 50);
  four.runTimers();
  await tick();
  assert.equal(four.errors.length, 1);
  assert.match(four.errors[0], /hx-sse\.js/);

  const {p} = withStream();
  p.runTimers();
  assert.deepEqual(p.errors, []);
  const none = page({elements: []}).load('common.js', 'page.js');
  none.run('cjmPage({extensionWaitMs: 50, debug: false})');
  none.runTimers();
  assert.deepEqual(none.errors, []);
});

// A fake network for the page: `fetch` answers from `answers` (URL path -> {status, body}) and records every call.
function network(answers) {
  const calls = [];
  function fetch(url, init) {
    calls.push({url: String(url), init});
    const path = new URL(String(url), 'http://app.test/').pathname, a = answers[path] || {status: 200, body: ''};
    return Promise.resolve({ok: a.status >= 200 && a.status < 300, status: a.status, text: () => Promise.resolve(a.body)});
  }
  return {calls, fetch};
}
function parser(ctx) {
  ctx.DOMParser = class { parseFromString(html) { return {title: 'fresh', body: {innerHTML: html, querySelectorAll: () => []}}; } };
}

test('reset never loops: one recovery per backoff window, growing, remembered across reloads in sessionStorage', async () => {
  const storage = new Map(), net = network({'/page': {status: 200, body: '<p>fresh</p>'}});
  // 1. a page that was current falls behind: it reloads at once
  let {p, source} = withStream({storage, fetch: net.fetch});
  source.emit('message', 'a', '1');
  source.emit('reset', '{"reason": "too_old"}', '50');
  source.emit('reset', '{"reason": "too_old"}', '51');
  assert.equal(p.reloads.length, 1, 'one reload, however many resets');
  // 2. the reloaded page is stale on arrival (its first event is a reset): it waits out the window, then fetches fresh
  //    markup without the cache and swaps its body instead of reloading
  const waits = [];
  for (let round = 0; round < 4; round++) {
    ({p, source} = withStream({storage, fetch: net.fetch, htmx: {process() {}}}));
    parser(p.ctx);
    source.emit('reset', '{"reason": "unknown_id"}', '60');
    source.emit('reset', '{"reason": "unknown_id"}', '61');
    assert.equal(p.reloads.length, 0);
    const later = p.timers.filter(t => t.ms > 0);
    assert.equal(later.length, 1, 'one recovery scheduled, however many resets');
    waits.push(later[0].ms);
    const before = net.calls.length;
    p.runTimers();
    assert.equal(net.calls.length, before + 1);
    assert.equal(net.calls[before].init.cache, 'no-store');
    await tick();
    assert.equal(p.document.body.innerHTML, '<p>fresh</p>');
    assert.equal(source.readyState, 2, 'the stale stream was closed');
  }
  // each window doubles: about 1, 2, 4, 8 s
  waits.forEach((ms, i) => assert.ok(ms > 1000 * 2 ** i - 500 && ms <= 1000 * 2 ** i, JSON.stringify(waits)));
  // 3. a page that arrives up to date (its first event is not a reset) ends the backoff: the next reset reloads at once
  ({p, source} = withStream({storage, fetch: net.fetch}));
  source.emit('message', 'live', '70');
  assert.equal(storage.size, 0);
  source.emit('reset', '{"reason": "too_old"}', '80');
  assert.equal(p.reloads.length, 1);
});

test('the backoff is capped', () => {
  const storage = new Map([['cjm-sse:recover:/page', JSON.stringify({n: 30, at: Date.now()})]]);
  const {p, source} = withStream({storage});
  source.emit('reset', '{}', '1');
  const ms = p.timers.filter(t => t.ms > 0).map(t => t.ms);
  assert.ok(ms.length === 1 && ms[0] <= 60000 && ms[0] > 59000, String(ms));
});

test('a refused stream: fetched once to read the status, and the reason is logged', async () => {
  const net = network({'/sse/broadcast': {status: 400, body: "identify returned 'bob@example.com'\n"}});
  const {p, source} = withStream({fetch: net.fetch});
  source.readyState = 2;
  source.dispatchEvent(new Event('error'));
  source.dispatchEvent(new Event('error'));
  await tick();
  assert.equal(net.calls.length, 1, 'one fetch per URL');
  assert.equal(net.calls[0].init.signal.aborted, true, 'the fetch was aborted once read');
  assert.deepEqual(p.errors, ["cjm_fasthtml_sse: stream /sse/broadcast refused: 400 identify returned 'bob@example.com'"]);
  // a source that is only reconnecting (CONNECTING) is not probed; a stream that answers 200 logs nothing
  const ok = network({});
  const other = withStream({fetch: ok.fetch});
  other.source.readyState = 0;
  other.source.dispatchEvent(new Event('error'));
  other.source.readyState = 2;
  other.source.dispatchEvent(new Event('error'));
  await tick();
  assert.equal(ok.calls.length, 1);
  assert.deepEqual(other.p.errors, []);
});

test('fresh markup swapped in after a reset resumes from its own render position: it already shows the events before it', async () => {
  const net = network({'/page': {status: 200, body: '<p>fresh</p>'}});
  const {p, source} = withStream({fetch: net.fetch, htmx: {process() {}}});
  parser(p.ctx);
  source.emit('reset', '{"reason": "unknown_id"}', '60'); // stale on arrival: fetch fresh markup at once
  p.runTimers();
  await tick();
  await tick();
  assert.equal(p.document.body.innerHTML, '<p>fresh</p>');
  const after = s => new URL(s.url, 'http://app.test/').searchParams.get('last_event_id');
  // the fresh markup was rendered at 65, after the reset: its stream resumes there, not at 60 (61 to 65 would come twice)
  assert.equal(after(p.ctx.htmx.createEventSource('/sse/broadcast?last_event_id=65')), '65');
  // markup rendered with no position (the server could not tell) still resumes after the reset
  assert.equal(after(p.ctx.htmx.createEventSource('/sse/broadcast')), '60');
});
