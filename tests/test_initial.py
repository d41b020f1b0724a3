"Initial state on connect, on a real uvicorn: a new stream gets the app's current state first, then only later messages; a resuming stream gets no initial state and resumes exactly."
import asyncio, json
import httpx, pytest
from helpers import engine_server, run, until
from cjm_fasthtml_sse.testing import SSEClient

pytestmark = pytest.mark.timeout(60)

def test_a_new_stream_starts_with_the_state_and_a_resume_after_it_is_exact():
    with engine_server() as url:
        async def go():
            async with httpx.AsyncClient(timeout=10) as http:
                for _ in range(3): await http.post(f'{url}/_test/count')
                tab = await SSEClient.connect(f'{url}/init/broadcast')
                first = await tab.next_event()
                position = tab.parser.last_event_id
                plain = await SSEClient.connect(f'{url}/sse/broadcast')
                await until(http, url, lambda s: s['connections'] == 2)
                await http.post(f'{url}/_test/count')
                live, on_plain = await tab.next_event(), await plain.next_event()
                back = await SSEClient.connect(f'{url}/init/broadcast', headers={'Last-Event-ID': position})
                resumed = await back.next_event()
                for c in (tab, plain, back): await c.close()
                return first, position, live, on_plain, resumed
        first, position, live, on_plain, resumed = run(go())
    assert (first.event, first.data) == ('message', '<span hx-swap-oob="true" id="counter">3</span>')
    assert position and position.isdigit(), 'the id-only block after the state gives the page its position'
    assert json.loads(live.data)['data']['i'] == 4 and int(live.id) == int(position) + 1, 'the update after the state, and nothing older'
    assert json.loads(on_plain.data)['data']['i'] == 4, 'a route without initial= starts with the live messages'
    assert json.loads(resumed.data)['data']['i'] == 4 and resumed.id == live.id, 'a resume from the position gets exactly the later messages, and no initial state'

def test_initial_state_and_resume_across_processes_through_redis():
    "The state is read on process B from the history that Redis shares; the updates are broadcast on A; a resume on A after B's position is exact."
    from helpers import redis_server
    with redis_server() as (redis, *_), engine_server(redis=redis) as a, engine_server(redis=redis) as b:
        async def go():
            async with httpx.AsyncClient(timeout=10) as http:
                for _ in range(3): await http.post(f'{a}/_test/count')
                await until(http, b, lambda s: s['history_size'] == 3)
                tab = await SSEClient.connect(f'{b}/last/broadcast')
                first = await tab.next_event()
                position = tab.parser.last_event_id
                await until(http, b, lambda s: s['connections'] == 1)
                await http.post(f'{a}/_test/count')
                live = await tab.next_event()
                back = await SSEClient.connect(f'{a}/last/broadcast', headers={'Last-Event-ID': position})
                resumed = await back.next_event()
                for c in (tab, back): await c.close()
                return first, position, live, resumed
        first, position, live, resumed = run(go())
    assert first.data == '<span hx-swap-oob="true" id="counter">3</span>'
    assert json.loads(live.data)['data']['i'] == 4 and int(live.id) == int(position) + 1
    assert json.loads(resumed.data)['data']['i'] == 4 and resumed.id == live.id
