// monitor.js: the status indicator watches every kind of stream element, through common.js's one selector (issue 20).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const {page, Elt} = require('./harness.js');

function monitor(elements) {
  const p = page({elements});
  const shown = new Elt({});
  shown.classList = {add() {}, remove() {}};
  shown.setAttribute = (name, value) => { shown.attrs[name] = value; };
  p.document.getElementById = () => shown;
  p.ctx.navigator = {onLine: true};
  p.load('common.js', 'monitor.js');
  const labels = {connecting: 'Connecting', connected: 'Connected', reconnecting: 'Reconnecting', offline: 'Offline'};
  p.run('cjmStatusMonitor')({elementId: 'sse-status', source: null, labels, classes: {}, checkInterval: 1000, offlineAfter: 10000, debug: false});
  return shown;
}

for (const attr of ['sse-connect', 'data-sse-connect', 'hx-sse:connect', 'data-hx-sse:connect']) {
  test(`an open stream on [${attr}] shows connected`, () => {
    const elt = new Elt({[attr]: '/sse/broadcast'});
    if (attr.includes('hx-sse')) elt._htmx = {sse: {reader: {}}};
    else elt['htmx-internal-data'] = {sseEventSource: {readyState: 1}};
    assert.equal(monitor([elt]).attrs['data-sse-status'], 'connected');
  });
}

test('a page without stream elements shows offline', () => {
  assert.equal(monitor([]).attrs['data-sse-status'], 'offline');
});
