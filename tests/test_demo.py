"The demo app, served the way the README runs it, driven over HTTP by real SSE clients."
import asyncio, re
import httpx, pytest
from cjm_fasthtml_sse.testing import SSEClient
from helpers import free_port, running

pytestmark = pytest.mark.timeout(120)

@pytest.fixture(scope='module')
def demo():
    port = free_port()
    with running(['-m', 'cjm_fasthtml_sse.demo', '--port', str(port)], port) as url: yield url

def test_demo_page_has_the_documented_elements(demo):
    page = httpx.get(demo).text
    for element_id in ['counter', 'increment', 'decrement', 'message-form', 'feed', 'connections']:
        assert f'id="{element_id}"' in page, element_id
    assert 'name="text"' in page and 'sse-connect="/sse/broadcast?last_event_id=' in page

def test_demo_page_carries_one_copy_of_the_common_helpers_with_the_shared_connection(demo):
    page = httpx.get(demo).text
    copies = page.count('var cjmSSE = self.cjmSSE ||') + len(re.findall(r'src="[^"]*/common\.[0-9a-f]+\.js"', page))
    assert copies == 1, f'{copies} copies of common.js on the demo page (sharing on): the page script, the sharing and the helpers should share one'
    for helper in ('page', 'shared', 'monitor', 'cleanup'): assert f'data-cjm-sse="{helper}"' in page, helper

def test_demo_updates_reach_every_tab(demo):
    async def go():
        async with httpx.AsyncClient() as http:
            tabs = [await SSEClient.connect(f'{demo}/sse/broadcast') for _ in range(2)]
            while (await http.get(f'{demo}/sse/status')).json()['connections'] < 2: await asyncio.sleep(0.02)
            start = int(re.search(r'id="counter">(-?\d+)<', (await http.get(demo)).text)[1])
            assert (await http.post(f'{demo}/counter/increment')).status_code == 200
            assert (await http.post(f'{demo}/messages', data={'text': 'hi <there>'})).status_code == 200
            assert (await http.post(f'{demo}/messages', data={'text': '   '})).status_code == 400
            got = [[e.data for e in await t.events(2)] for t in tabs]
            for t in tabs: await t.close()
            return start, got
    start, got = asyncio.run(go())
    for counter, message in got:
        assert counter == f'<span id="counter" hx-swap-oob="outerHTML">{start + 1}</span>'
        assert message == '<div hx-swap-oob="beforeend" id="feed"><li>hi &lt;there&gt;</li></div>'

POST_ROUTES = [('/counter/increment', {}), ('/messages', {'text': 'from elsewhere'}), ('/job/run', {})]

@pytest.mark.parametrize('headers', [{'Origin': 'http://evil.example'}, {'Sec-Fetch-Site': 'cross-site'}, {'Origin': 'null'}])
@pytest.mark.parametrize('path,data', POST_ROUTES)
def test_demo_refuses_cross_site_posts(demo, path, data, headers):
    r = httpx.post(f'{demo}{path}', data=data, headers=headers)
    assert r.status_code == 403, (r.status_code, r.text)
    assert 'cross-site' in r.text

def test_demo_accepts_its_own_origin(demo):
    r = httpx.post(f'{demo}/messages', data={'text': 'same origin'}, headers={'Origin': demo, 'Sec-Fetch-Site': 'same-origin'})
    assert r.status_code == 200, r.text
    assert httpx.get(demo).status_code == 200

def _start_demo(*args):
    import os, subprocess, sys
    from helpers import ROOT
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'PYTHONUNBUFFERED': '1'}
    return subprocess.Popen([sys.executable, '-m', 'cjm_fasthtml_sse.demo', *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

def test_ctrl_c_stops_the_demo_cleanly():
    import signal
    from helpers import wait_for_port
    port = free_port()
    proc = _start_demo('--port', str(port))
    try:
        wait_for_port(port, proc)
        async def open_stream():
            c = await SSEClient.connect(f'http://127.0.0.1:{port}/sse/broadcast')
            proc.send_signal(signal.SIGINT)
            return c
        asyncio.run(open_stream())
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None: proc.kill(); proc.communicate(timeout=10)
    assert proc.returncode == 0, (proc.returncode, err)
    assert 'Traceback' not in err and 'Error' not in err, err
    assert f'http://127.0.0.1:{port}' in out

def test_busy_port_gets_one_line_that_suggests_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); s.listen()
        port = s.getsockname()[1]
        proc = _start_demo('--port', str(port))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert 'Traceback' not in err, err
    lines = [l for l in (out + err).splitlines() if l.strip()]
    assert len(lines) == 1, lines
    assert f'port {port}' in lines[0] and '--port' in lines[0], lines[0]
