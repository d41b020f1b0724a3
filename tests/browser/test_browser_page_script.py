"""The page script (`sse_page_script`, added by `sse_hdrs`) in a real Chromium, where a user meets it on day one (issues 18
and 19): a reset that never ends must not turn into a reload loop, and a refused stream or a wiring mistake must say what
went wrong in the browser console, naming the fix."""
import httpx, pytest
from pages import connections, open_tab, run_fast_app, run_plain_app, serve_cdn_locally, wait_feed, wait_until

pytestmark = pytest.mark.timeout(180)

def cjm_errors(page):
    "The console.error lines of the library on `page`, as they come."
    errors = []
    page.on('console', lambda msg: errors.append(msg.text) if msg.type == 'error' and 'cjm_fasthtml_sse' in msg.text else None)
    return errors

OPEN_STREAM = {2: """() => { const el = document.getElementById('feed');
    const s = el && el['htmx-internal-data'] && el['htmx-internal-data'].sseEventSource; return !!s && s.readyState === 1; }""",
               4: "() => { const el = document.getElementById('feed'); return !!(el && el._htmx && el._htmx.sse && el._htmx.sse.status === 200); }"}

@pytest.mark.parametrize('htmx', [2, 4])
def test_a_page_that_always_gets_a_reset_never_loops(browser, context, htmx2_assets, htmx4_assets, htmx):
    """A stream that answers every connection with a reset (the page's position is never known, e.g. a cached copy of a page
    from before a restart): in 10 s the page asks the server for its markup a handful of times, not once per reset, and
    the streams of the markup it replaced are closed."""
    with run_plain_app(htmx2_assets, htmx4_assets) as url:
        page = context.new_page()
        loads = []
        page.on('load', lambda p: loads.append(p.url))
        page.goto(f'{url}/?htmx={htmx}&stream=/always-reset')
        page.wait_for_timeout(10_000)
        hits = httpx.get(url + '/hits', timeout=5).json()
        print(f'\nalways reset (htmx {htmx}): {hits["/"]} requests of the page and {hits["/always-reset"]} of its stream in 10 s, {hits["open"]} open at the end, {len(loads)} page loads')
        assert hits['/'] <= 8, f'the page looped: {hits}'
        assert hits['/'] >= 2, f'the page never tried to bring itself up to date: {hits}'
        assert len(loads) == 1, f'a page stale on arrival fetches fresh markup instead of reloading: {loads}'
        assert hits['/always-reset'] >= hits['/'], 'each fresh body opened its stream again'
        assert page.evaluate(OPEN_STREAM[htmx]), 'the fresh body has an open stream'
        assert hits['open'] <= 2, f'the streams of replaced markup stay open: {hits}'

@pytest.mark.parametrize('htmx,code', [(2, 400), (4, 403)])
def test_a_refused_stream_logs_its_status_and_reason(browser, context, htmx2_assets, htmx4_assets, htmx, code):
    "A stream the server refuses (a failed identify=, a cap): the console shows the status and the server's reason, once."
    with run_plain_app(htmx2_assets, htmx4_assets) as url:
        page = context.new_page()
        errors = cjm_errors(page)
        page.goto(f'{url}/?htmx={htmx}&stream=/refused/{code}')
        page.wait_for_function("document.readyState === 'complete'")
        deadline = 100
        while deadline and not any('refused' in e for e in errors):
            page.wait_for_timeout(100)
            deadline -= 1
        page.wait_for_timeout(2000)
    refused = [e for e in errors if 'refused' in e]
    assert len(refused) == 1, errors
    assert f'stream /refused/{code} refused: {code} ' in refused[0] and "identify returned 'bob@example.com'" in refused[0], refused[0]
    assert not [e for e in errors if 'did not load' in e], f'a refused stream is not a missing extension: {errors}'


def test_a_refused_shared_stream_logs_its_status_and_reason(browser, context, htmx2_assets):
    "With tab sharing, the shared worker holds the connection and retries it: the tab still logs why the server refused it."
    serve_cdn_locally(context, htmx2_assets)
    with run_fast_app() as url:
        page = context.new_page()
        errors = cjm_errors(page)
        page.goto(url + '/?stream=/refused/403')
        wait_until(lambda: any('refused' in e for e in errors), 10, 'the refusal in the console', page)
        assert page.evaluate('cjmSharedSSE.mode') == 'worker'
        page.wait_for_timeout(2000)
    refused = [e for e in errors if 'refused' in e]
    assert len(refused) == 1 and "stream /refused/403 refused: 403 identify returned 'bob@example.com'" in refused[0], errors

def test_shared_worker_route_under_fast_app(browser, context, htmx2_assets):
    "Under fast_app(), whose static route matches any .js path: the worker script is served, and two tabs share through it."
    serve_cdn_locally(context, htmx2_assets)
    with run_fast_app() as url:
        r = httpx.get(url + '/sse/shared-worker.js', timeout=5)
        assert (r.status_code, r.headers.get('content-type', '').split(';')[0]) == (200, 'text/javascript'), (r.status_code, r.text[:200])
        tabs = [open_tab(context, url) for _ in range(2)]
        wait_until(lambda: all(t.text_content('#tabs') == '2' for t in tabs), 5, 'two tabs share', tabs[-1])
        assert [t.evaluate('cjmSharedSSE.mode') for t in tabs] == ['worker', 'worker'], 'the tabs fell back from the shared worker'
        assert connections(url) == 1
        httpx.post(url + '/send', data={'text': 'hello'}, timeout=5).raise_for_status()
        for t in tabs: wait_feed(t, ['hello'], 5)

def test_htmx_loaded_twice_is_named(browser, context, htmx2_assets):
    "sse_hdrs() under fast_app() loads htmx twice: one console.error names that and the fix, and none blames the extension."
    serve_cdn_locally(context, htmx2_assets)
    with run_fast_app(twice=True) as url:
        page = context.new_page()
        errors = cjm_errors(page)
        page.goto(url + '/')
        page.wait_for_function("document.readyState === 'complete'")
        page.wait_for_timeout(1500)
    assert len(errors) == 1, errors
    assert 'htmx is loaded 2 times' in errors[0] and 'sse_hdrs(include_htmx=False)' in errors[0], errors[0]
    assert 'did not load' not in errors[0], errors[0]


def test_helpers_through_sse_hdrs_share_one_common_js(browser, context, htmx2_assets):
    "sse_hdrs(helpers=...) puts one copy of common.js on the page, and the helpers still work: the monitor shows the stream."
    with run_plain_app(htmx2_assets) as url:
        page = context.new_page()
        errors = cjm_errors(page)
        page.goto(url + '/?helpers=1')
        page.wait_for_function("document.getElementById('sse-status').dataset.sseStatus === 'connected'", timeout=10_000)
        copies = page.evaluate("[...document.scripts].filter(s => s.textContent.includes('var cjmSSE = self.cjmSSE ||') || /\\/common\\.[0-9a-f]{12}\\.js$/.test(s.src)).length")
        assert copies == 1, copies
        httpx.post(url + '/send', data={'text': 'one copy'}, timeout=5).raise_for_status()
        page.wait_for_function("document.getElementById('feed').textContent.includes('one copy')", timeout=5_000)
    assert errors == [], errors
