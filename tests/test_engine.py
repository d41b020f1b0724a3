"The shared-log engine through the real route (`setup_broadcast_routes` on uvicorn or hypercorn): bursts, falling off the log, bounded resumes, send_timeout and the fallback path."
import asyncio, json, socket, time
import httpx, pytest
from helpers import engine_server, run, state, until
from cjm_fasthtml_sse.testing import SSEClient

pytestmark = pytest.mark.timeout(180)

def numbers(events): return [json.loads(e.data)['data']['i'] for e in events if e.event == 'message']

@pytest.mark.parametrize('kind', ['httptools', 'hidden'])
def test_a_burst_of_1000_at_the_defaults_reaches_200_reading_clients_whole(kind):
    "`for i in range(1000): await manager.broadcast(...)` with 200 tabs reading: every tab gets all 1,000, in order, and no reset."
    with engine_server(kind) as url:
        async def go():
            async with httpx.AsyncClient(timeout=30) as http:
                tabs = [await SSEClient.connect(f'{url}/sse/broadcast') for _ in range(200)]
                await until(http, url, lambda s: s['connections'] == 200)
                assert (await http.post(f'{url}/_test/burst', json={'n': 1000})).status_code == 200
                got = await asyncio.gather(*(t.events(1000, timeout=90) for t in tabs))
                after = await state(http, url)
                for t in tabs: await t.close()
                return got, after
        got, after = run(go(), 150)
    whole = sum(numbers(events) == list(range(1000)) for events in got)
    assert whole == 200, f'{whole}/200 tabs got the whole burst in order'
    assert not any(e.event == 'reset' for events in got for e in events)
    assert after['resets'] == 0 and after['dropped'] == 0 and after['connections'] == 200
    assert after['direct'] == (200 if kind == 'httptools' else 0)

def test_a_client_that_falls_off_the_log_gets_one_reset_then_the_stream_ends():
    "A tab stops reading while 400 × 64 KB go by a log that holds 2 MiB: once it reads again it gets a gapless run, one reset, and the end."
    with engine_server(log_max_bytes=2 * 2**20) as url:
        port = int(url.rsplit(':', 1)[1])
        async def go():
            async with httpx.AsyncClient(timeout=30) as http:
                reader, slow = [await SSEClient.connect(f'{url}/sse/broadcast') for _ in range(2)]
                slow.writer.get_extra_info('socket').setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # a small window; and it reads nothing for now
                await until(http, url, lambda s: s['connections'] == 2)
                live = []
                for k in range(40):
                    await http.post(f'{url}/_test/burst', json={'n': 10, 'start': 10 * k, 'pad': 65_000})
                    live += await reader.events(10, timeout=30)
                await slow.read_until_end(30)
                await reader.close()
                return live, slow._events, slow.complete, await state(http, url)
        live, events, complete, after = run(go(), 120)
    assert numbers(live) == list(range(400))
    assert [e.event for e in events].count('reset') == 1 and events[-1].event == 'reset'
    before = numbers(events[:-1])
    assert before == list(range(len(before))) and len(before) < 400, 'a message was skipped before the reset'
    assert json.loads(events[-1].data)['reason'] == 'fell_behind'
    assert complete, 'the server did not end the response after the reset'
    assert after['resets'] == 1

def mute_socket(port, path, headers=()):
    "A client that asks for the stream at `path` (with `headers`) and then never reads a byte."
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(('127.0.0.1', port))
    s.sendall(('\r\n'.join([f'GET {path} HTTP/1.1', 'Host: x', *headers]) + '\r\n\r\n').encode())
    return s

def test_20_non_readers_resuming_over_50MB_stay_bounded_and_are_cut_within_send_timeout():
    "50 × 1 MB broadcast, then 20 clients resume from before them and never read: RSS grows ≤ 20 MB, and all are cut ≤ send_timeout + 1 s after connecting."
    with engine_server(send_timeout=2) as url:
        port = int(url.rsplit(':', 1)[1])
        async def go():
            async with httpx.AsyncClient(timeout=60) as http:
                before = (await state(http, url))['newest']
                await http.post(f'{url}/_test/burst', json={'n': 50, 'pad': 1_000_000})
                rss0 = (await state(http, url))['rss_kb']
                mutes = [mute_socket(port, '/sse/broadcast', [f'Last-Event-ID: {before}']) for _ in range(20)]
                s = await until(http, url, lambda s: s['connections'] == 20)
                opened, peak = time.monotonic(), s['rss_kb']
                while s['connections'] and time.monotonic() - opened < 20:
                    s = await state(http, url)
                    peak = max(peak, s['rss_kb'])
                    await asyncio.sleep(0.05)
                cut = time.monotonic() - opened
                for m in mutes: m.close()
                return rss0, peak, cut, s
        rss0, peak, cut, after = run(go(), 120)
    assert peak - rss0 <= 20 * 1024, f'RSS grew {(peak - rss0) / 1024:.1f} MB with 20 stalled resumers'
    assert after['connections'] == 0 and cut <= 2 + 1, f'the stalled resumers were cut {cut:.1f} s after connecting (send_timeout=2)'
    assert after['send_timeouts'] == 20

