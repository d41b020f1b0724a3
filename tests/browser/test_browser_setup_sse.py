"""setup_sse in a real Chromium: a fast_app() app wired by one call, with tab sharing on, opens its stream, shares it between
tabs through the shared worker (whose .js route sits ahead of fast_app's static route), and updates every tab."""
import pytest
from helpers import free_port, running
from pages import connections, open_tab, wait_counter, wait_until, increment
from test_browser_catch_up import serve_cdn_locally

pytestmark = pytest.mark.timeout(120)

def test_setup_sse_under_fast_app_shares_one_stream_between_tabs(browser, context, htmx2_assets):
    serve_cdn_locally(context, htmx2_assets)
    port = free_port()
    with running(['-m', 'uvicorn', 'browser.setup_sse_app:app', '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning'], port) as url:
        tabs = [open_tab(context, url) for _ in range(3)]
        assert {t.evaluate('cjmSharedSSE.mode') for t in tabs} == {'worker'}  # not the fallback an unreachable worker leads to
        wait_until(lambda: connections(url) == 1, 5, 'one connection for all the tabs')
        for _ in range(2): increment(url)
        for t in tabs: wait_counter(t, 2, timeout=5)
        assert connections(url) == 1
