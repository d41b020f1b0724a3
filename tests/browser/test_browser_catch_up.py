"""The path a newcomer copies keeps its promises in a real Chromium (issue 11, part 1 and 2):
the README's tour app, exactly as the README shows it, and the demo catch up after a network cut with no opt-in code;
a server restart that loses the history ends with the page showing the truth; the default pairing never runs markup
from a broadcast; and a page without the SSE extension says so once."""
import json, re, time
from pathlib import Path
import httpx, pytest
from helpers import ROOT, free_port, readme_tour, running
from pages import counter, demo, feed, increment, post_message, reloaded, run_plain_app, serve_cdn_locally, wait_counter, wait_feed, wait_until, STREAM_OPEN
from proxy import cut_proxy

CUT_S, CHANGES, CATCH_UP_S = 4, 5, 8

@pytest.fixture
def tour_app(tmp_path):
    "Run the README's tour as the README says (`python main.py`); yield (port, start) where `start()` runs a fresh one on the same port."
    port = free_port()
    yield port, lambda: readme_tour(tmp_path, port)

TOUR_STREAM_OPEN = """() => {
  const el = document.querySelector('[sse-connect]');
  const source = el && el['htmx-internal-data'] && el['htmx-internal-data'].sseEventSource;
  return !!source && source.readyState === 1;
}"""

def test_readme_tour_catches_up_after_a_cut(browser, context, htmx2_assets, tour_app):
    "A 4 s cut during which the counter moves 5 times: within 8 s after the cut the README's page shows the server's count."
    port, start = tour_app
    serve_cdn_locally(context, htmx2_assets)
    with start() as url, cut_proxy(port) as proxy:
        page = context.new_page()
        page.goto(proxy.url + '/')
        page.wait_for_function(TOUR_STREAM_OPEN, timeout=10_000)
        assert counter(page) == '0'
        assert proxy.cut(CUT_S) >= 1
        cut_at = time.monotonic()
        with httpx.Client(timeout=5) as http:
            for _ in range(CHANGES):
                http.post(f'{url}/increment').raise_for_status()
                page.wait_for_timeout(CUT_S * 1000 / (2 * CHANGES))
        assert time.monotonic() - cut_at < CUT_S, 'the changes must all happen during the cut'
        page.wait_for_timeout(max(0, (cut_at + CUT_S - time.monotonic()) * 1000))
        assert counter(page) == '0', 'the page saw a change during the cut: the proxy did not cut it off'
        took = wait_counter(page, CHANGES, CATCH_UP_S)
        print(f'README tour: caught up {took:.2f} s after the cut ended ({proxy.refused} connections refused during it)')

def test_readme_tour_restart_shows_the_truth(browser, context, htmx2_assets, tour_app):
    "The server restarts and loses its history: the page gets a reset, reloads by default, and shows the new server's count."
    port, start = tour_app
    serve_cdn_locally(context, htmx2_assets)
    page = context.new_page()
    with start() as url:
        page.goto(url + '/')
        page.wait_for_function(TOUR_STREAM_OPEN, timeout=10_000)
        with httpx.Client(timeout=5) as http:
            for _ in range(3): http.post(f'{url}/increment').raise_for_status()
        wait_counter(page, 3, 5)
        page.evaluate("window.renderedBeforeRestart = true")
    resets = []
    page.expose_function('sawReset', lambda detail: resets.append(detail))
    page.evaluate("document.addEventListener('sse:reset', e => window.sawReset(e.detail))")
    with start() as url:
        took = wait_counter(page, 0, 20)
        page.wait_for_function(TOUR_STREAM_OPEN, timeout=10_000)
        assert page.evaluate("window.renderedBeforeRestart === undefined"), 'the page showed 0 without reloading'
        with httpx.Client(timeout=5) as http: http.post(f'{url}/increment').raise_for_status()
        wait_counter(page, 1, 5)
    print(f'restart: page showed the new count {took:.2f} s after the new server started; reset details {resets}')

def test_demo_catches_up_after_a_cut(browser, context, htmx2_assets):
    "The demo through the same proxy: after a 4 s cut the counter is right and every feed message posted during the cut appears once."
    port = free_port()
    with demo(htmx2_assets, port=port) as url, cut_proxy(port) as proxy:
        page = context.new_page()
        page.goto(proxy.url + '/')
        page.wait_for_function(STREAM_OPEN, timeout=10_000)
        start_count = int(counter(page))
        before = feed(page)
        assert proxy.cut(CUT_S) >= 1
        cut_at = time.monotonic()
        texts = [f'during the cut {i}' for i in range(CHANGES)]
        for text in texts:
            increment(url)
            post_message(url, text)
            page.wait_for_timeout(CUT_S * 1000 / (2 * CHANGES))
        assert time.monotonic() - cut_at < CUT_S
        page.wait_for_timeout(max(0, (cut_at + CUT_S - time.monotonic()) * 1000))
        took = wait_counter(page, start_count + CHANGES, CATCH_UP_S)
        wait_feed(page, before + texts, CATCH_UP_S - took)
        page.wait_for_timeout(500)
        assert feed(page) == before + texts, 'a message appeared twice'
        print(f'demo: counter caught up {took:.2f} s after the cut ended')

HOSTILE = ['<img src=x onerror="document.title=\'XSS-img\';window.ran=1">',
           '<script>document.title="XSS-script";window.ran=1</script>',
           '<svg onload="document.title=\'XSS-svg\';window.ran=1"></svg>',
           '"\'><img src=x onerror="document.title=\'XSS-attr\';window.ran=1">']

@pytest.fixture
def plain_app(htmx2_assets):
    with run_plain_app(htmx2_assets) as url: yield url

