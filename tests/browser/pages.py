"Helpers of the browser suite: running the demo, reading tabs, and bounded waits."
import contextlib, re, time
from pathlib import Path
import httpx
from helpers import free_port, running

CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']

# True once the page's event stream is open: htmx-ext-sse keeps its source on the element, htmx 4 its connection.
STREAM_OPEN = """() => {
  const el = document.getElementById('sse-listener') || document.getElementById('listener');
  if (!el) return false;
  const data = el['htmx-internal-data'];
  if (data && data.sseEventSource) return data.sseEventSource.readyState === 1;
  return !!(el._htmx && el._htmx.sse && el._htmx.sse.status === 200);
}"""

@contextlib.contextmanager
def demo(assets, *args, port=None):
    "Run `python -m cjm_fasthtml_sse.demo` on `port` (a free one by default) with local htmx from `assets`; yield its URL."
    port = port or free_port()
    with running(['-m', 'cjm_fasthtml_sse.demo', '--port', str(port), '--assets', assets, *args], port) as url: yield url

@contextlib.contextmanager
def page_app(assets, port=None):
    "Run `tests/browser/page_app.py` under uvicorn; yield its URL."
    port = port or free_port()
    env = {'SSE_TEST_ASSETS': assets}
    with running(['-m', 'uvicorn', 'browser.page_app:app', '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning'], port, env) as url:
        yield url

def status(url):
    "The server's `/sse/status` JSON."
    return httpx.get(f'{url}/sse/status', timeout=5).json()

def connections(url): return status(url)['connections']

def wait_until(fn, timeout, what, page=None, interval=0.02):
    """Call `fn` until it returns something truthy, for at most `timeout` seconds; return (value, seconds taken).
    With `page`, wait through Playwright, so that its event and route handlers run meanwhile (a plain sleep blocks them)."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        value = fn()
        if value: return value, time.monotonic() - start
        if time.monotonic() >= deadline: raise AssertionError(f"{what}: not within {timeout} s (last value {value!r})")
        if page is None: time.sleep(interval)
        else: page.wait_for_timeout(interval * 1000)

def open_tab(context, url, path='/'):
    "A new tab on `url + path`, returned once its event stream is open."
    page = context.new_page()
    page.goto(url + path)
    page.wait_for_function(STREAM_OPEN, timeout=10_000)
    return page

def counter(page): return page.text_content('#counter')

def feed(page): return page.eval_on_selector_all('#feed li', 'items => items.map(li => li.textContent)')

def wait_feed(page, expected, timeout):
    "Wait until the tab's `#feed` is exactly `expected`; return the seconds it took."
    js = "expected => JSON.stringify([...document.querySelectorAll('#feed li')].map(li => li.textContent)) === JSON.stringify(expected)"
    start = time.monotonic()
    try: page.wait_for_function(js, arg=expected, timeout=timeout * 1000)
    except Exception as e: raise AssertionError(f"feed of {page.url} is {feed(page)}, expected {expected} within {timeout} s") from e
    return time.monotonic() - start

def wait_counter(page, value, timeout):
    "Wait until the tab's `#counter` shows `value`; return the seconds it took."
    start = time.monotonic()
    try: page.wait_for_function(f"document.querySelector('#counter') && document.querySelector('#counter').textContent === '{int(value)}'", timeout=timeout * 1000)
    except Exception as e: raise AssertionError(f"counter of {page.url} is {counter(page)!r}, expected {value} within {timeout} s") from e
    return time.monotonic() - start

def post_message(url, text):
    r = httpx.post(f'{url}/messages', data={'text': text}, timeout=5)
    r.raise_for_status()

def increment(url):
    httpx.post(f'{url}/counter/increment', timeout=5).raise_for_status()

def reloaded(page):
    "True once the page has been loaded again since `window.beforeRestart` was set (False while it is navigating)."
    from playwright.sync_api import Error
    try: return page.evaluate("window.beforeRestart === undefined && document.readyState === 'complete'")
    except Error: return False

def serve_cdn_locally(context, assets):
    "Answer the page's CDN requests (FastHTML's default headers, sse_hdrs' pinned extension) from the npm copies; anything else empty."
    files = {'htmx.org': Path(assets) / 'node_modules/htmx.org/dist/htmx.min.js', 'htmx-ext-sse': Path(assets) / 'node_modules/htmx-ext-sse/sse.js'}
    def handle(route):
        url = route.request.url
        for name, path in files.items():
            if f'/{name}@' in url and url.endswith(('htmx.min.js', 'htmx.js', 'sse.js')):
                return route.fulfill(status=200, content_type='text/javascript', body=path.read_text(encoding='utf-8'))
        return route.fulfill(status=200, content_type='text/css' if url.endswith('.css') else 'text/javascript', body='')
    context.route(re.compile(r'^https?://(?!127\.0\.0\.1)'), handle)

def run_plain_app(htmx2_assets, htmx4_assets=None, port=None):
    port = port or free_port()
    env = {'SSE_TEST_ASSETS': htmx2_assets, **({'SSE_TEST_ASSETS4': htmx4_assets} if htmx4_assets else {})}
    return running(['-m', 'uvicorn', 'browser.plain_app:app', '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning'], port, env)

def run_fast_app(twice=False, port=None):
    "Run `tests/browser/fast_app_app.py` under uvicorn (htmx loaded twice with `twice`); the test answers its CDN scripts."
    port = port or free_port()
    env = {'SSE_TEST_TWICE': '1' if twice else '0'}
    return running(['-m', 'uvicorn', 'browser.fast_app_app:app', '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning'], port, env)
