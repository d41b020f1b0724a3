// cjm_fasthtml_sse: the shared worker. It runs the hub of hub.js behind `onconnect`; each tab sends `hello` on its port first.
(function () {
  'use strict';
  var hub = null, ports = Object.create(null), debug = false;
  function log() { cjmSSE.log(debug, '[SSE shared worker]', arguments); }
  function out(tabs, m) {
    tabs.forEach(function (tab) { if (ports[tab]) ports[tab].postMessage(m); });
  }
  function gone(tab) {
    delete ports[tab];
    if (hub) hub.tabGone(tab);
  }
  self.onconnect = function (event) {
    var port = event.ports[0];
    port.onmessage = function (e) {
      var m = e.data;
      if (!m || typeof m !== 'object') return;
      if (m.t === 'hello') {
        ports[m.tab] = port;
        if (!hub) {
          debug = !!m.debug;
          hub = new Hub(out, {bufferSize: m.bufferSize, log: log});
        }
        if (m.lock && self.navigator.locks) self.navigator.locks.request(m.lock, function () { gone(m.tab); });
        return;
      }
      if (!hub) return;
      if (m.t === 'bye') gone(m.tab);
      else hub.handle(m);
    };
  };
})();
