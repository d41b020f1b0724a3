// page.js: `reset` becomes a cancelable `sse:reset` that reloads unless handled; a missing extension is reported once.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const {page, Elt} = require('./harness.js');

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
  source.emit('reset', '{"reason": "history_gone", "last_event_id": "5"}', '42');
  assert.equal(seen.length, 1);
  assert.deepEqual(JSON.parse(JSON.stringify(seen[0])), {
    detail: {reason: 'history_gone', last_event_id: '5', id: '42', url: '/sse/broadcast'}, cancelable: true, bubbles: true});
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
  assert.deepEqual(JSON.parse(JSON.stringify(details)), [{reason: 'r', last_event_id: null, id: '9', url: '/s'}]);
  assert.equal(p.reloads.length, 1);
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

test('missing htmx, and htmx 4 without hx-sse.js, are reported too; a page whose stream opened is quiet', () => {
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
