"""The three JS helpers of the original API, each shown working in Chromium with htmx 2 and htmx-ext-sse 2.x.

Every test also runs the same steps without the helper, and shows what goes wrong then: that is what makes the test able to fail.
The page comes from `page_app.py`, which includes only the scripts the test asks for.
"""
import time
import httpx, pytest
from pages import page_app, open_tab, connections, feed, wait_feed, wait_until, status

pytestmark = pytest.mark.timeout(120)

@pytest.fixture(scope='module')
def app(htmx2_assets):
    with page_app(htmx2_assets) as url: yield url

@pytest.fixture(autouse=True)
def no_leftover_streams(app):
    "Each test starts with no stream open on the server."
    wait_until(lambda: connections(app) == 0, 5, 'streams of the previous test closed')

def send(url, text): return httpx.post(f'{url}/send', data={'text': text}, timeout=5).json()['id']

@pytest.mark.parametrize('with_helper', [True, False], ids=['cleanup', 'without'])
def test_cleanup_sse_on_unload_frees_the_connection_as_the_user_leaves(context, app, with_helper):
    "Leaving for a page that takes 2.5 s to answer: the helper closes the stream at once; without it, the stream stays open meanwhile."
    page = open_tab(context, app, f'/?cleanup={int(with_helper)}')
    wait_until(lambda: connections(app) == 1, 2, 'the stream is open')
    page.evaluate("location.href = '/slow?delay=2.5'")
    if with_helper:
        _, took = wait_until(lambda: connections(app) == 0, 1.0, 'stream closed while the next page loads')
        print(f'\ncleanup: stream closed {took * 1000:.0f} ms after leaving, before the next page answered')
    else:
        time.sleep(1.0)
        assert connections(app) == 1, 'without the helper the old page keeps its stream while the next one loads'
    page.wait_for_selector('#slow', timeout=10_000)
    wait_until(lambda: connections(app) == 0, 2, 'stream closed once the next page is shown')

@pytest.mark.parametrize('with_helper', [True, False], ids=['reconnect', 'without'])
def test_reconnection_script_resumes_after_the_extension_makes_a_new_source(context, app, with_helper):
    """The server drops the stream and answers 503 for a while, so the browser gives up and htmx-ext-sse makes a new EventSource.
    With the helper, the new source asks for `last_event_id` (the last id the page saw) and the page shows what was sent meanwhile,
    once; without it, the new source starts again from where the page was rendered."""
    page = open_tab(context, app, f'/?reconnect={5000 if with_helper else 0}')
    first = send(app, 'one')
    wait_feed(page, ['one'], timeout=2)
    streams = []
    page.on('request', lambda r: streams.append(r.url) if '/sse/broadcast' in r.url else None)
    refusals = []
    def refuse(route): refusals.append(route.request.url); route.fulfill(status=503, body='down for a moment')
    page.route('**/sse/broadcast*', refuse)
    httpx.post(f'{app}/drop', timeout=5)
    page.wait_for_function("() => document.getElementById('listener')['htmx-internal-data'].sseEventSource.url !== undefined && "
                           "document.getElementById('listener')['htmx-internal-data'].sseEventSource.readyState === 2", timeout=10_000)
    send(app, 'two'); send(app, 'three')
    wait_until(lambda: len(refusals) >= 2, 10, 'the extension made a new source, and it was refused too', page)
    page.unroute('**/sse/broadcast*')
    wait_until(lambda: connections(app) == 1, 15, 'a new source connected', page)
    send(app, 'four')
    if with_helper:
        wait_feed(page, ['one', 'two', 'three', 'four'], timeout=3)
        assert f'last_event_id={first}' in streams[-1], streams
    else:
        # Without it the extension's new source knows only the URL the page was rendered with (create_sse_element puts the
        # render-time position there): it starts again from that point, so what the page already showed comes twice.
        wait_feed(page, ['one', 'one', 'two', 'three', 'four'], timeout=3)
        assert f'last_event_id={first}' not in streams[-1], streams
    print(f'\n{"with" if with_helper else "without"} the helper: stream requests after the drop: {len(streams)}; feed {feed(page)}')

@pytest.mark.parametrize('with_helper', [True, False], ids=['reconnect', 'without'])
def test_reconnection_script_reopens_a_source_closed_by_other_code(context, app, with_helper):
    "Page code closes the element's EventSource: the helper reopens it, resuming after the last event; without it, the page stays deaf."
    page = open_tab(context, app, f'/?reconnect={300 if with_helper else 0}')
    first = send(app, 'one')
    wait_feed(page, ['one'], timeout=2)
    held = []
    page.route('**/sse/broadcast*', lambda route: held.append(route))
    page.evaluate("document.getElementById('listener')['htmx-internal-data'].sseEventSource.close()")
    wait_until(lambda: connections(app) == 0, 2, 'the stream closed', page)
    send(app, 'while closed')
    if with_helper:
        _, took = wait_until(lambda: held, 2, 'the helper opened a new stream', page)
        assert f'last_event_id={first}' in held[0].request.url, held[0].request.url
        held[0].continue_()
        page.unroute('**/sse/broadcast*')
        wait_until(lambda: connections(app) == 1, 2, 'the new stream is connected', page)
        send(app, 'after')
        wait_feed(page, ['one', 'while closed', 'after'], timeout=2)
        print(f'\nreopened {took * 1000:.0f} ms after the close, with nothing missed')
    else:
        page.wait_for_timeout(1500)
        assert (held, connections(app), feed(page)) == ([], 0, ['one'])

def test_connection_manager_script_keeps_the_stats_live(context, app):
    a = open_tab(context, app, '/?manager_ms=500')
    a.wait_for_function("document.querySelector('[data-sse-stats=connections]').textContent === '1'", timeout=3000)
    a.evaluate("window.seenStats = []; document.addEventListener('sse:stats', e => seenStats.push(e.detail))")
    b = open_tab(context, app, '/')
    a.wait_for_function("document.querySelector('[data-sse-stats=connections]').textContent === '2'", timeout=2000)
    detail = a.evaluate('seenStats[seenStats.length - 1]')
    assert detail['connections'] == 2 and set(detail) == set(status(app)), detail
    b.close()
    a.wait_for_function("document.querySelector('[data-sse-stats=connections]').textContent === '1'", timeout=2000)

def test_shared_worker_that_fails_to_load_falls_back_to_an_elected_tab(context, app):
    tabs = [open_tab(context, app, '/?share=worker&worker=/no-such-worker.js') for _ in range(2)]
    assert [t.evaluate('cjmSharedSSE.mode') for t in tabs] == ['locks', 'locks']
    assert sorted(t.evaluate('cjmSharedSSE.leading') for t in tabs) == [False, True]
    wait_until(lambda: connections(app) == 1, 2, 'one shared connection')
    send(app, 'shared')
    for t in tabs: wait_feed(t, ['shared'], timeout=2)
