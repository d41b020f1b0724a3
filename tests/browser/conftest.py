"""Fixtures of the browser suite: Debian's chromium driven by Playwright, and htmx taken from npm into `.assets/`.

Playwright's sync API runs an event loop in this thread while it is started, and `asyncio.run` refuses to run next to it,
so each test module starts and stops its own Playwright (module scope): the rest of the suite never sees it.
"""
import json, subprocess
import pytest
from helpers import REQUIRE_ALL, ROOT, require_program
from pages import CHROMIUM_ARGS
from cjm_fasthtml_sse.core.connections import HTMX_VERSION, HTMX_SSE_VERSION, HTMX4_VERSION

NPM = {2: ('.assets/htmx2', {'htmx.org': HTMX_VERSION, 'htmx-ext-sse': HTMX_SSE_VERSION}, ['htmx.org/dist/htmx.min.js', 'htmx-ext-sse/sse.js']),
       4: ('.assets/htmx4', {'htmx.org': HTMX4_VERSION}, ['htmx.org/dist/htmx.min.js', 'htmx.org/dist/ext/hx-sse.js'])}

def _installed(root, name):
    "The version of npm package `name` installed under `root`, or `None`."
    try: return json.loads((root / 'node_modules' / name / 'package.json').read_text())['version']
    except (OSError, ValueError, KeyError): return None

def _npm_assets(version):
    "An npm prefix folder with the pinned htmx files for `version`, installed from the npm registry when missing or different."
    folder, pins, files = NPM[version]
    root = ROOT / folder
    packages = [f'{name}@{v}' for name, v in pins.items()]
    if not all((root / 'node_modules' / f).is_file() for f in files) or any(_installed(root, n) != v for n, v in pins.items()):
        npm = require_program('npm', 'apt-get install npm')
        r = subprocess.run([npm, 'install', '--no-audit', '--no-fund', '--prefix', str(root), *packages],
                           capture_output=True, text=True, timeout=300)
        if r.returncode: pytest.fail(f"npm install --prefix {root} {' '.join(packages)} failed:\n{r.stdout}\n{r.stderr}")
    return str(root)

@pytest.fixture(scope='session')
def htmx2_assets(): return _npm_assets(2)

@pytest.fixture(scope='session')
def htmx4_assets(): return _npm_assets(4)

def _require_playwright():
    try: from playwright.sync_api import sync_playwright
    except ImportError:
        msg = 'playwright is not installed; install it with: pip install playwright (or pip install -e ".[dev]"); it drives /usr/bin/chromium, so `playwright install` is not needed'
        if REQUIRE_ALL: pytest.fail(msg + ' (CJM_SSE_REQUIRE_ALL=1 turns this skip into a failure)')
        pytest.skip(msg)
    return sync_playwright

@pytest.fixture(scope='module')
def browser():
    "A headless Chromium for the tests of one module."
    executable = require_program('chromium', 'apt-get install chromium')
    sync_playwright = _require_playwright()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try: yield chromium
        finally: chromium.close()

@pytest.fixture
def context(browser):
    "A fresh browser context (its own cookies, workers and connection pool) for one test."
    ctx = browser.new_context()
    ctx.set_default_timeout(15_000)
    try: yield ctx
    finally: ctx.close()
