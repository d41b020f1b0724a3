"Per-key conflation on a real uvicorn: a client that catches up skips the keyed messages a later one replaces, never an unkeyed one, and ids stay in order."
import asyncio, json, socket
import httpx, pytest
from helpers import engine_server, run, until
from cjm_fasthtml_sse.testing import SSEClient

pytestmark = pytest.mark.timeout(120)

def kinds(events): return [(json.loads(e.data)['type'], json.loads(e.data)['data']['i']) for e in events if e.event == 'message']

def test_a_stalled_client_catches_up_with_one_counter_and_every_feed_message():
    "A tab stalls (6 MB it hasn't read), then 10,000 keyed counter updates and 10 feed messages go out: it catches up with 1 counter + 10 feed, no reset; a reading tab gets every feed message and the last counter."
    with engine_server(send_timeout=120) as url:  # the stall lasts as long as the 10,000 take on a busy machine: no cut meanwhile
        async def go():
            async with httpx.AsyncClient(timeout=60) as http:
                live, slow = [await SSEClient.connect(f'{url}/sse/broadcast') for _ in range(2)]
                slow.writer.get_extra_info('socket').setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # a small window; it reads nothing for now
                await until(http, url, lambda s: s['connections'] == 2)
                await http.post(f'{url}/_test/burst', json={'n': 60, 'pad': 100_000})
                got_live = await live.events(60, timeout=30)
                assert (await until(http, url, lambda s: s['lagged'] >= 1))
                await http.post(f'{url}/_test/keyed', json={'n': 10_000, 'feed': 10})
                while not kinds(got_live[-1:]) == [('feed', 9)]:  # a reading tab may fall behind in the tight loop too: it is conflated the same way
                    e = await live.next_event(30)
                    if e is None: break
                    got_live.append(e)
                caught_up = await slow.events(60 + 11, timeout=60)
                try: extra = await slow.next_event(0.5)  # nothing more: no reset, no skipped-over counter
                except TimeoutError: extra = None
                after = await until(http, url, lambda s: True)
                await live.close(); await slow.close()
                return got_live, caught_up, extra, after
        got_live, caught_up, extra, after = run(go(), 110)
    seen = kinds(got_live)[60:]
    assert [e.event for e in got_live].count('reset') == 0 and [k for k in seen if k[0] == 'feed'] == [('feed', i) for i in range(10)]
    counters = [i for kind, i in seen if kind == 'counter']
    assert counters[-1] == 9999 and counters == sorted(counters)
    assert kinds(caught_up)[:60] == [('n', i) for i in range(60)]
    rest = kinds(caught_up)[60:]
    assert [k for k in rest if k[0] == 'counter'] == [('counter', 9999)]
    assert [k for k in rest if k[0] == 'feed'] == [('feed', i) for i in range(10)]
    assert extra is None and not any(e.event == 'reset' for e in caught_up)
    ids = [int(e.id) for e in caught_up]
    assert ids == sorted(ids), 'ids out of order'
    assert after['resets'] == 0

def test_conflation_works_across_processes_through_redis():
    "The same through Redis: the messages are broadcast on process A, the stalled tab is on process B, and B's log conflates them."
    from helpers import redis_server
    with redis_server() as (redis, *_), engine_server(redis=redis, send_timeout=120) as a, engine_server(redis=redis, send_timeout=120) as b:
        async def go():
            async with httpx.AsyncClient(timeout=60) as http:
                slow = await SSEClient.connect(f'{b}/sse/broadcast')
                slow.writer.get_extra_info('socket').setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
                await until(http, b, lambda s: s['connections'] == 1)
                await http.post(f'{a}/_test/burst', json={'n': 60, 'pad': 100_000})
                await until(http, b, lambda s: s['lagged'] >= 1)
                await http.post(f'{a}/_test/keyed', json={'n': 2_000, 'feed': 10})
                await until(http, b, lambda s: s['messages_broadcast'] == 0 and s['log_entries'] >= 2070)  # B's reader has them all
                caught_up = await slow.events(60 + 11, timeout=60)
                try: extra = await slow.next_event(0.5)
                except TimeoutError: extra = None
                await slow.close()
                return caught_up, extra, await until(http, b, lambda s: True)
        caught_up, extra, after = run(go(), 110)
    rest = kinds(caught_up)[60:]
    assert kinds(caught_up)[:60] == [('n', i) for i in range(60)]
    assert [k for k in rest if k[0] == 'counter'] == [('counter', 1999)]
    assert [k for k in rest if k[0] == 'feed'] == [('feed', i) for i in range(10)]
    assert extra is None and after['resets'] == 0
    ids = [int(e.id) for e in caught_up]
    assert ids == sorted(ids)
