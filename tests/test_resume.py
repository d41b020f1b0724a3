"Streams that lose nothing: Last-Event-ID resume, resets, channels and stats, on a real uvicorn server."
import asyncio, json
import httpx, pytest
from helpers import free_port, uvicorn_app, run, state, until, connect, broadcast, hang_up, opening
from cjm_fasthtml_sse.testing import SSEClient

pytestmark = pytest.mark.timeout(120)

@pytest.fixture(scope='module')
def server():
    port = free_port()
    with uvicorn_app('server_app:app', port, env={'SSE_TEST_QUEUE': '16', 'SSE_TEST_HISTORY': '400'}) as url: yield url

def numbers(events): return [json.loads(e.data)['data']['i'] for e in events]

def test_reconnect_with_last_event_id_gets_exactly_what_was_missed(server):
    async def go():
        async with httpx.AsyncClient() as http:
            [c] = await connect(server)
            await until(http, server, lambda s: len(s['connections']) == 1)
            for i in range(5): await broadcast(http, server, 'n', {'i': i})
            first = await c.events(5)
            await hang_up(http, server, [c])
            for i in range(5, 25): await broadcast(http, server, 'n', {'i': i})
            back = await SSEClient.connect(f'{server}/sse/broadcast', headers={'Last-Event-ID': first[-1].id})
            missed = await back.events(20)
            await broadcast(http, server, 'n', {'i': 25})
            live = await back.next_event()
            by_query = await SSEClient.connect(f'{server}/sse/broadcast?last_event_id={first[-1].id}')
            again = await by_query.events(21)
            await hang_up(http, server, [back, by_query])
            stats = (await http.get(f'{server}/sse/status')).json()
            return first, missed, live, again, back, stats
    first, missed, live, again, back, stats = run(go())
    assert numbers(first) == list(range(5))
    assert numbers(missed) == list(range(5, 25))
    assert numbers([live]) == [25]
    assert numbers(again) == list(range(5, 26))
    ids = [int(e.id) for e in first + missed + [live]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert back.parser.retry == 2000
    assert stats['resumes'] >= 2

def test_unknown_or_too_old_id_gets_one_reset(server):
    async def go():
        async with httpx.AsyncClient() as http:
            newest = (await broadcast(http, server, 'n', {'i': 0}))['id']
            clients = [await SSEClient.connect(f'{server}/sse/broadcast', headers={'Last-Event-ID': last})
                       for last in ('1', str(int(newest) + 1000), 'garbage')]
            await until(http, server, lambda s: len(s['connections']) == 3)
            resets = [await c.next_event() for c in clients]
            await broadcast(http, server, 'n', {'i': 1})
            after = [await c.next_event() for c in clients]
            await hang_up(http, server, clients)
            return newest, resets, after, (await http.get(f'{server}/sse/status')).json()
    newest, resets, after, stats = run(go())
    assert [r.event for r in resets] == ['reset'] * 3
    assert [json.loads(r.data)['reason'] for r in resets] == ['too_old', 'unknown_id', 'unknown_id']
    assert all(r.id == newest for r in resets)
    assert numbers(after) == [1, 1, 1]
    assert stats['resets'] >= 3

def test_a_stalled_client_is_cut_while_the_log_still_holds_it_and_loses_nothing_on_reconnect(server):
    "A client that stops reading is cut once it is owed 3/4 of the log (300 of 400 here), before the log drops its position: its resume is whole."
    big = 'x' * 100_000
    async def go():
        async with httpx.AsyncClient(timeout=10) as http:
            [slow] = await connect(server, path='/open/broadcast', connection_id='slow')
            await until(http, server, lambda s: s['connections'] == ['slow'])
            for i in range(3): await broadcast(http, server, 'n', {'i': i, 'pad': big})
            seen = await slow.events(3)
            sent = 3
            while 'slow' in (await state(http, server))['connections'] and sent < 700:
                await broadcast(http, server, 'n', {'i': sent, 'pad': big})
                sent += 1
            dropped = (await state(http, server))['dropped']
            await slow.read_until_end(10)
            while (e := await slow.next_event(1)) is not None: seen.append(e)
            back = await SSEClient.connect(f'{server}/sse/broadcast', headers={'Last-Event-ID': seen[-1].id})
            rest = await back.events(sent - len(seen), timeout=30)
            await hang_up(http, server, [slow, back])
            return sent, dropped, seen, rest
    sent, dropped, seen, rest = run(go())
    assert sent < 700, 'the slow client was never dropped'
    assert dropped >= 1
    assert numbers(seen) == list(range(len(seen))) and len(seen) < sent
    assert numbers(rest) == list(range(len(seen), sent))

def test_channels_route_messages_and_resume_respects_them(server):
    async def go():
        async with httpx.AsyncClient() as http:
            [ab] = await connect(server, path='/open/broadcast', channel='a&channel=b')
            [plain] = await connect(server)
            await until(http, server, lambda s: len(s['connections']) == 2)
            status = (await http.get(f'{server}/open/status', headers={'x-admin': 'yes'})).json()
            for i, ch in enumerate(['a', None, 'c', 'b']): await broadcast(http, server, 'n', {'i': i}, channel=ch)
            got_ab, got_plain = await ab.events(3), await plain.events(1)
            await ab.close()
            await until(http, server, lambda s: len(s['connections']) == 1)
            for i, ch in enumerate(['c', 'b', None, 'a'], start=4): await broadcast(http, server, 'n', {'i': i}, channel=ch)
            back = await SSEClient.connect(f'{server}/open/broadcast?channel=a&channel=b', headers={'Last-Event-ID': got_ab[-1].id})
            resumed = await back.events(3)
            await hang_up(http, server, [plain, back])
            return status, got_ab, got_plain, resumed
    status, got_ab, got_plain, resumed = run(go())
    assert status['channels'] == {'a': 1, 'b': 1}
    assert numbers(got_ab) == [0, 1, 3]
    assert numbers(got_plain) == [1]
    assert numbers(resumed) == [5, 6, 7]
    assert [json.loads(e.data)['channel'] for e in resumed] == ['b', None, 'a']

def test_status_reports_the_stats(server):
    stats = httpx.get(f'{server}/sse/status').json()
    for key in ['connections', 'history_size', 'channel_count', 'messages_broadcast', 'dropped', 'resumes', 'resets']: assert key in stats, key
    assert stats['messages_broadcast'] > 0

def test_the_opening_sets_the_stream_position_without_dispatching(server):
    "A page that gets no message before a cut still has an id to resume from: the opening ends with an id-only block."
    async def go():
        async with httpx.AsyncClient() as http:
            newest = (await broadcast(http, server, 'n', {'i': 0}))['id']
            [c] = await connect(server)
            dispatched = list(await opening(c))
            position = c.parser.last_event_id
            await hang_up(http, server, [c])
            for i in (1, 2): await broadcast(http, server, 'n', {'i': i})
            back = await SSEClient.connect(f'{server}/sse/broadcast', headers={'Last-Event-ID': position})
            missed = await back.events(2)
            await broadcast(http, server, 'n', {'i': 3})
            live = await back.next_event()
            await hang_up(http, server, [back])
            return newest, dispatched, position, missed, live
    newest, dispatched, position, missed, live = run(go())
    assert dispatched == []
    assert position == newest
    assert [e.event for e in missed] == ['message', 'message'] and numbers(missed + [live]) == [1, 2, 3]

def test_a_restart_that_lost_the_history_gives_one_reset():
    "A page rendered before a restart resumes with an id the new process never gave out: exactly one reset, then live messages."
    port = free_port()
    with uvicorn_app('server_app:app', port) as url:
        async def before():
            async with httpx.AsyncClient() as http:
                await broadcast(http, url, 'n', {'i': 0})
                [c] = await connect(url)
                await opening(c)
                await hang_up(http, url, [c])
                return c.parser.last_event_id
        old = run(before())
    with uvicorn_app('server_app:app', port) as url:
        async def after():
            async with httpx.AsyncClient() as http:
                c = await SSEClient.connect(f'{url}/sse/broadcast?last_event_id={old}')
                await until(http, url, lambda s: len(s['connections']) == 1)
                await broadcast(http, url, 'n', {'i': 1})
                got = await c.events(2)
                await hang_up(http, url, [c])
                return got
        got = run(after())
    assert old
    assert [e.event for e in got] == ['reset', 'message']
    assert json.loads(got[0].data)['reason'] == 'too_old'
    assert numbers(got[1:]) == [1]
