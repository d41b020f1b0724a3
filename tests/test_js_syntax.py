"The browser scripts of `cjm_fasthtml_sse.core.connections`: every shipped .js file and every helper's Script is valid JavaScript, with default and awkward arguments."
import json, subprocess, pytest
from pathlib import Path
import cjm_fasthtml_sse
from helpers import require_program
from cjm_fasthtml_sse.core.connections import (cleanup_sse_on_unload, create_reconnection_script,
                                                create_connection_manager_script, create_shared_connection_script, shared_worker_js,
                                                create_status_monitor_script, StatusMonitorConfig, STATUS_STATES, sse_page_script, sse_hdrs)

HOSTILE = "/x'; alert(1); //</script><script>alert(\"2\")</script>\\ \n\u2028\u2029 ${x} `tick` \U0001F600"

SCRIPTS = {
    'cleanup': lambda: cleanup_sse_on_unload(),
    'reconnect-default': lambda: create_reconnection_script(),
    'reconnect-awkward': lambda: create_reconnection_script(check_interval=1, max_retries=10**12, debug=True),
    'manager-default': lambda: create_connection_manager_script(),
    'manager-hostile': lambda: create_connection_manager_script(HOSTILE, update_interval=2**53 + 1),
    'manager-unicode': lambda: create_connection_manager_script('/stats?q=é&r=<b>', 1),
    'shared-default': lambda: create_shared_connection_script(),
    'shared-worker': lambda: create_shared_connection_script('/sse/shared-worker.js', 'app.v2-x', buffer_size=10**9, debug=True),
    'shared-hostile': lambda: create_shared_connection_script(HOSTILE, 'n', 1),
    'page-default': lambda: sse_page_script(),
    'page-awkward': lambda: sse_page_script(extension_wait=2**53 + 1, debug=True),
    'hdrs-page': lambda: sse_hdrs(include_htmx=False, js=None)[-1],
    'hdrs-helpers': lambda: sse_hdrs(include_htmx=False, js=None, helpers=(create_status_monitor_script(), cleanup_sse_on_unload(),
                                     create_reconnection_script(), create_connection_manager_script(), create_shared_connection_script()))[-1],
    'monitor-default': lambda: create_status_monitor_script(),
    'monitor-hostile': lambda: create_status_monitor_script(StatusMonitorConfig(
        HOSTILE, source=HOSTILE, labels={s: HOSTILE for s in STATUS_STATES}, classes={'offline': HOSTILE},
        check_interval=2**53 + 1, offline_after=1, debug=True)),
}

def js_of(script):
    "The JavaScript text of a FastHTML `Script`, read from its children (not from rendered HTML)."
    return ''.join(str(c) for c in script.children)

def current_script(script):
    "JS that makes `document.currentScript` the element `script` renders to, as far as `cjmSSE.start` reads it: its `data-cjm-settings`."
    return f"\ndocument.currentScript = {{getAttribute: function (n) {{ return n === 'data-cjm-settings' ? {json.dumps(script.attrs['data-cjm-settings'])} : null; }}}};\n"

@pytest.fixture(scope='module')
def node(): return require_program('node', 'apt-get install nodejs')

def run_node(node, args, tmp_path, source, name='script.js'):
    path = tmp_path / name
    path.write_text(source, encoding='utf-8')
    return subprocess.run([node, *args, str(path)], capture_output=True, text=True, timeout=60)

@pytest.mark.parametrize('name', SCRIPTS)
def test_node_check(node, tmp_path, name):
    js = js_of(SCRIPTS[name]())
    assert '</' not in js, "the script text must not be able to end its <script> element"
    r = run_node(node, ['--check'], tmp_path, js)
    assert r.returncode == 0, r.stderr

JS_DIR = Path(cjm_fasthtml_sse.__file__).parent / 'js'
JS_FILES = sorted(p.name for p in JS_DIR.glob('*.js'))

def test_js_files_exist():
    "The package ships its JavaScript as files, one per script plus the shared pieces."
    assert {'common.js', 'hub.js', 'page.js', 'shared.js', 'worker.js', 'reconnect.js', 'cleanup.js', 'manager.js', 'monitor.js'} <= set(JS_FILES)

