"The browser scripts of `cjm_fasthtml_sse.core.connections` are valid JavaScript, with default and awkward arguments."
import json, subprocess, pytest
from helpers import require_program
from cjm_fasthtml_sse.core.connections import (cleanup_sse_on_unload, create_reconnection_script,
                                                create_connection_manager_script)

HOSTILE = "/x'; alert(1); //</script><script>alert(\"2\")</script>\\ \n\u2028\u2029 ${x} `tick` \U0001F600"

SCRIPTS = {
    'cleanup': lambda: cleanup_sse_on_unload(),
    'reconnect-default': lambda: create_reconnection_script(),
    'reconnect-awkward': lambda: create_reconnection_script(check_interval=1, max_retries=10**12, debug=True),
    'manager-default': lambda: create_connection_manager_script(),
    'manager-hostile': lambda: create_connection_manager_script(HOSTILE, update_interval=2**53 + 1),
    'manager-unicode': lambda: create_connection_manager_script('/stats?q=é&r=<b>', 1),
}

def js_of(script):
    "The JavaScript text of a FastHTML `Script`, read from its children (not from rendered HTML)."
    return ''.join(str(c) for c in script.children)

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

def test_node_check_catches_errors(node, tmp_path):
    "The check itself can fail: a broken script is rejected."
    r = run_node(node, ['--check'], tmp_path, js_of(cleanup_sse_on_unload()) + '\n})(')
    assert r.returncode != 0

def test_hostile_endpoint_is_one_string(node, tmp_path):
    "Run the manager script against a fake page in node: `fetch` receives the endpoint exactly as given in Python."
    js = js_of(create_connection_manager_script(HOSTILE, 50))
    harness = """
var fetched = [];
globalThis.window = globalThis;
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
    js = js_of(create_reconnection_script(check_interval=10, max_retries=2))
    harness = """
var listeners = {}, processed = [], tick;
globalThis.window = globalThis;
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
