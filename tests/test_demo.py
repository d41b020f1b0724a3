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