FEED_OPEN = """() => {
  const el = document.getElementById('feed');
  const source = el && el['htmx-internal-data'] && el['htmx-internal-data'].sseEventSource;
  return !!source && source.readyState === 1;
}"""

def test_no_markup_runs_from_the_default_pairing(browser, context, plain_app):
    "No element_builder and the default element: hostile text is broadcast, nothing executes, and it shows as inert text."
    page = context.new_page()
    page.goto(plain_app + '/')
    page.wait_for_function(FEED_OPEN, timeout=10_000)
    with httpx.Client(timeout=5) as http:
        for text in HOSTILE:
            http.post(f'{plain_app}/send', data={'text': text}).raise_for_status()
            token = re.search(r'XSS-\w+', text).group(0)  # each payload names itself; wait until the feed shows it as text
            page.wait_for_function("t => document.getElementById('feed').textContent.includes(t)", arg=token, timeout=5_000)
            page.wait_for_timeout(300)  # an onerror of a broken image fires after the swap; give it time to run
            state = page.evaluate("""() => ({title: document.title, ran: window.ran === 1,
                children: document.getElementById('feed').children.length,
                elements: document.querySelectorAll('#feed img, #feed script, #feed svg, img, svg').length})""")
            assert state == {'title': 'plain', 'ran': False, 'children': 0, 'elements': 0}, (text, state)

def test_missing_extension_logs_one_clear_error(browser, context, plain_app):
    "A page with an [sse-connect] element whose SSE extension never loaded: one console.error naming sse.js and sse_hdrs."
    errors = []
    def on_console(msg):
        if msg.type == 'error' and 'cjm_fasthtml_sse' in msg.text: errors.append(msg.text)
    page = context.new_page()
    page.on('console', on_console)
    page.goto(plain_app + '/?ext=0')
    page.wait_for_function("document.readyState === 'complete'")
    page.wait_for_timeout(1500)
    assert len(errors) == 1, errors
    assert 'sse.js' in errors[0] and 'sse_hdrs' in errors[0], errors[0]
    # the same page with the extension: no such error, and the stream opens
    page.goto(plain_app + '/')
    page.wait_for_function(FEED_OPEN, timeout=10_000)
    page.wait_for_timeout(500)
    assert len(errors) == 1, errors


def test_htmx4_reconnect_sends_the_last_event_id(browser, context, htmx2_assets, htmx4_assets):
    "htmx 4's hx-sse, behind the cut proxy: its reconnect carries Last-Event-ID (the last id it saw), and the page catches up."
    port = free_port()
    with run_plain_app(htmx2_assets, htmx4_assets, port) as url, cut_proxy(port) as proxy:
        streams = []
        page = context.new_page()
        page.on('request', lambda r: streams.append(r) if '/sse/broadcast' in r.url else None)
        page.goto(proxy.url + '/?htmx=4')
        page.wait_for_function("() => { const el = document.getElementById('feed'); return !!(el && el._htmx && el._htmx.sse && el._htmx.sse.status === 200); }", timeout=10_000)
        with httpx.Client(timeout=5) as http:
            http.post(f'{url}/send', data={'text': 'before the cut'}).raise_for_status()
            page.wait_for_function("document.getElementById('feed').textContent.includes('before the cut')", timeout=5_000)
            seen = page.evaluate("document.getElementById('feed')._htmx.sse.lastEventId")
            assert seen, 'hx-sse recorded no id'
            first = len(streams)
            assert proxy.cut(CUT_S) >= 1
            cut_at = time.monotonic()
            # the proxy resets its connections one by one (the page's script files keep some open too): send only once the
            # stream is gone, or the message can slip through the old stream before its reset
            wait_until(lambda: http.get(f'{url}/sse/status').json()['connections'] == 0, CUT_S, 'the cut stream to close on the server')
            http.post(f'{url}/send', data={'text': 'during the cut'}).raise_for_status()
        page.wait_for_function("document.getElementById('feed').textContent.includes('during the cut')", timeout=(CUT_S + CATCH_UP_S) * 1000)
        took = time.monotonic() - cut_at - CUT_S
        retries = [r.headers.get('last-event-id') for r in streams[first:]]
        assert retries and all(h == seen for h in retries), (seen, retries)
        print(f'htmx 4: {len(retries)} reconnect requests, each with Last-Event-ID {seen}; caught up {took:.2f} s after the cut ended')

def test_htmx4_reset_fires_sse_reset_then_reloads(browser, context, htmx2_assets, htmx4_assets):
    "htmx 4: a restarted server that lost its history sends reset; the page script turns it into sse:reset, then reloads."
    port = free_port()
    page = context.new_page()
    opened = "() => { const el = document.getElementById('feed'); return !!(el && el._htmx && el._htmx.sse && el._htmx.sse.status === 200); }"
    with run_plain_app(htmx2_assets, htmx4_assets, port) as url:
        page.goto(url + '/?htmx=4')
        page.wait_for_function(opened, timeout=10_000)
        httpx.post(f'{url}/send', data={'text': 'first server'}, timeout=5).raise_for_status()
        page.wait_for_function("document.getElementById('feed').textContent.includes('first server')", timeout=5_000)
        page.evaluate("window.beforeRestart = true")
    resets = []
    page.expose_function('sawReset', lambda detail: resets.append(detail))
    page.evaluate("document.addEventListener('sse:reset', e => window.sawReset(e.detail))")
    with run_plain_app(htmx2_assets, htmx4_assets, port) as url:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not reloaded(page): page.wait_for_timeout(100)
        assert reloaded(page), 'the page did not reload after the reset'
        assert len(resets) == 1 and resets[0]['reason'] and resets[0]['id'], resets
        page.wait_for_function(opened, timeout=10_000)
        assert 'first server' not in page.text_content('#feed')
    print(f'htmx 4 reset: {resets}')
