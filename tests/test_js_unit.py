"Runs the JavaScript unit tests in `tests/js/` (node's own runner, `node --test`) and fails with node's report when one fails."
import subprocess
from pathlib import Path
import pytest
from helpers import require_program

JS_TESTS = sorted((Path(__file__).parent / 'js').glob('*.test.js'))

@pytest.fixture(scope='module')
def node(): return require_program('node', 'apt-get install nodejs')

def test_there_are_js_tests():
    assert {p.name for p in JS_TESTS} >= {'common.test.js', 'page.test.js', 'shared.test.js', 'hub.test.js', 'monitor.test.js'}

@pytest.mark.parametrize('path', JS_TESTS, ids=lambda p: p.name)
def test_node_test(node, path):
    "Every test of the file passes under `node --test`."
    r = subprocess.run([node, '--test', '--test-reporter=tap', str(path)], capture_output=True, text=True, timeout=120)  # TAP on every node: newer ones default to 'spec'
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert '# fail 0' in r.stdout and '# pass 0' not in r.stdout, r.stdout[-2000:]
