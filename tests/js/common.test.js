// common.js: the page's position in each stream, and the one hook on htmx.createEventSource.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const {page, FakeEventSource} = require('./harness.js');

test('resumeUrl: a new source starts after the last id the page saw from that stream URL', () => {
  const p = page().load('common.js'), S = p.ctx.cjmSSE;
  assert.equal(S.resumeUrl('/s?channel=a'), '/s?channel=a');
  S.saw('/s?channel=a&last_event_id=3', '5');
  assert.equal(S.resumeUrl('/s?channel=a'), 'http://app.test/s?channel=a&last_event_id=5');
  assert.equal(S.resumeUrl('/s?channel=a&last_event_id=4'), 'http://app.test/s?channel=a&last_event_id=5');
  // a page part rendered later with a newer position keeps its own
  assert.equal(S.resumeUrl('/s?channel=a&last_event_id=9'), '/s?channel=a&last_event_id=9');
  // other streams are untouched
  assert.equal(S.resumeUrl('/s?channel=b'), '/s?channel=b');
  // after a reset the server's id wins, even when it went down (a restarted server)
  S.saw('/s?channel=a', '2', true);
  assert.equal(S.resumeUrl('/s?channel=a&last_event_id=9'), 'http://app.test/s?channel=a&last_event_id=2');
});

test('the hook rewrites the URL of every new source and tracks the ids of the events the page listens to', () => {
  const p = page({htmx: {}}).load('common.js'), S = p.ctx.cjmSSE;
  S.onSources();
  const create = p.ctx.htmx.createEventSource;
  assert.equal(typeof create, 'function');
  const first = create('/sse/broadcast?last_event_id=100');
  assert.equal(first.url, '/sse/broadcast?last_event_id=100');
  assert.equal(first.init.withCredentials, true);
  first.addEventListener('counter', () => {});
  first.emit('message', 'a', '101');
  first.emit('counter', 'b', '102');
  first.emit('unwatched', 'c', '103');  // nobody listens to it, so the page never saw it
  const second = create('/sse/broadcast?last_event_id=100');
  assert.equal(second.url, 'http://app.test/sse/broadcast?last_event_id=102');
  second.emit('reset', '{"reason": "gone", "last_event_id": "102"}', '90');
  assert.equal(create('/sse/broadcast').url, 'http://app.test/sse/broadcast?last_event_id=90');
});

test('one hook, whichever scripts load: a second copy of common.js and later registrations reuse it', () => {
  const p = page({htmx: {}}).load('common.js');
  p.ctx.cjmSSE.onSources();
  const hook = p.ctx.htmx.createEventSource;
  p.load('common.js');
  const made = [], watched = [];
  p.ctx.cjmSSE.onSources({factory: (url, inner) => { made.push(url); return inner(url); }, watch: (source, url) => watched.push(url)});
  assert.equal(p.ctx.htmx.createEventSource, hook);
  const source = hook('/x');
  assert.ok(source instanceof FakeEventSource);
  assert.deepEqual(made, ['/x']);
  assert.deepEqual(watched, ['/x']);
});

test('an extension loaded before the hook keeps its own factory underneath', () => {
  const own = [];
  const p = page({htmx: {createEventSource: url => { own.push(url); return new FakeEventSource(url); }}}).load('common.js');
  p.ctx.cjmSSE.onSources();
  p.ctx.htmx.createEventSource('/y');
  assert.deepEqual(own, ['/y']);
});

test('eventText: writes an event that a parser already split back as the block that parses to it', () => {
  const S = page().load('common.js').ctx.cjmSSE;
  assert.equal(S.eventText('message', '<p>a</p>\n<p>b</p>', '7'), 'id: 7\ndata: <p>a</p>\ndata: <p>b</p>\n\n');
  assert.equal(S.eventText('reset', '{"reason": "too_old"}', '9'), 'id: 9\nevent: reset\ndata: {"reason": "too_old"}\n\n');
  // empty data still dispatches (one empty data line); a trailing newline of the data survives as one more line
  assert.equal(S.eventText('message', '', '1'), 'id: 1\ndata: \n\n');
  assert.equal(S.eventText('message', 'x\n', '1'), 'id: 1\ndata: x\ndata: \n\n');
  // an empty id clears the id, as the original stream did; a leading space in data is kept (the parser strips one space)
  assert.equal(S.eventText('message', ' lead', ''), 'id: \ndata:  lead\n\n');
});
