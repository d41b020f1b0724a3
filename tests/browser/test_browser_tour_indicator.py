"""The README tour, as the README writes it (`setup_sse(..., indicator=True)`), in Chromium: its badge says Connected while
the server is up, says so no longer once the server is stopped (clicks used to fail with no sign of it), and says
Connected again when the server is back."""
import pytest
from helpers import free_port, readme_tour
from test_browser_catch_up import TOUR_STREAM_OPEN, serve_cdn_locally

pytestmark = pytest.mark.timeout(120)

def badge(page): return page.get_attribute('#sse-status', 'data-sse-status'), page.text_content('#sse-status')

def wait_badge(page, states, timeout):
    js = "states => { const el = document.getElementById('sse-status'); return !!el && states.includes(el.dataset.sseStatus); }"
    try: page.wait_for_function(js, arg=list(states), timeout=timeout * 1000)
    except Exception as e:
        shown = badge(page) if page.query_selector('#sse-status') else 'no #sse-status element'
        raise AssertionError(f"the tour's indicator shows {shown}, expected one of {states} within {timeout} s") from e

def test_readme_tour_shows_when_the_server_is_down(context, htmx2_assets, tmp_path):
    serve_cdn_locally(context, htmx2_assets)
    port = free_port()
    page = context.new_page()
    with readme_tour(tmp_path, port) as url:
        page.goto(url + '/')
        page.wait_for_function(TOUR_STREAM_OPEN, timeout=10_000)
        wait_badge(page, ['connected'], 10)
        assert badge(page) == ('connected', 'Connected') and page.is_visible('#sse-status')
    wait_badge(page, ['reconnecting', 'offline'], 15)
    assert badge(page)[1] in ('Reconnecting…', 'Offline')
    with readme_tour(tmp_path, port): wait_badge(page, ['connected'], 30)
