"""ESLint over the package's browser scripts (issue 20): ES5, strict in every function, no undefined or unused names.

eslint comes from npm, pinned, installed at test time into a cache folder outside the repository (like the browser tests'
htmx), and runs with the node the other JS tests use. The config is `tests/js/eslint.config.cjs`. Without npm the test skips,
and fails under CJM_SSE_REQUIRE_ALL=1."""
import json, os, re, subprocess
from pathlib import Path
import pytest
from helpers import ROOT, require_program

ESLINT_VERSION = '9.39.1'
CONFIG = ROOT / 'tests' / 'js' / 'eslint.config.cjs'
JS = ROOT / 'cjm_fasthtml_sse' / 'js'

def _cache():
    base = Path(os.environ.get('CJM_SSE_CACHE') or Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache') / 'cjm-fasthtml-sse')
    return base / f'eslint-{ESLINT_VERSION}'

@pytest.fixture(scope='module')
def eslint():
    "The path of eslint's command script, installed from npm into the cache when missing; and node to run it."
    node = require_program('node', 'apt-get install nodejs')
    prefix = _cache()
    script = prefix / 'node_modules' / 'eslint' / 'bin' / 'eslint.js'
    if not script.is_file():
        npm = require_program('npm', 'apt-get install npm')
        prefix.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([npm, 'install', '--no-audit', '--no-fund', '--prefix', str(prefix), f'eslint@{ESLINT_VERSION}'],
                           capture_output=True, text=True, timeout=300)
        if r.returncode: pytest.fail(f"npm install --prefix {prefix} eslint@{ESLINT_VERSION} failed:\n{r.stdout}\n{r.stderr}")
    return node, script

def run_eslint(eslint, *paths):
    node, script = eslint
    r = subprocess.run([node, str(script), '--config', str(CONFIG), '--format', 'json', '--no-warn-ignored', *map(str, paths)],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode in (0, 1), r.stderr[-3000:]
    return [(Path(f['filePath']).name, m['line'], m.get('ruleId'), m['message']) for f in json.loads(r.stdout) for m in f['messages']]

def test_eslint_passes(eslint):
    "Every shipped script passes the config: no problem at all."
    files = sorted(JS.glob('*.js'))
    assert len(files) >= 9
    problems = run_eslint(eslint, *files)
    assert problems == [], '\n'.join(f'{n}:{line} {rule}: {msg}' for n, line, rule, msg in problems)

def test_eslint_catches_problems(eslint, tmp_path):
    "The lint can fail: ES2015 syntax, a sloppy function, an undefined name and an unused one are each reported."
    bad = JS / '_lint_probe.js'
    bad.write_text("function probe() {\n  let x = 1;\n  var unused = 2;\n  return () => x + missing;\n}\n", encoding='utf-8')
    try: problems = run_eslint(eslint, bad)
    finally: bad.unlink()
    assert problems and problems[0][2] is None and 'Parsing error' in problems[0][3], problems
    bad.write_text("function probe() {\n  var unused = 2;\n  return missing;\n}\n", encoding='utf-8')
    try: problems = run_eslint(eslint, bad)
    finally: bad.unlink()
    assert {rule for _, _, rule, _ in problems} == {'strict', 'no-unused-vars', 'no-undef'}, problems

def test_one_selector_for_stream_elements():
    "The stream-element selectors are spelled once, in common.js; every other script uses cjmSSE's constants."
    selector = re.compile(r"""['"]\[(data-)?(hx-)?sse(-|\\\\:)connect\]""")
    assert selector.search("var CONNECT4 = '[hx-sse\\\\:connect],[data-hx-sse\\\\:connect]';")
    assert selector.search((JS / 'common.js').read_text(encoding='utf-8'))
    for path in JS.glob('*.js'):
        if path.name == 'common.js': continue
        found = selector.search(path.read_text(encoding='utf-8'))
        assert not found, f'{path.name} spells the selector {found.group(0)} itself; use cjmSSE.CONNECT, CONNECT4 or STREAMS'
