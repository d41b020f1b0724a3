"`initial=` and the stream's position, on a real uvicorn: an update committed while an async `initial=` reads the state still reaches the stream, after the state (issue 18)."
import asyncio, json, re
import httpx, pytest
from helpers import free_port, uvicorn_app
from cjm_fasthtml_sse.testing import SSEClient

pytestmark = pytest.mark.timeout(120)
UPDATES, STREAMS, AT_ONCE = 300, 96, 12

async def _open(url):
    "A new stream and the counter value its initial state shows."
    tab = await SSEClient.connect(f'{url}/sse/broadcast', timeout=20)
    first = await tab.next_event(timeout=20)
    return tab, int(re.search(r'>(\d+)<', first.data).group(1))

async def _rest(tab, last, timeout=30):
    "The values of the updates `tab` receives, up to the one that carries `last`."
    got = []
    while not got or got[-1] < last:
        ev = await tab.next_event(timeout=timeout)
        if ev is None: break
        if ev.event == 'message': got.append(json.loads(ev.data)['data']['i'])
    return got

def test_an_update_committed_during_an_async_initial_read_is_never_skipped():
    "Streams open while updates are committed, and each read takes 5 ms: every stream gets every update after its state, with no gap."
    port = free_port()
    with uvicorn_app('slow_initial_app:app', port) as url:
        async def go():
            async with httpx.AsyncClient(timeout=20) as http:
                assert (await http.post(f'{url}/_test/updates?n={UPDATES}')).text == 'started'
                opened = []
                while len(opened) < STREAMS and not (await http.get(f'{url}/_test/progress')).json()['done']:
                    opened += await asyncio.gather(*(_open(url) for _ in range(AT_ONCE)))
                for _ in range(3000):
                    if (await http.get(f'{url}/_test/progress')).json()['done']: break
                    await asyncio.sleep(0.01)
                during = [(tab, v) for tab, v in opened if v < UPDATES]
                rests = await asyncio.gather(*(_rest(tab, UPDATES) for tab, _ in during))
                for tab, _ in opened: await tab.close()
                return [(v, rest) for (_, v), rest in zip(during, rests)]
        seen = asyncio.run(asyncio.wait_for(go(), 110))
    assert len(seen) >= 2 * AT_ONCE, f"only {len(seen)} streams opened while the updates ran: the check saw too little"
    skipped = [(v, sorted(set(range(v + 1, UPDATES + 1)) - set(rest))[:5]) for v, rest in seen if not set(range(v + 1, UPDATES + 1)) <= set(rest)]
    assert not skipped, f"{len(skipped)} of {len(seen)} streams never got updates committed after the state they were sent (state, first missing): {skipped[:5]}"
