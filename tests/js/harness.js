// Load the package's browser scripts into a fresh fake page (a vm context) for `node --test`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const JS = path.join(__dirname, '..', '..', 'cjm_fasthtml_sse', 'js');

class FakeEventSource extends EventTarget {
  constructor(url, init) { super(); this.url = url; this.init = init; this.readyState = 0; FakeEventSource.made.push(this); }
  close() { this.readyState = 2; }
  emit(type, data, lastEventId) {
    const event = new Event(type);
    event.data = data;
    event.lastEventId = lastEventId || '';
    this.dispatchEvent(event);
  }
}
FakeEventSource.made = [];

class Elt extends EventTarget {
  constructor(attrs) { super(); this.attrs = attrs || {}; this.isConnected = true; }
  matches(selector) { return selector.split(',').some(s => this.attrs[s.replace(/^\[|\]$/g, '').replace(/\\/g, '')] !== undefined); }
  getAttribute(name) { return this.attrs[name] === undefined ? null : this.attrs[name]; }
  querySelectorAll() { return []; }
}

// A page at http://app.test/page: `elements` are what querySelectorAll finds for a selector that matches them.
function page(options) {
  options = options || {};
  const errors = [], reloads = [], timers = [], windowListeners = {};
  const storage = options.storage || new Map();
  const elements = options.elements || [];
  const document = new EventTarget();
  document.readyState = options.readyState || 'complete';
  document.body = new Elt({});
  document.body.contains = elt => elements.includes(elt) || elt === document.body;
  document.querySelectorAll = selector => elements.filter(e => e.matches(selector));
  const ctx = {
    console: {log() {}, warn() {}, error(...args) { errors.push(args.join(' ')); }},
    document, URL, Event, CustomEvent, EventTarget, JSON, Object, Array, Promise, String,
    EventSource: FakeEventSource, location: {href: 'http://app.test/page', origin: 'http://app.test', pathname: '/page', reload() { reloads.push(1); }},
    setTimeout(fn, ms) { timers.push({fn, ms}); return timers.length; }, clearTimeout() {}, setInterval() {},
    sessionStorage: {getItem(k) { return storage.has(k) ? storage.get(k) : null; }, setItem(k, v) { storage.set(k, String(v)); },
                     removeItem(k) { storage.delete(k); }},
    addEventListener(type, fn) { (windowListeners[type] = windowListeners[type] || []).push(fn); },
  };
  if (options.fetch) Object.assign(ctx, {fetch: options.fetch, AbortController});
  if (options.htmx !== false) ctx.htmx = options.htmx || {process() {}, trigger() {}};
  ctx.self = ctx.window = ctx;
  vm.createContext(ctx);
  return {
    ctx, document, errors, reloads, timers, elements, storage,
    load(...files) { files.forEach(f => vm.runInContext(fs.readFileSync(path.join(JS, f), 'utf8'), ctx, {filename: f})); return this; },
    run(code) { return vm.runInContext(code, ctx); },
    runTimers() { timers.splice(0).forEach(t => t.fn()); },
  };
}

module.exports = {page, FakeEventSource, Elt};