def test_send_timeout_counts_from_the_stall_not_from_the_next_write():
    "A client stops draining at t0 (5 MB arrive at once), nothing more is sent for 1.5 s, then one small message: it is cut at t0 + send_timeout, not 1.5 s later."
    with engine_server(send_timeout=2) as url:
        port = int(url.rsplit(':', 1)[1])
        async def go():
            async with httpx.AsyncClient(timeout=60) as http:
                mute = mute_socket(port, '/sse/broadcast')
                await until(http, url, lambda s: s['connections'] == 1)
                t0 = time.monotonic()
                await http.post(f'{url}/_test/burst', json={'n': 5, 'pad': 1_000_000})
                await asyncio.sleep(1.5)
                await http.post(f'{url}/_test/burst', json={'n': 1})
                s = await until(http, url, lambda s: s['connections'] == 0, timeout=10)
                mute.close()
                return time.monotonic() - t0, s
        cut, after = run(go(), 120)
    assert after['send_timeouts'] == 1
    assert cut <= 2 + 0.8, f'cut {cut:.2f} s after the stall, with send_timeout=2'

def test_a_client_that_stops_reading_is_cut_even_when_nothing_more_is_sent():
    "One message larger than the kernel's buffers fills a non-reader's socket, and nothing follows: the stream is still cut send_timeout after the stall, not kept."
    with engine_server(send_timeout=2, max_message_bytes=8_000_000) as url:
        port = int(url.rsplit(':', 1)[1])
        async def go():
            async with httpx.AsyncClient(timeout=60) as http:
                mute = mute_socket(port, '/sse/broadcast')
                await until(http, url, lambda s: s['connections'] == 1)
                t0 = time.monotonic()
                await http.post(f'{url}/_test/burst', json={'n': 1, 'pad': 6_000_000})  # the last write pauses the socket, nothing is owed
                s = await until(http, url, lambda s: s['connections'] == 0, timeout=8)
                mute.close()
                return time.monotonic() - t0, s
        cut, after = run(go(), 120)
    assert after['send_timeouts'] == 1
    assert cut <= 2 + 1, f'cut {cut:.2f} s after the stall, with send_timeout=2'

@pytest.mark.parametrize('kind', ['hypercorn', 'hidden', 'h11'])
def test_every_server_delivers_resumes_and_exits_promptly(kind):
    "The same route under hypercorn and behind a transport-hiding middleware (the plain ASGI `send` fallback), and under uvicorn's h11."
    procs = []
    with engine_server(kind, procs=procs) as url:
        async def go():
            async with httpx.AsyncClient(timeout=30) as http:
                tabs = [await SSEClient.connect(f'{url}/sse/broadcast') for _ in range(3)]
                await until(http, url, lambda s: s['connections'] == 3)
                await http.post(f'{url}/_test/burst', json={'n': 5})
                got = [await t.events(5) for t in tabs]
                back = await SSEClient.connect(f'{url}/sse/broadcast', headers={'Last-Event-ID': got[0][1].id})
                resumed = await back.events(3)
                await http.post(f'{url}/_test/burst', json={'n': 1, 'start': 5})
                live = [await t.next_event() for t in [*tabs, back]]
                after = await state(http, url)
                t0 = time.monotonic()
                procs[0].terminate()  # SIGTERM while the 4 streams are open
                while procs[0].poll() is None and time.monotonic() - t0 < 10: await asyncio.sleep(0.02)
                took = time.monotonic() - t0
                ended = [await t.read_until_end(1) is not None for t in [*tabs, back]]
                return got, resumed, live, after, took
        got, resumed, live, after, took = run(go(), 120)
    assert all(numbers(g) == list(range(5)) for g in got)
    assert numbers(resumed) == [2, 3, 4] and numbers(live) == [5] * 4
    assert after['direct'] == (4 if kind == 'h11' else 0)
    assert took < 2, f'{kind} took {took:.1f} s to exit with 4 streams open'
