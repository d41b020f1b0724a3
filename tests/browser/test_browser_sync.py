"""Cross-tab sync in a real Chromium, against the real demo: two tabs in step, a server restart, and closed tabs.

Each test runs for three pages: htmx 2 sharing one connection through a shared worker (the demo's default),
htmx 2 with a connection per tab (`--no-share`), and htmx 4 (`--htmx 4`) shared and per tab.
"""
import time
import pytest
from helpers import free_port
from pages import (demo, open_tab, connections, counter, feed, wait_feed, wait_counter, wait_until, post_message, increment)

pytestmark = pytest.mark.timeout(120)

# htmx version, demo arguments, server connections for two tabs
CONFIGS = {'htmx2-shared': (2, [], 1), 'htmx2-per-tab': (2, ['--no-share'], 2), 'htmx4-shared': (4, ['--htmx', '4'], 1),
           'htmx4-per-tab': (4, ['--htmx', '4', '--no-share'], 2)}

@pytest.fixture(params=list(CONFIGS))
def config(request, htmx2_assets, htmx4_assets):
    "(assets, demo arguments, connections for two tabs) of one page setup."
    version, args, two_tabs = CONFIGS[request.param]
    return (htmx2_assets if version == 2 else htmx4_assets), args, two_tabs

def test_two_tabs_stay_in_step(context, config):
    assets, args, two_tabs = config
    with demo(assets, *args) as url:
        a, b = open_tab(context, url), open_tab(context, url)
        wait_until(lambda: connections(url) == two_tabs, 2, f'{two_tabs} server connection(s) for two tabs', a)
        start = int(counter(b))
        a.bring_to_front()
        a.click('#increment')
        took = wait_counter(b, start + 1, timeout=1.0)
        wait_counter(a, start + 1, timeout=1.0)
        b.bring_to_front()
        b.fill('#message-form input[name=text]', 'hello from B')
        b.click('#message-form button')
        wait_feed(a, ['hello from B'], timeout=1.0)
        wait_feed(b, ['hello from B'], timeout=1.0)
        print(f'\n{args}: click in A shown in B after {took * 1000:.0f} ms')

def test_tabs_come_back_after_a_server_restart(context, config, tmp_path):
    "The demo dies and comes back on the same port; messages posted before, while the tabs are away, and after all show once."
    assets, args, _ = config
    port, state = free_port(), str(tmp_path / 'state.json')
    args = [*args, '--state', state]
    with demo(assets, *args, port=port) as url:
        tabs = [open_tab(context, url) for _ in range(2)]
        post_message(url, 'before 1')
        increment(url)
        post_message(url, 'before 2')
        for tab in tabs: wait_feed(tab, ['before 1', 'before 2'], timeout=2)
    stopped = time.monotonic()
    with demo(assets, *args, port=port) as url:
        away = connections(url)
        post_message(url, 'while away')
        increment(url)
        expected = ['before 1', 'before 2', 'while away']
        took = [wait_feed(tab, expected, timeout=20) for tab in tabs]
        for tab in tabs: wait_counter(tab, 2, timeout=2)
        wait_until(lambda: connections(url) >= 1, 5, 'the tabs reconnect')
        post_message(url, 'after')
        for tab in tabs: wait_feed(tab, expected + ['after'], timeout=2)
        print(f'\n{args[:-2]}: {away} connections right after the restart; tabs caught up '
              f'{time.monotonic() - stopped:.1f} s after the old server stopped ({max(took):.1f} s after the posts)')

def test_closing_a_tab_drops_its_connection(context, htmx2_assets):
    with demo(htmx2_assets, '--no-share') as url:
        a, b = open_tab(context, url), open_tab(context, url)
        wait_until(lambda: connections(url) == 2, 2, 'two connections')
        b.close()
        _, took = wait_until(lambda: connections(url) == 1, 2, 'one connection after closing a tab')
        print(f'\nper tab: connection dropped {took * 1000:.0f} ms after the tab closed')
    with demo(htmx2_assets) as url:
        tabs = [open_tab(context, url) for _ in range(3)]
        wait_until(lambda: connections(url) == 1, 2, 'one shared connection')
        tabs[0].close()
        time.sleep(0.3)
        assert connections(url) == 1
        for tab in tabs[1:]: tab.close()
        _, took = wait_until(lambda: connections(url) == 0, 2, 'no connection after closing every tab')
        print(f'shared: connection dropped {took * 1000:.0f} ms after the last tab closed')
