// cjm_fasthtml_sse: poll a JSON stats endpoint, fill `[data-sse-stats=KEY]` elements and dispatch `sse:stats`.
function cjmConnectionManager(config) {
  'use strict';
  var S = cjmSSE;
  var endpoint = config.endpoint;
  var interval = config.interval;
  var busy = false;
  function show(data) {
    document.dispatchEvent(new CustomEvent('sse:stats', {detail: data}));
    document.querySelectorAll('[data-sse-stats]').forEach(function (elt) {
      var key = elt.getAttribute('data-sse-stats');
      if (!data || typeof data !== 'object' || !Object.prototype.hasOwnProperty.call(data, key)) return;
      var value = data[key];
      elt.textContent = (value !== null && typeof value === 'object') ? JSON.stringify(value) : String(value);
    });
  }
  function update() {
    if (busy) return;
    busy = true;
    fetch(endpoint, {headers: {'Accept': 'application/json'}, credentials: 'same-origin'})
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status + ' from ' + endpoint);
        return response.json();
      })
      .then(show)
      .catch(function (error) { console.warn('[SSE stats]', error); })
      .then(function () { busy = false; });
  }
  S.onReady(update);
  setInterval(update, interval);
  ['htmx:sseOpen', 'htmx:sseError', 'htmx:sse:after:connection', 'htmx:sse:error'].forEach(function (name) {
    document.addEventListener(name, update);
  });
}