@pytest.mark.parametrize('name', JS_FILES)
def test_node_check_file(node, name):
    "Each shipped .js file is valid JavaScript on its own, and can't end a <script> element."
    assert '</' not in (JS_DIR / name).read_text(encoding='utf-8')
    r = subprocess.run([node, '--check', str(JS_DIR / name)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr

def test_node_check_shared_worker(node, tmp_path):
    "The shared worker's source (served as a file, not embedded in a page) is valid JavaScript too."
    r = run_node(node, ['--check'], tmp_path, shared_worker_js(), 'worker.js')
    assert r.returncode == 0, r.stderr

def test_node_check_catches_errors(node, tmp_path):
    "The check itself can fail: a broken script is rejected."
    r = run_node(node, ['--check'], tmp_path, js_of(cleanup_sse_on_unload()) + '\n})(')
    assert r.returncode != 0

def test_hostile_endpoint_is_one_string(node, tmp_path):
    "Run the manager script against a fake page in node: `fetch` receives the endpoint exactly as given in Python."
    script = create_connection_manager_script(HOSTILE, 50)
    js = current_script(script) + js_of(script)
    harness = """
var fetched = [];
globalThis.window = globalThis.self = globalThis;
globalThis.document = {readyState: 'complete', addEventListener() {}, dispatchEvent() {}, querySelectorAll() { return []; }};
globalThis.setInterval = function () {};
globalThis.fetch = function (url) { fetched.push(url); return new Promise(function () {}); };
globalThis.alert = function () { throw new Error('alert was called'); };
""" + js + "\nprocess.stdout.write(JSON.stringify(fetched));\n"
    r = run_node(node, [], tmp_path, harness)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [HOSTILE]

def test_reconnect_leaves_extension_sources_alone(node, tmp_path):
    "On a fake page: only CLOSED sources that the extension neither retries nor closed on purpose are reopened, up to max_retries."
    script = create_reconnection_script(check_interval=10, max_retries=2)
    js = current_script(script) + js_of(script)
    harness = """
var listeners = {}, processed = [], tick;
globalThis.window = globalThis.self = globalThis;
globalThis.addEventListener = function () {};
globalThis.EventSource = {CONNECTING: 0, OPEN: 1, CLOSED: 2};
function El(name, state) {
  this.name = name;
  this['htmx-internal-data'] = {initHash: 1, sseEventSource: {readyState: state}};
}
El.prototype.querySelectorAll = function () { return []; };
El.prototype.closest = function () { return this; };
var els = {closedByOthers: new El('closedByOthers', 2), retrying: new El('retrying', 2),
           closedOnPurpose: new El('closedOnPurpose', 2), open: new El('open', 1)};
globalThis.document = {
  body: {contains: function () { return true; }},
  addEventListener: function (type, fn) { (listeners[type] = listeners[type] || []).push(fn); },
  querySelectorAll: function () { return Object.keys(els).map(function (k) { return els[k]; }); }
};
globalThis.htmx = {process: function (elt) { processed.push(elt.name); }};
globalThis.setInterval = function (fn) { tick = fn; };
""" + js + """
function fire(type, target) {
  listeners[type].forEach(function (fn) { fn({target: target, detail: {source: target['htmx-internal-data'].sseEventSource}}); });
}
fire('htmx:sseError', els.retrying);
fire('htmx:sseClose', els.closedOnPurpose);
var hashGone = [];
tick(); hashGone.push(!('initHash' in els.closedByOthers['htmx-internal-data']));
tick(); tick(); tick();
var beforeOpen = processed.slice();
fire('htmx:sseOpen', els.closedByOthers);
tick();
process.stdout.write(JSON.stringify({beforeOpen: beforeOpen, after: processed, hashGone: hashGone}));
"""
    r = run_node(node, [], tmp_path, harness)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out == {'beforeOpen': ['closedByOthers'] * 2, 'after': ['closedByOthers'] * 3, 'hashGone': [True]}


# A worker-like global scope for the shared worker's source: a fake EventSource and timers that run when told to.
WORKER_SCOPE = """
var timers = [], instances = [];
globalThis.self = globalThis;
self.location = {href: 'http://app.test/page'};
globalThis.setTimeout = function (fn, ms) { timers.push({fn: fn, ms: ms}); return timers.length; };
globalThis.clearTimeout = function () {};
class FakeEventSource {
  constructor(url) { this.url = url; this.readyState = 0; this.listeners = {}; instances.push(this); }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  close() { this.readyState = 2; this.closed = true; }
  emit(type, data, lastEventId) { (this.listeners[type] || []).forEach(function (fn) { fn({data: data, lastEventId: lastEventId}); }); }
}
FakeEventSource.CLOSED = 2;
globalThis.EventSource = FakeEventSource;
function port(tab) {
  var p = {got: [], postMessage: function (m) { p.got.push(JSON.parse(JSON.stringify(m))); }};
  self.onconnect({ports: [p]});
  p.send = function (m) { p.onmessage({data: m}); };
  p.send({t: 'hello', tab: tab, bufferSize: 3});
  return p;
}
"""

def test_id_helpers_in_node(node, tmp_path):
    "compareIds orders decimal ids of any length like numbers and refuses anything else; the URL helpers keep other parameters."
    cases = [('9', '10'), ('10', '9'), ('1730000000000001', '1730000000000000'), ('99999999999999999999', '100000000000000000000'),
             ('007', '7'), ('0', '0'), ('12', '12'), ('', '1'), ('1', 'a'), ('-1', '1'), ('1.5', '1'), (' 1', '1')]
    harness = WORKER_SCOPE + shared_worker_js() + """
var compareIds = cjmSSE.compareIds, resumeKey = cjmSSE.resumeKey, resumeFrom = cjmSSE.resumeFrom, withResume = cjmSSE.withResume;
var cases = JSON.parse(process.argv[2]);
process.stdout.write(JSON.stringify({
  compare: cases.map(function (c) { return compareIds(c[0], c[1]); }),
  key: resumeKey('/sse/broadcast?channel=a&last_event_id=5&channel=b#x'),
  from: [resumeFrom('/s?last_event_id=17'), resumeFrom('/s')],
  with: [withResume('/s?channel=a', '42'), withResume('http://app.test/s?last_event_id=1&x=y', '2'), withResume('/s?last_event_id=3', '')]
}));
"""
    path = tmp_path / 'ids.js'
    path.write_text(harness, encoding='utf-8')
    r = subprocess.run([node, str(path), json.dumps(cases)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    def py_compare(a, b):
        if not (a.isascii() and a.isdigit() and b.isascii() and b.isdigit()): return None
        return (int(a) > int(b)) - (int(a) < int(b))
    assert out['compare'] == [py_compare(a, b) for a, b in cases]
    assert out['key'] == 'http://app.test/sse/broadcast?channel=a&channel=b'
    assert out['from'] == ['17', '']
    assert out['with'] == ['http://app.test/s?channel=a&last_event_id=42', 'http://app.test/s?last_event_id=2&x=y', 'http://app.test/s']

def test_hub_replays_resets_and_resumes_in_node(node, tmp_path):
    "The hub of the shared worker, driven through fake ports: what a late tab is sent, when it gets a reset, and how streams reopen."
    harness = WORKER_SCOPE + shared_worker_js() + """
var key = 'http://app.test/sse/broadcast', result = {};
var A = port('A'), B = port('B'), C = port('C'), D = port('D');
A.send({t: 'sub', tab: 'A', sub: 'A.1', key: key, lastId: '100', types: ['custom']});
var first = instances[0];
result.firstUrl = first.url;
first.onopen();
first.emit('message', 'm101', '101');
first.emit('message', 'm102', '102');
first.emit('message', 'no id of its own', '102');
first.emit('custom', 'c103', '103');
first.emit('ignored', 'nobody listens', '104');
B.send({t: 'sub', tab: 'B', sub: 'B.1', key: key, lastId: '101'});
C.send({t: 'sub', tab: 'C', sub: 'C.1', key: key, lastId: '50'});
D.send({t: 'sub', tab: 'D', sub: 'D.1', key: key, lastId: ''});
function noTabs(p) { return p.got.filter(function (m) { return m.t !== 'tabs'; }); }
function tabCounts(p) { return p.got.filter(function (m) { return m.t === 'tabs'; }).map(function (m) { return m.count; }); }
result.A = noTabs(A).map(function (m) { return m.t === 'ev' ? [m.ev.type, m.ev.id, m.ev.fresh] : [m.t, m.state]; });
result.tabsA = tabCounts(A);
result.acks = [B, C, D].map(function (p) { var a = noTabs(p)[noTabs(p).length - 1]; return {t: a.t, state: a.state, from: a.from, events: a.events.map(function (e) { return e.id + ':' + e.data; }), catchUp: a.catchUp}; });
result.catchUpUrl = instances[1].url;
first.readyState = 2;
first.onerror();
result.retryIn = timers[timers.length - 1].ms;
result.beforeRetry = instances.length;
timers[timers.length - 1].fn();
result.reopenedUrl = instances[2].url;
A.send({t: 'unsub', tab: 'A', sub: 'A.1'});
B.send({t: 'bye', tab: 'B'});
result.catchUpOpen = !instances[1].closed;
C.send({t: 'unsub', tab: 'C', sub: 'C.1'});
result.catchUpClosed = !!instances[1].closed;
result.openWhileWanted = !instances[2].closed;
result.tabsD = tabCounts(D);
D.send({t: 'unsub', tab: 'D', sub: 'D.1'});
result.closedWhenUnwanted = !!instances[2].closed;
var key2 = key + '?channel=x';
A.send({t: 'sub', tab: 'A', sub: 'A.2', key: key2, lastId: '200'});
B.send({t: 'sub', tab: 'B', sub: 'B.2', key: key2, lastId: '150'});
result.rewind = [instances[3].url, !!instances[3].closed, instances[4].url];
process.stdout.write(JSON.stringify(result));
"""
    path = tmp_path / 'hub.js'
    path.write_text(harness, encoding='utf-8')
    r = subprocess.run([node, str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out['firstUrl'] == 'http://app.test/sse/broadcast?last_event_id=100'
    # Tab A gets the ack, the open state, and every event of the types someone listens to; an event without an id of its own isn't fresh.
    assert out['A'] == [['ack', 'connecting'], ['state', 'open'], ['message', '101', True], ['message', '102', True],
                        ['message', '102', False], ['custom', '103', True]]
    b, c, d = out['acks']
    # The buffer holds 3 events, so it covers everything after 101: B gets what it missed, oldest first.
    assert b == {'t': 'ack', 'state': 'open', 'from': '103', 'events': ['102:m102', '102:no id of its own', '103:c103'], 'catchUp': False}
    # C asks for events after 50, which the buffer no longer reaches: no reset, but a catch-up stream of its own from the
    # server's log, after 50, open while C wants it (tests/js/hub.test.js follows one to its end).
    assert c['events'] == [] and c['catchUp'] is True
    assert out['catchUpUrl'] == 'http://app.test/sse/broadcast?last_event_id=50'
    assert out['catchUpOpen'] and out['catchUpClosed']
    # D has no id: live events only, and it learns where the stream is.
    assert d == {'t': 'ack', 'state': 'open', 'from': '103', 'events': [], 'catchUp': False}
    # A source the browser gave up on is reopened after 0.5 s, resuming after the last id the hub saw.
    assert (out['retryIn'], out['beforeRetry'], out['reopenedUrl']) == (500, 2, 'http://app.test/sse/broadcast?last_event_id=103')
    assert out['openWhileWanted'] and out['closedWhenUnwanted']
    # Every tab hears how many tabs share the connections: A saw the count grow to 4; D saw it grow, then shrink as A, B and C left.
    assert out['tabsA'] == [1, 2, 3, 4]
    assert out['tabsD'] == [4, 3, 2, 1]
    # Before any event arrived, a subscriber with an older id makes the hub start again from that id.
    assert out['rewind'] == ['http://app.test/sse/broadcast?channel=x&last_event_id=200', True,
                             'http://app.test/sse/broadcast?channel=x&last_event_id=150']


# A page for the status monitor: stream elements of htmx 2 (an EventSource at htmx-internal-data) and of htmx 4 (_htmx.sse),
# document events that can be fired by hand, and a clock and interval timer the test moves.
MONITOR_PAGE = """
var listeners = {}, tick = null, now = 1000, statuses = [];
globalThis.window = globalThis.self = globalThis;
globalThis.addEventListener = function () {};
Date.now = function () { return now; };
globalThis.navigator = {onLine: true};
globalThis.CustomEvent = function (type, init) { this.type = type; this.detail = init.detail; };
function classList() {
  var set = {};
  return {add: function (c) { set[c] = true; }, remove: function (c) { delete set[c]; }, list: function () { return Object.keys(set).sort(); }};
}
var indicator = {textContent: '', attrs: {}, classList: classList(), setAttribute: function (k, v) { this.attrs[k] = v; }};
var streams = [];
globalThis.document = {
  readyState: 'complete',
  addEventListener: function (type, fn) { (listeners[type] = listeners[type] || []).push(fn); },
  dispatchEvent: function (event) { if (event.type === 'sse:status') statuses.push(event.detail.previous + '>' + event.detail.state); },
  getElementById: function (id) { return id === 'sse-status' ? indicator : null; },
  querySelectorAll: function () { return streams; }
};
globalThis.setInterval = function (fn) { tick = fn; };
function fire(type, target, detail) { (listeners[type] || []).forEach(function (fn) { fn({target: target, detail: detail}); }); }
function seen() { return indicator.attrs['data-sse-status'] + '|' + indicator.textContent + '|' + indicator.classList.list().join(' '); }
"""

def test_status_monitor_states_in_node(node, tmp_path):
    "The monitor's states, worked through on a fake page: htmx 2 sources and their events, htmx 4 connections, the offline clock."
    script = create_status_monitor_script(StatusMonitorConfig(labels={'connected': 'Live'}, classes={'offline': 'down red'},
                                                               check_interval=500, offline_after=5000))
    js = current_script(script) + js_of(script)
    harness = MONITOR_PAGE + js + """
(async function () {
var out = {};
out.none = seen();
var es = {readyState: 0}, two = {'htmx-internal-data': {sseEventSource: es}};
streams.push(two);
tick(); out.connecting = seen();
es.readyState = 1; fire('htmx:sseOpen', two, {source: es}); out.open = seen();
es.readyState = 0; fire('htmx:sseError', two, {source: es}); out.browserRetry = seen();
es.readyState = 2; fire('htmx:sseError', two, {source: es}); out.extensionRetry = seen();
var es2 = {readyState: 0}; two['htmx-internal-data'].sseEventSource = es2; tick(); out.newSource = seen();
es2.readyState = 1; fire('htmx:sseOpen', two, {source: es2}); out.reopened = seen();
es2.readyState = 2; fire('htmx:sseClose', two, {source: es2, type: 'message'}); out.closedOnPurpose = seen();
var es3 = {readyState: 2}; two['htmx-internal-data'].sseEventSource = es3; tick(); out.closedByOthers = seen();
es3.readyState = 1; tick();
var four = {_htmx: {}};
streams.push(four);
tick(); out.fourConnecting = seen();
four._htmx.sse = {reader: null, status: 200}; fire('htmx:sse:after:connection', four, {}); out.fourJustOpened = seen();
four._htmx.sse.reader = {}; await null; out.fourOpen = seen();
four._htmx.sse.reader = null; fire('htmx:sse:before:connection', four, {}); out.fourRetry = seen();
now += 4000; tick(); out.before = seen();
now += 1000; tick(); out.after = seen();
four._htmx.sse.reader = {}; fire('htmx:sse:after:connection', four, {}); await null; out.back = seen();
navigator.onLine = false; four._htmx.sse.reader = null; fire('htmx:sse:error', four, {}); out.browserOffline = seen();
navigator.onLine = true; four._htmx.sse.reader = {}; tick();
delete four._htmx.sse; fire('htmx:sse:close', four, {reason: 'ended'}); out.fourClosed = seen();
var es4 = {readyState: 1}; streams.splice(0, 2, {'htmx-internal-data': {sseEventSource: es4}}); tick();
es4.readyState = 2; fire('htmx:sseClose', streams[0], {source: es4, type: 'unload'}); out.leaving = seen();
now += 2999; tick(); out.stillLeaving = seen();
now += 1; tick(); out.stayed = seen();
out.statuses = statuses;
process.stdout.write(JSON.stringify(out));
})();
"""
    r = run_node(node, [], tmp_path, harness)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    C, L, R, O = 'connecting|Connecting…|sse-connecting', 'connected|Live|sse-connected', 'reconnecting|Reconnecting…|sse-reconnecting', 'offline|Offline|down red'
    assert out.pop('statuses') == ['null>offline', 'offline>connecting', 'connecting>connected', 'connected>reconnecting',
                                   'reconnecting>connected', 'connected>offline', 'offline>connected', 'connected>connecting',
                                   'connecting>connected', 'connected>reconnecting', 'reconnecting>offline', 'offline>connected',
                                   'connected>offline', 'offline>connected', 'connected>offline', 'offline>connected',
                                   'connected>offline']
    assert out == {'none': O,  # no stream element at all
                   'connecting': C, 'open': L, 'browserRetry': R, 'extensionRetry': R, 'newSource': R, 'reopened': L,
                   'closedOnPurpose': O, 'closedByOthers': O,
                   'fourConnecting': C, 'fourJustOpened': C, 'fourOpen': L, 'fourRetry': R,
                   'before': R, 'after': O,  # 5 s (offline_after) after the connection dropped
                   'back': L, 'browserOffline': O, 'fourClosed': O,
                   'leaving': L, 'stillLeaving': L, 'stayed': O}  # closed by the unload script: no flash of offline


def test_no_long_javascript_in_python():
    "JavaScript lives in .js files: no module of the package holds a string of JS code longer than 20 lines (the Lua scripts that Redis runs are strings by design)."
    import ast, re
    long = []
    for path in sorted(Path(cjm_fasthtml_sse.__file__).parent.rglob('*.py')):
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value.splitlines()) > 20 \
               and 'redis.call(' not in node.value and re.search(r'\bfunction\s*\w*\s*\(|=>|\bvar\s+\w+\s*=', node.value):
                long.append(f'{path.name}:{node.lineno} ({len(node.value.splitlines())} lines)')
    assert not long, f"JavaScript in Python strings; move it into cjm_fasthtml_sse/js/: {long}"
