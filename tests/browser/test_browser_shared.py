"""One connection per browser, proven in Chromium against the demo: ten tabs on one connection, through a shared worker
or an elected tab; the same ten tabs without sharing, where the browser's six-connection limit freezes the rest;
and the elected tab closed while messages keep coming.
"""
import threading, time
import httpx, pytest
from pages import demo, open_tab, connections, counter, feed, wait_feed, wait_counter, wait_until, post_message, increment

pytestmark = pytest.mark.timeout(180)

TABS = 10

@pytest.mark.parametrize('args,mode', [([], 'worker'), (['--no-worker'], 'locks')], ids=['shared-worker', 'elected-tab'])
def test_ten_tabs_share_one_connection(context, htmx2_assets, args, mode):
    with demo(htmx2_assets, *args) as url:
        tabs = [open_tab(context, url) for _ in range(TABS)]
        assert {t.evaluate('cjmSharedSSE.mode') for t in tabs} == {mode}
        if mode == 'locks': assert sum(t.evaluate('cjmSharedSSE.leading') for t in tabs) == 1
        wait_until(lambda: connections(url) == 1, 2, 'one connection for all the tabs')
        for i in range(3):
            increment(url)
            post_message(url, f'message {i}')
        took = max(wait_feed(t, [f'message {i}' for i in range(3)], timeout=3) for t in tabs)
        for t in tabs: wait_counter(t, 3, timeout=1)
        assert connections(url) == 1
        print(f'\n{mode}: {TABS} tabs on 1 connection, all updated within {took * 1000:.0f} ms')

def test_without_sharing_tabs_beyond_the_sixth_freeze(context, htmx2_assets):
    "Each tab holds one of the browser's six connections to the origin: a seventh tab can't even load its page."
    with demo(htmx2_assets, '--no-share') as url:
        tabs = [open_tab(context, url) for _ in range(6)]
        wait_until(lambda: connections(url) == 6, 2, 'six connections')
        frozen = [context.new_page() for _ in range(TABS - 6)]
        for page in frozen: page.evaluate('url => { setTimeout(() => { location.href = url; }, 0); }', url)
        # A tab whose navigation waits for a connection can't run scripts: only look at its URL, and wait in a live tab.
        tabs[0].wait_for_timeout(2000)
        increment(url)
        for t in tabs: wait_counter(t, 1, timeout=2)
        tabs[0].wait_for_timeout(1000)
        assert [page.url for page in frozen] == ['about:blank'] * len(frozen), 'tabs 7 and up never got their page'
        assert connections(url) == 6
        tabs[0].close()
        _, took = wait_until(lambda: any(p.url.startswith(url) for p in frozen), 5, 'a frozen tab loads once a connection is free', tabs[1])
        print(f'\nno sharing: tabs 7 to {TABS} frozen; one loaded {took * 1000:.0f} ms after a tab closed')

def test_closing_the_elected_tab_loses_no_message(context, htmx2_assets):
    "Messages keep coming while the tab that holds the connection closes: another tab takes over within 2 s, and every tab shows every message once."
    with demo(htmx2_assets, '--no-worker') as url:
        tabs = [open_tab(context, url) for _ in range(4)]
        leader = next(t for t in tabs if t.evaluate('cjmSharedSSE.leading'))
        others = [t for t in tabs if t is not leader]
        wait_until(lambda: connections(url) == 1, 2, 'one shared connection')
        sent, stop = [], threading.Event()
        def publish():
            with httpx.Client() as http:
                for i in range(30):
                    if stop.is_set(): break
                    text = f'm{i:02d}'
                    http.post(f'{url}/messages', data={'text': text}, timeout=5).raise_for_status()
                    sent.append(text)
                    time.sleep(0.05)
        publisher = threading.Thread(target=publish)
        publisher.start()
        try:
            wait_until(lambda: len(sent) >= 8, 5, 'messages flowing', others[0])
            closed_at = time.monotonic()
            leader.close()
            _, elected = wait_until(lambda: any(t.evaluate('cjmSharedSSE.leading') for t in others), 2, 'another tab elected', others[0])
            mark = f'after close {len(sent)}'
            post_message(url, mark)
            for t in others: t.wait_for_function(f"[...document.querySelectorAll('#feed li')].some(li => li.textContent === '{mark}')", timeout=2000)
            took_over = time.monotonic() - closed_at
        finally:
            publisher.join(20)
            stop.set()
        expected = sorted(sent + [mark])
        for t in others:
            wait_until(lambda: len(feed(t)) >= len(expected), 5, 'every message arrived', t)
            assert sorted(feed(t)) == expected, feed(t)
            assert [m for m in feed(t) if m.startswith('m')] == sent
        wait_until(lambda: connections(url) == 1, 2, 'one connection again', others[0])
        print(f'\nleader closed: new leader in {elected * 1000:.0f} ms; a new message reached every tab {took_over * 1000:.0f} ms after the close; '
              f'{len(sent) + 1} messages, none lost or doubled')


