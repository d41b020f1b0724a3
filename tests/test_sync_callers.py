"Broadcasting from sync code on a real uvicorn: a plain `def` route and a worker thread deliver through `broadcast_threadsafe`; a forgotten await is an error that names the fix."
import asyncio, json
import httpx, pytest
from helpers import engine_server, run, until
from cjm_fasthtml_sse.testing import SSEClient

pytestmark = pytest.mark.timeout(60)

def test_a_def_route_and_a_thread_deliver_and_a_forgotten_await_is_loud():
    with engine_server() as url:
        async def go():
            async with httpx.AsyncClient(timeout=10) as http:
                tab = await SSEClient.connect(f'{url}/sse/broadcast')
                await until(http, url, lambda s: s['connections'] == 1)
                sync = await http.post(f'{url}/_test/sync?n=7')
                from_route = await tab.next_event()
                started = await http.post(f'{url}/_test/thread?n=50')
                from_thread = await tab.events(50)
                forgot = await http.post(f'{url}/_test/forgot')
                await http.post(f'{url}/_test/sync?n=8')
                after = await tab.next_event()
                await tab.close()
                return sync.text, from_route, started.text, from_thread, forgot, after
        sync, from_route, started, from_thread, forgot, after = run(go())
    body = lambda e: json.loads(e.data)
    assert sync == 'queued' and (body(from_route)['type'], body(from_route)['data']['i']) == ('sync', 7)
    assert started == 'started' and [body(e)['data']['i'] for e in from_thread] == list(range(50))
    assert {body(e)['type'] for e in from_thread} == {'thread'}
    assert forgot.status_code == 500 and 'broadcast_threadsafe' in forgot.text and 'async def' in forgot.text
    assert body(after)['data']['i'] == 8, 'the forgotten broadcast must not have been sent'
