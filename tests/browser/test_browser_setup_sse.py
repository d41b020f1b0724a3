"""setup_sse in a real Chromium: a fast_app() app wired by one call, with tab sharing on, opens its stream, shares it between
tabs through the shared worker (whose .js route sits ahead of fast_app's static route), and updates every tab."""
import time
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

def poll(tab, expr, timeout, what):
    "Evaluate `expr` in `tab` until it is truthy, for at most `timeout` seconds (Playwright's wait_for_function evals strings, which the policy forbids)."
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tab.evaluate(expr): return
        tab.wait_for_timeout(50)
    raise AssertionError(f'{what}: {expr} still false after {timeout} s')

def test_setup_sse_runs_under_a_policy_that_forbids_inline_scripts(browser, context, htmx2_assets):
    "With `script-src 'self' https:` (no nonce, no 'unsafe-inline') the library's scripts still run: the page script, the shared connection and the indicator."
    serve_cdn_locally(context, htmx2_assets)
    port = free_port()
    with running(['-m', 'uvicorn', 'browser.setup_sse_app:app', '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning'], port, {'SSE_TEST_CSP': '1'}) as url:
        blocked, tabs = [], []
        for _ in range(2):
            tab = context.new_page()
            tab.on('console', lambda m: blocked.append(m.text) if 'Content Security Policy' in m.text else None)
            tab.goto(url)
            tabs.append(tab)
        for t in tabs: poll(t, "!!(window.cjmSharedSSE && window.cjmPageSSE)", 10, 'the page script and the shared connection should run')
        assert {t.evaluate('cjmSharedSSE.mode') for t in tabs} == {'worker'}
        for t in tabs: poll(t, "document.getElementById('sse-status').dataset.sseStatus === 'connected'", 10, 'the indicator should say connected')
        wait_until(lambda: connections(url) == 1, 5, 'one connection for both tabs')
        increment(url)
        for t in tabs: poll(t, "document.querySelector('#counter').textContent === '1'", 5, 'the counter should update')
        assert blocked == [], blocked
