"""One connection per browser under htmx 4 too, proven in Chromium against the `--htmx 4` demo: hx-sse's `fetch` of the
stream is answered from the same shared worker or elected tab as htmx 2's EventSource. Ten tabs load and update on one
connection, and a numbered run of messages reaches every tab exactly once while the tab (or the first page of the worker)
that holds the connection closes.
"""
import threading, time
import httpx, pytest
from helpers import free_port
from pages import (STREAM_OPEN, connections, counter, demo, feed, increment, open_tab, post_message, reloaded, wait_counter,
                   wait_feed, wait_until)
from proxy import cut_proxy

pytestmark = pytest.mark.timeout(240)

TABS = 10
CUT_S, CHANGES, CATCH_UP_S = 4, 5, 8
MODES = [([], 'worker'), (['--no-worker'], 'locks')]
IDS = ['shared-worker', 'elected-tab']

def shared_tabs(page): return page.text_content('[data-sse-shared-tabs]')

@pytest.mark.parametrize('args,mode', MODES, ids=IDS)
def test_ten_htmx4_tabs_share_one_connection(context, htmx4_assets, args, mode):
    with demo(htmx4_assets, '--htmx', '4', *args) as url:
        tabs = [open_tab(context, url) for _ in range(TABS)]
        assert {t.evaluate('cjmSharedSSE.mode') for t in tabs} == {mode}
        if mode == 'locks': assert sum(t.evaluate('cjmSharedSSE.leading') for t in tabs) == 1
        wait_until(lambda: connections(url) == 1, 3, 'one connection for all the htmx 4 tabs')
        wait_until(lambda: all(shared_tabs(t) == str(TABS) for t in tabs), 5, f'every tab shows {TABS} tabs sharing', tabs[0])
        for i in range(3):
            increment(url)
            post_message(url, f'message {i}')
        took = max(wait_feed(t, [f'message {i}' for i in range(3)], timeout=5) for t in tabs)
        for t in tabs: wait_counter(t, 3, timeout=2)
        assert connections(url) == 1
        print(f'\nhtmx 4, {mode}: {TABS} tabs on 1 connection, all updated within {took * 1000:.0f} ms')

def _publish(url, sent, stop, count=30):
    "Post `m00`, `m01`, ... every 50 ms, recording each one the server accepted."
    with httpx.Client() as http:
        for i in range(count):
            if stop.is_set(): break
            text = f'm{i:02d}'
            http.post(f'{url}/messages', data={'text': text}, timeout=5).raise_for_status()
            sent.append(text)
            time.sleep(0.05)

@pytest.mark.parametrize('args,mode', MODES, ids=IDS)
def test_closing_the_holder_loses_and_doubles_nothing(context, htmx4_assets, args, mode):
    "Messages keep coming while the tab that holds the connection (locks) or the first page of the worker closes: every other tab shows each message exactly once, in order."
    with demo(htmx4_assets, '--htmx', '4', *args) as url:
        tabs = [open_tab(context, url) for _ in range(4)]
        holder = next(t for t in tabs if t.evaluate('cjmSharedSSE.leading')) if mode == 'locks' else tabs[0]
        others = [t for t in tabs if t is not holder]
        wait_until(lambda: connections(url) == 1, 3, 'one shared connection')
        sent, stop = [], threading.Event()
        publisher = threading.Thread(target=_publish, args=(url, sent, stop))
        publisher.start()
        try:
            wait_until(lambda: len(sent) >= 8, 5, 'messages flowing', others[0])
            closed_at = time.monotonic()
            holder.close()
            if mode == 'locks': wait_until(lambda: any(t.evaluate('cjmSharedSSE.leading') for t in others), 3, 'another tab elected', others[0])
            mark = f'after close {len(sent)}'
            post_message(url, mark)
            for t in others: t.wait_for_function(f"[...document.querySelectorAll('#feed li')].some(li => li.textContent === '{mark}')", timeout=3000)
            took_over = time.monotonic() - closed_at
        finally:
            publisher.join(20)
            stop.set()
        assert len(sent) == 30
        for t in others:
            wait_until(lambda: len(feed(t)) >= len(sent) + 1, 5, 'every message arrived', t)
            shown = feed(t)
            assert sorted(shown) == sorted(sent + [mark]), shown
            assert [m for m in shown if m.startswith('m')] == sent, shown
        wait_until(lambda: connections(url) == 1, 3, 'one connection again', others[0])
        wait_until(lambda: all(shared_tabs(t) == str(len(others)) for t in others), 5, 'the tab count drops by one', others[0])
        print(f'\nhtmx 4, {mode}: holder closed; a new message reached every tab {took_over * 1000:.0f} ms after the close; '
              f'{len(sent) + 1} messages, none lost or doubled')

