"""The connection status monitor in a real Chromium, against the real demo: stop the server and the indicator says
reconnecting or offline; start it again on the same port and it says connected, within the stream's retry interval.

Each test runs for the demo's three page setups: htmx 2 sharing one connection through a shared worker, htmx 2 with a
connection per tab (`--no-share`), and htmx 4 (`--htmx 4`), shared and per tab.
"""
import time
import pytest
from helpers import free_port
from pages import demo, open_tab

pytestmark = pytest.mark.timeout(120)

CONFIGS = {'htmx2-shared': (2, []), 'htmx2-per-tab': (2, ['--no-share']), 'htmx4-shared': (4, ['--htmx', '4']),
           'htmx4-per-tab': (4, ['--htmx', '4', '--no-share'])}
RETRY_MS = 2000  # the `retry:` the demo's stream asks browsers for (setup_broadcast_routes' default retry_ms)

# Records every state the indicator shows, from the `sse:status` events of the monitor, in sessionStorage: after a restart
# the demo's stream may answer with a `reset`, and the demo then reloads the page, which must not lose the record.
RECORD = """(() => {
  const log = () => JSON.parse(sessionStorage.getItem('statusLog') || '[]');
  const add = state => sessionStorage.setItem('statusLog', JSON.stringify(log().concat([state])));
  document.addEventListener('sse:status', e => add(e.detail.state));
  addEventListener('pageshow', () => add('(page load)'));
})()"""

@pytest.fixture(params=list(CONFIGS))
def config(request, htmx2_assets, htmx4_assets):
    version, args = CONFIGS[request.param]
    return (htmx2_assets if version == 2 else htmx4_assets), args

def status(page): return page.get_attribute('#sse-status', 'data-sse-status')

def wait_status(page, states, timeout):
    "Wait until the indicator shows one of `states`; return the seconds it took."
    start = time.monotonic()
    js = "states => states.includes(document.getElementById('sse-status').dataset.sseStatus)"
    try: page.wait_for_function(js, arg=list(states), timeout=timeout * 1000, polling=20)
    except Exception as e: raise AssertionError(f"status is {status(page)!r}, expected one of {states} within {timeout} s") from e
    return time.monotonic() - start

def read_log(page, tries=3):
    "The recorded states; read again if the page was navigating (reloading) at that moment."
    for i in range(tries):
        try: return page.evaluate("JSON.parse(sessionStorage.getItem('statusLog'))")
        except Exception:
            if i == tries - 1: raise
            page.wait_for_load_state()

def test_monitor_follows_a_server_restart(context, config):
    assets, args = config
    port = free_port()
    with demo(assets, *args, port=port) as url:
        context.add_init_script(RECORD)
        tab = open_tab(context, url)
        wait_status(tab, ['connected'], timeout=5)
        assert tab.text_content('#sse-status') == 'Connected'
        assert 'sse-connected' in tab.get_attribute('#sse-status', 'class')
    stopped = time.monotonic()
    down = wait_status(tab, ['reconnecting', 'offline'], timeout=5)
    assert tab.text_content('#sse-status') in ('Reconnecting…', 'Offline')
    time.sleep(0.5)  # the server stays down a moment: the browser's first retries fail
    with demo(assets, *args, port=port) as url:
        # Back within one retry interval of the server listening again, plus time for the page's stream to be served.
        up = wait_status(tab, ['connected'], timeout=RETRY_MS / 1000 + 2)
        # The new server may answer the page's old event id with a `reset`, and the demo then reloads the page: let that settle.
        tab.wait_for_timeout(1000)
        wait_status(tab, ['connected'], timeout=5)
        log = read_log(tab)
        first = log.index('connected')
        assert log[-1] == 'connected' and any(s in ('reconnecting', 'offline') for s in log[first:]), log
        assert tab.text_content('#sse-status') == 'Connected'
        # Down for less than offline_after (10 s): reconnecting, never offline, also while the demo reloads the page.
        assert 'offline' not in log, log
        print(f"\n{args}: indicator left 'connected' {down * 1000:.0f} ms after the server stopped; back to 'connected' "
              f"{up * 1000:.0f} ms after it listened again ({time.monotonic() - stopped:.1f} s down in all); states: {log}")
        assert up <= RETRY_MS / 1000 + 1.5, f"took {up:.1f} s to reconnect, more than the retry interval of {RETRY_MS} ms allows"