@pytest.mark.parametrize('share', ['worker', 'locks'])
def test_shared_tabs_count_stays_current(browser, htmx2_assets, share):
    "Every [data-sse-shared-tabs] element shows how many of this browser's tabs share the connection, as tabs open and close."
    from pages import page_app
    context = browser.new_context()
    try:
        with page_app(htmx2_assets) as url:
            def tabs_shown(t): return t.text_content('#tabs')
            tabs = [open_tab(context, url, f'/?share={share}')]
            wait_until(lambda: tabs_shown(tabs[0]) == '1', 3, 'one tab', tabs[0])
            for n in (2, 3):
                tabs.append(open_tab(context, url, f'/?share={share}'))
                wait_until(lambda: all(tabs_shown(t) == str(n) for t in tabs), 3, f'{n} tabs in every tab', tabs[-1])
            assert connections(url) == 1
            tabs.pop(0).close()
            wait_until(lambda: all(tabs_shown(t) == '2' for t in tabs), 5, 'two tabs after one closed', tabs[0])
            # a different browser (context) shares nothing with these: it counts its own tab only
            other = browser.new_context()
            try:
                alone = open_tab(other, url, f'/?share={share}')
                wait_until(lambda: tabs_shown(alone) == '1', 3, 'a tab of another browser counts alone', alone)
                assert [tabs_shown(t) for t in tabs] == ['2', '2']
            finally: other.close()
    finally: context.close()


@pytest.mark.parametrize('share', ['worker', 'locks'])
def test_a_tab_behind_the_hub_buffer_catches_up_from_the_server(browser, htmx2_assets, share):
    """The hub keeps 2 events here; a tab rendered 7 events ago joins: it gets those 7 from the server's log (its own catch-up
    stream), then follows the shared stream, every message once and no reset or reload; then the catch-up stream closes."""
    from pages import page_app
    context = browser.new_context()
    try:
        with page_app(htmx2_assets) as url, httpx.Client(timeout=5) as http:
            first = open_tab(context, url, f'/?share={share}&buffer=2')
            ids = [http.post(f'{url}/send', data={'text': f'm{i}'}).json()['id'] for i in range(10)]
            wait_feed(first, [f'm{i}' for i in range(10)], 5)
            resets = []
            second = context.new_page()
            second.on('console', lambda msg: resets.append(msg.text) if 'not_buffered' in msg.text else None)
            second.goto(f'{url}/?share={share}&buffer=2&from_id={ids[2]}')
            second.evaluate('window.firstRender = true')
            wait_feed(second, [f'm{i}' for i in range(3, 10)], 5)
            for i in range(10, 13): http.post(f'{url}/send', data={'text': f'm{i}'}).raise_for_status()
            wait_feed(second, [f'm{i}' for i in range(3, 13)], 5)
            wait_feed(first, [f'm{i}' for i in range(13)], 5)
            assert second.evaluate('window.firstRender === true'), 'the tab reloaded'
            assert not resets, resets
            wait_until(lambda: connections(url) == 1, 5, 'the catch-up stream closed: one connection again', second)
    finally: context.close()


@pytest.mark.parametrize('share', ['worker', 'locks'])
def test_a_tab_that_joins_a_fast_stream_misses_nothing(browser, htmx2_assets, share):
    """1,500 messages a second while a second tab loads: by the time it subscribes, the hub's 100-event buffer no longer
    reaches back to the position its page was rendered at. It still shows every message after that position, once, in order."""
    from pages import page_app, feed
    context = browser.new_context()
    try:
        with page_app(htmx2_assets) as url, httpx.Client(timeout=5) as http:
            first = open_tab(context, url, f'/?share={share}')
            n = 3000
            http.post(f'{url}/burst', data={'n': n, 'rate': 1500}).raise_for_status()
            wait_until(lambda: len(feed(first)) >= 300, 10, 'the burst is under way', first)
            second = open_tab(context, url, f'/?share={share}')
            wait_until(lambda: len(feed(second)) and feed(second)[-1] == f'b{n - 1}', 30, 'the second tab got the last message', second)
            got, rendered = feed(second), int(second.text_content('#sent'))
            assert rendered < n - 300, f'the second tab was rendered too late to test anything (after b{rendered - 1})'
            start = int(got[0][1:])
            assert start <= rendered + 1, f'the second tab was rendered after b{rendered - 1} but shows b{start} first: it missed {start - rendered}'
            assert got == [f'b{i}' for i in range(start, n)], f'gaps or repeats after b{start}: {len(got)} messages for {n - start}'
            wait_until(lambda: len(feed(first)) == n, 10, 'the first tab got them all', first)
            print(f'\n{share}: the second tab joined at b{start} of {n} and showed all {n - start} after it, once each')
    finally: context.close()