def test_shared_htmx4_tabs_catch_up_after_a_cut(context, htmx4_assets):
    "Two htmx 4 tabs share the worker's stream through the cut proxy: after a 4 s cut both show every message posted during it, once, and the right count."
    port = free_port()
    with demo(htmx4_assets, '--htmx', '4', port=port) as url, cut_proxy(port) as proxy:
        tabs = [open_tab(context, proxy.url) for _ in range(2)]
        wait_until(lambda: connections(url) == 1, 3, 'one shared connection')
        start, before = int(counter(tabs[0])), feed(tabs[0])
        assert proxy.cut(CUT_S) >= 1
        cut_at = time.monotonic()
        texts = [f'during the cut {i}' for i in range(CHANGES)]
        for text in texts:
            increment(url)
            post_message(url, text)
            tabs[0].wait_for_timeout(CUT_S * 1000 / (2 * CHANGES))
        assert time.monotonic() - cut_at < CUT_S
        tabs[0].wait_for_timeout(max(0, (cut_at + CUT_S - time.monotonic()) * 1000))
        took = max(wait_counter(t, start + CHANGES, CATCH_UP_S) for t in tabs)
        for t in tabs: wait_feed(t, before + texts, CATCH_UP_S)
        tabs[0].wait_for_timeout(500)
        for t in tabs: assert feed(t) == before + texts, 'a message appeared twice'
        wait_until(lambda: connections(url) == 1, 3, 'still one connection after the cut')
        print(f'\nhtmx 4 shared: both tabs caught up {took:.2f} s after the cut ended ({proxy.refused} connections refused during it)')

def test_shared_htmx4_reset_fires_sse_reset_then_reloads_every_tab(context, htmx4_assets):
    "The demo restarts and loses its history: the shared stream's reset reaches each htmx 4 tab as one cancelable sse:reset, then each tab reloads."
    port = free_port()
    with demo(htmx4_assets, '--htmx', '4', port=port) as url:
        tabs = [open_tab(context, url) for _ in range(2)]
        post_message(url, 'first server')
        for t in tabs: wait_feed(t, ['first server'], 5)
        resets = [[] for _ in tabs]
        for t, seen in zip(tabs, resets):
            t.expose_function('sawReset', lambda detail, seen=seen: seen.append(detail))
            t.evaluate("window.beforeRestart = true; document.addEventListener('sse:reset', e => window.sawReset(e.detail))")
    with demo(htmx4_assets, '--htmx', '4', port=port) as url:
        for t in tabs: wait_until(lambda: reloaded(t), 20, 'the tab reloads after the reset', t, interval=0.1)
        assert [len(seen) for seen in resets] == [1, 1], resets
        assert all(seen[0]['reason'] and seen[0]['id'] for seen in resets), resets
        for t in tabs: t.wait_for_function(STREAM_OPEN, timeout=10_000)
        wait_until(lambda: connections(url) == 1, 5, 'one connection on the new server')
        post_message(url, 'second server')
        for t in tabs: wait_feed(t, ['second server'], 5)
    print(f'\nhtmx 4 shared reset: {resets}')

HIDE = "() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => true}); document.dispatchEvent(new Event('visibilitychange')); }"

def test_a_hidden_htmx4_tab_stays_on_the_share(context, htmx4_assets):
    "hx-sse pauses a hidden tab's stream by default; a shared one stays on: the tab still counts and still updates while hidden."
    with demo(htmx4_assets, '--htmx', '4') as url:
        tabs = [open_tab(context, url) for _ in range(2)]
        wait_until(lambda: all(shared_tabs(t) == '2' for t in tabs), 15, 'two tabs sharing', tabs[0])
        tabs[1].evaluate(HIDE)
        tabs[1].wait_for_timeout(300)
        post_message(url, 'while hidden')
        for t in tabs: wait_feed(t, ['while hidden'], 10)
        assert [shared_tabs(t) for t in tabs] == ['2', '2']
        assert tabs[1].evaluate("htmx.config.sse.pauseOnBackground") is False
        assert connections(url) == 1
