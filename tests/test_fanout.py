"""The fan-out engine (core.fanout) on its own, under real servers: uvicorn with httptools and h11 (direct writes) and hypercorn or a
transport-hiding middleware (the fallback through plain ASGI `send`). Clients are real sockets on 127.0.0.1."""
import asyncio, contextlib, json, socket, time
from urllib.parse import parse_qs
import pytest
from helpers import run, stalled_socket
from cjm_fasthtml_sse.core.fanout import EventLog, FanOut, CHUNK_BYTES
from cjm_fasthtml_sse.core.streaming import sse_event
from cjm_fasthtml_sse.testing import serve, SSEClient, until

pytestmark = pytest.mark.timeout(180)

def encode(payload, key): return sse_event(payload, id=payload['i'])

class _HideTransport:
    "ASGI middleware whose `send` is a bound method of a plain object: the engine can't see uvicorn behind it."
    def __init__(self, app): self.app = app
    async def __call__(self, scope, receive, send): await self.app(scope, receive, _Forward(send).send)

class _Forward:
    def __init__(self, send): self._inner = send
    async def send(self, message): await self._inner(message)

def fanout_app(hub):
    "Streams at any path: `?channel=`, `?id=` and `Last-Event-ID` are honoured."
    async def app(scope, receive, send):
        if scope['type'] != 'http': return
        q = parse_qs(scope['query_string'].decode())
        last = dict(scope['headers']).get(b'last-event-id', b'').decode() or None
        sub = hub.subscribe(send, channels=q.get('channel', []), last_event_id=last, sub_id=q.get('id', [None])[0])
        await sub.run(receive, opening=sse_event(comment='hello').encode(), send=send)
    return app

@contextlib.asynccontextmanager
async def hypercorn_serve(app):
    "hypercorn (HTTP/1.1) on a free 127.0.0.1 port in this loop."
    pytest.importorskip('hypercorn', reason='pip install hypercorn')
    from hypercorn.asyncio import serve as hserve
    from hypercorn.config import Config
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    cfg = Config(); cfg.bind = [f'127.0.0.1:{port}']; cfg.graceful_timeout = 1; cfg.loglevel = 'WARNING'
    stop = asyncio.Event()
    task = asyncio.create_task(hserve(app, cfg, shutdown_trigger=stop.wait))
    for _ in range(500):
        if task.done(): task.result()
        with contextlib.suppress(OSError):
            _, w = await asyncio.open_connection('127.0.0.1', port); w.close(); break
        await asyncio.sleep(0.01)
    try: yield f'http://127.0.0.1:{port}'
    finally:
        stop.set()
        try: await asyncio.wait_for(task, 10)
        except ExceptionGroup as eg:  # hypercorn 0.18's own shutdown race with an h2 connection whose stream was cut: not ours
            if eg.split(lambda e: isinstance(e, RuntimeError) and 'is shutting down' in str(e))[1] is not None: raise

SERVERS = ['httptools', 'h11', 'hypercorn', 'hidden']
DIRECT = {'httptools': True, 'h11': True, 'hypercorn': False, 'hidden': False}

def server(kind, hub):
    "Serve `hub`'s streams under `kind`: uvicorn with either protocol, hypercorn, or uvicorn behind a transport-hiding middleware."
    app = fanout_app(hub)
    if kind == 'hypercorn': return hypercorn_serve(app)
    if kind == 'hidden': return serve(_HideTransport(app), http='httptools')
    return serve(app, http=kind)

async def connected(hub, url, n, **params):
    q = '&'.join(f'{k}={v}' for k, v in params.items())
    clients = [await SSEClient.connect(f'{url}/?{q}') for _ in range(n)]
    await until(lambda: len(hub.subscribers) >= n and all(s.live or s.worker is not None for s in hub.subscribers.values()), 10)
    return clients

async def adopt(sock):
    "An `SSEClient` reading a socket that has sent its request and read nothing yet."
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock)
    c = SSEClient(reader, writer)
    head = await asyncio.wait_for(reader.readuntil(b'\r\n\r\n'), 10)
    c.status = int(head.split()[1])
    c._chunked = b'transfer-encoding: chunked' in head.lower()
    return c

def ids(events): return [int(e.id) for e in events]

@pytest.mark.parametrize('kind', SERVERS)
def test_burst_of_1000_reaches_200_readers_whole_at_defaults(kind):
    "A tight loop of 1,000 publishes with 200 connected clients: each gets all 1,000 in order, no reset."
    async def go():
        hub = FanOut(EventLog(encode=encode))
        async with server(kind, hub) as url:
            clients = await connected(hub, url, 200)
            assert all(s.direct == DIRECT[kind] for s in hub.subscribers.values())
            for i in range(1, 1001): hub.publish({'i': i})
            got = await asyncio.gather(*[c.events(1000, timeout=90) for c in clients])
            stats = hub.stats()
            await hub.close()
            for c in clients: await c.close()
            return got, stats
    got, stats = run(go())
    assert sum(ids(g) == list(range(1, 1001)) for g in got) == 200
    assert not any(e.event == 'reset' for g in got for e in g)
    assert stats['resets'] == 0 and stats['streams'] == 200

def test_burst_of_10000_with_a_log_of_10000():
    "The same with 10,000 publishes (50 clients, to spare the shared machine) and a log that holds 10,000: whole."
    async def go():
        hub = FanOut(EventLog(max_entries=10_000, encode=encode))
        async with server('httptools', hub) as url:
            clients = await connected(hub, url, 50)
            for i in range(1, 10_001): hub.publish({'i': i})
            got = await asyncio.gather(*[c.events(10_000, timeout=120) for c in clients])
            stats = hub.stats()
            await hub.close()
            for c in clients: await c.close()
            return got, stats
    got, stats = run(go())
    assert sum(ids(g) == list(range(1, 10_001)) for g in got) == 50
    assert stats['resets'] == 0

@pytest.mark.parametrize('kind', ['httptools', 'hypercorn'])
def test_a_client_that_falls_off_the_log_gets_one_reset_then_the_stream_ends(kind):
    "A client stops reading while 200 × 64 KB go by a log of 20: once it reads again it gets a gapless run, one `reset`, and the end."
    async def go():
        hub = FanOut(EventLog(max_entries=20, encode=encode), send_timeout=None)
        async with server(kind, hub) as url:
            [reader] = await connected(hub, url, 1, id='r')
            slow = stalled_socket(int(url.rsplit(':', 1)[1]), '/')
            await until(lambda: len(hub.subscribers) == 2)
            r, live = hub.subscribers['r'], []
            for i in range(1, 201):
                hub.publish({'i': i, 'pad': 'x' * 65536})
                live.append(await reader.next_event(10))  # the reader keeps up: it reads each before the next is published
            client = await adopt(slow)
            raw = await client.read_until_end(30)
            events = client._events
            return live, events, client.complete, hub.stats()
    live, events, complete, stats = run(go())
    assert ids(live) == list(range(1, 201))
    assert [e.event for e in events].count('reset') == 1 and events[-1].event == 'reset'
    before = ids(events[:-1])
    assert before == list(range(1, len(before) + 1)) and len(before) < 200  # nothing skipped before the reset
    reset = json.loads(events[-1].data)
    assert reset['reason'] == 'fell_behind' and events[-1].id == '200'
    assert complete  # the server ended the response
    assert stats['resets'] == 1

def rss():
    with open('/proc/self/status') as f: return next(int(l.split()[1]) * 1024 for l in f if l.startswith('VmRSS:'))

@pytest.mark.parametrize('kind', ['httptools', 'hypercorn'])
def test_20_non_readers_resuming_over_50MB_stay_bounded_and_are_cut(kind):
    "50 × 1 MB in the log; 20 clients resume from before them and never read: RSS grows <= 20 MB, each is cut within send_timeout + 1 s."
    async def go():
        hub = FanOut(EventLog(encode=encode), send_timeout=2)
        async with server(kind, hub) as url:
            for i in range(1, 51): hub.log.wire(hub.log.append({'i': i, 'pad': 'x' * 1_000_000}))  # encoded once, as a live stream's publish would
            port = int(url.rsplit(':', 1)[1])
            await asyncio.sleep(0.2)
            base, peak = rss(), 0
            socks, t0 = [], time.monotonic()
            for _ in range(20):
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); s.connect(('127.0.0.1', port))
                s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 0\r\n\r\n'); socks.append(s)
            t_all = time.monotonic()
            await until(lambda: len(hub.subscribers) == 20 or hub.send_timeouts, 5)
            deadline = time.monotonic() + 15
            while (hub.subscribers or hub.send_timeouts < 20) and time.monotonic() < deadline:
                peak = max(peak, rss()); await asyncio.sleep(0.02)
            cut = time.monotonic()
            stats = hub.stats()
            for s in socks: s.close()
            return base, peak, t0, t_all, cut, stats
    base, peak, t0, t_all, cut, stats = run(go())
    print(f'RSS +{(peak - base) / 2**20:.1f} MB, last cut {cut - t0:.2f} s after the first connect')
    assert peak - base <= 20 * 2**20, f'RSS grew by {(peak - base) / 2**20:.1f} MB'
    assert stats['streams'] == 0 and stats['send_timeouts'] == 20
    assert cut - t0 <= 2 + 1 + 1.5, f'the last stream was cut {cut - t0:.2f} s after the first connected'  # 1.5 s slack for load

@pytest.mark.parametrize('kind', ['httptools', 'h11', 'hypercorn'])
def test_send_timeout_counts_from_the_stall_not_from_the_last_write(kind):
    "A client stalls during a burst; small messages keep coming every 0.3 s: it is cut send_timeout after it stalled."
    async def go():
        hub = FanOut(EventLog(encode=encode), send_timeout=2)
        async with server(kind, hub) as url:
            slow = stalled_socket(int(url.rsplit(':', 1)[1]), '/')
            await until(lambda: len(hub.subscribers) == 1)
            [sub] = hub.subscribers.values()
            stalled_at = None
            for i in range(1, 201):
                hub.publish({'i': i, 'pad': 'x' * 65536})
                await asyncio.sleep(0.005)
                if sub.stall_since is not None: stalled_at = time.monotonic(); break
            assert stalled_at is not None, 'the client never stalled'
            cut = None
            for i in range(201, 260):
                hub.publish({'i': i})
                if not hub.subscribers: cut = time.monotonic(); break
                await asyncio.sleep(0.3)
            slow.close()
            return stalled_at, cut, hub.stats()
    stalled_at, cut, stats = run(go())
    assert cut is not None, 'never cut'
    assert stats['send_timeouts'] == 1
    print(f'cut {cut - stalled_at:.2f} s after the stall')
    assert 2 - 0.5 <= cut - stalled_at <= 2 + 1, f'cut {cut - stalled_at:.2f} s after the stall'

@pytest.mark.parametrize('kind', SERVERS)
def test_resume_starts_at_the_cursor_and_a_bad_id_gets_a_reset(kind):
    "Last-Event-ID 5 resumes with 6.. from the log; an id the log dropped or never gave gets one `reset`, then live messages."
    async def go():
        hub = FanOut(EventLog(max_entries=10, encode=encode))
        for i in range(1, 21): hub.log.append({'i': i})
        async with server(kind, hub) as url:
            ok = await SSEClient.connect(f'{url}/', headers={'Last-Event-ID': '15'})
            old = await SSEClient.connect(f'{url}/', headers={'Last-Event-ID': '3'})
            new = await SSEClient.connect(f'{url}/', headers={'Last-Event-ID': '99'})
            junk = await SSEClient.connect(f'{url}/', headers={'Last-Event-ID': 'garbage'})
            await until(lambda: len(hub.subscribers) == 4)
            first = [await ok.events(5), await old.events(1), await new.events(1), await junk.events(1)]
            hub.publish({'i': 21})
            then = [await c.next_event() for c in (ok, old, new, junk)]
            await hub.close()
            for c in (ok, old, new, junk): await c.close()
            return first, then
    (resumed, [r_old], [r_new], [r_junk]), then = run(go())
    assert ids(resumed) == [16, 17, 18, 19, 20]
    assert (r_old.event, json.loads(r_old.data)['reason'], r_old.id) == ('reset', 'too_old', '20')
    assert (r_new.event, json.loads(r_new.data)['reason'], r_new.id) == ('reset', 'unknown_id', '20')
    assert json.loads(r_junk.data) == {'reason': 'unknown_id', 'last_event_id': 'garbage'}
    assert ids(then) == [21, 21, 21, 21]

@pytest.mark.parametrize('kind', ['httptools', 'hypercorn'])
def test_channels_exclude_and_target_live_and_catching_up(kind):
    "Channel, exclude and target filters hold for live writes and for the catch-up read from the log."
    async def go():
        hub = FanOut(EventLog(encode=encode))
        for i, kw in enumerate([{}, {'channel': 'a'}, {'channel': 'b'}, {'exclude': ['x']}, {'target': 'y'}], 1): hub.log.append({'i': i}, **kw)
        async with server(kind, hub) as url:
            x = await SSEClient.connect(f'{url}/?id=x&channel=a', headers={'Last-Event-ID': '0'})
            y = await SSEClient.connect(f'{url}/?id=y', headers={'Last-Event-ID': '0'})
            await until(lambda: len(hub.subscribers) == 2)
            caught = [ids(await x.events(2)), ids(await y.events(3))]
            for i, kw in enumerate([{}, {'channel': 'a'}, {'channel': 'b'}, {'exclude': ['x']}, {'target': 'y'}], 6): hub.publish({'i': i}, **kw)
            hub.publish({'i': 11})
            live = [ids(await x.events(3)), ids(await y.events(4))]
            await hub.close()
            for c in (x, y): await c.close()
            return caught, live
    caught, live = run(go())
    assert caught == [[1, 2], [1, 4, 5]]
    assert live == [[6, 7, 11], [6, 9, 10, 11]]

@pytest.mark.parametrize('kind', SERVERS)
def test_close_ends_every_stream_within_2_s_even_with_a_stalled_one(kind):
    "`close()` with 10 readers and one stalled client: every reader sees its response end, all within 2 s."
    async def go():
        hub = FanOut(EventLog(encode=encode), send_timeout=None)
        async with server(kind, hub) as url:
            clients = await connected(hub, url, 10)
            slow = stalled_socket(int(url.rsplit(':', 1)[1]), '/')
            await until(lambda: len(hub.subscribers) == 11)
            for i in range(1, 101): hub.publish({'i': i, 'pad': 'x' * 65536}); await asyncio.sleep(0)
            await asyncio.gather(*[c.events(100, timeout=60) for c in clients])
            t = time.monotonic()
            await hub.close()
            await asyncio.gather(*[c.read_until_end(2) for c in clients])
            took = time.monotonic() - t
            slow.close()
            for c in clients: await c.close()
            return took, [c.complete for c in clients], hub.stats()
    took, complete, stats = run(go())
    assert all(complete) and stats['streams'] == 0
    assert took <= 2

@pytest.mark.parametrize('kind', ['httptools', 'hypercorn'])
def test_idle_streams_get_heartbeats(kind):
    "A stream with nothing to send gets a `: heartbeat` comment after its heartbeat interval (the hub's, or its own)."
    async def go():
        hub = FanOut(EventLog(encode=encode), heartbeat_interval=0.2)
        async with server(kind, hub) as url:
            [c, d] = await connected(hub, url, 2)
            quiet = hub.subscribe(lambda m: None, heartbeat_interval=60)  # its own, longer interval: the sweep must not use it for the others
            with contextlib.suppress(TimeoutError): await c.next_event(timeout=0.7)
            await hub.close(); await c.close(); await d.close()
            return c.raw
    assert b': heartbeat\n\n' in run(go())

def test_subscribe_refuses_bad_input():
    async def go():
        hub = FanOut()
        with pytest.raises(ValueError, match='last_event_id must be an int, a str or None'): hub.subscribe(None, last_event_id=5.0)
        with pytest.raises(ValueError, match='heartbeat_interval must be > 0'): hub.subscribe(None, heartbeat_interval=0)
        hub.subscribe(lambda m: None, sub_id='a')
        with pytest.raises(ValueError, match="'a' is already subscribed"): hub.subscribe(lambda m: None, sub_id='a')
        await hub.close()
        with pytest.raises(RuntimeError, match='closed'): hub.subscribe(lambda m: None)
    run(go())
    with pytest.raises(ValueError, match='heartbeat_interval'): FanOut(heartbeat_interval=0)
    with pytest.raises(ValueError, match='send_timeout'): FanOut(send_timeout=-1)

def test_direct_path_is_found_through_fasthtml_middleware():
    "A FastHTML route (Starlette's middleware closures around `send`) still reaches uvicorn's transport, for httptools and h11."
    from fasthtml.common import FastHTML
    from starlette.responses import Response
    class _Stream(Response):
        def __init__(self, hub): super().__init__(); self.hub = hub
        async def __call__(self, scope, receive, send): await self.hub.subscribe(send).run(receive, send=send)
    async def go(http):
        hub = FanOut(EventLog(encode=encode))
        app = FastHTML()
        @app.route('/s')
        def get(): return _Stream(hub)
        async with serve(app, http=http) as url:
            c = await SSEClient.connect(f'{url}/s')
            await until(lambda: hub.stats()['live'] == 1)
            direct = [s.direct for s in hub.subscribers.values()]
            for i in range(1, 6): hub.publish({'i': i})
            got = ids(await c.events(5))
            await hub.close(); await c.close()
            return direct, got
    for http in ('httptools', 'h11'): assert run(go(http)) == ([True], [1, 2, 3, 4, 5])

async def live_clients(hub, url, n):
    "`n` clients with ids c0..c{n-1}, subscribed in that order, once every stream is live."
    clients = [await SSEClient.connect(f'{url}/?id=c{k}') for k in range(n)]
    await until(lambda: len(hub.subscribers) == n and all(s.live for s in hub.subscribers.values()), 10)
    return clients

@pytest.mark.parametrize('kind', ['httptools', 'h11'])
def test_a_large_fan_out_is_written_in_slices_and_every_stream_gets_its_messages_in_order(kind):
    "60 streams, slices of 10, 20 publishes (the 7th for the last stream only), some a turn of the loop apart, some back to back: each call writes to at most 10; all arrive in order."
    async def go():
        hub = FanOut(EventLog(encode=encode), slice_streams=10)
        async with server(kind, hub) as url:
            clients = await live_clients(hub, url, 60)
            subs = list(hub.subscribers.values())
            written = lambda: sum(s.sent for s in subs)
            reach, in_calls, held = [], [], 0
            for i in range(1, 21):
                before = written()
                reach.append(hub.publish({'i': i}, target='c59' if i == 7 else None))
                in_calls.append(written() - before)
                held += not all(s.live for s in subs)
                if i % 4: await asyncio.sleep(0)  # one turn of the loop: the flusher writes a slice of what is owed
            turns = 0
            while not all(s.live for s in subs) and turns < 10_000: await asyncio.sleep(0); turns += 1
            got = await asyncio.gather(*[c.events(20 if k == 59 else 19, timeout=30) for k, c in enumerate(clients)])
            await hub.close()
            for c in clients: await c.close()
            return reach, in_calls, held, got, hub.sliced
    reach, in_calls, held, got, sliced = run(go())
    print(f'writes inside each call: {in_calls}; owed after {held} of 20 calls')
    assert reach == [60] * 6 + [1] + [60] * 13  # `publish` says how many streams each message is for, written yet or not
    assert max(in_calls) <= 10, f'writes inside the calls, with slices of 10: {in_calls}'
    assert held >= 1 and sliced >= 1, 'no stream was left to a later turn of the loop'
    assert ids(got[59]) == list(range(1, 21))
    assert all(ids(g) == [i for i in range(1, 21) if i != 7] for g in got[:59])

def test_a_burst_reaches_every_stream_whole_and_in_fewer_writes_than_events():
    "8 streams at the defaults, 50 publishes in one turn of the loop: every stream gets all 50, in order, in fewer writes than events."
    async def go():
        hub = FanOut(EventLog(encode=encode))
        async with server('httptools', hub) as url:
            clients = await live_clients(hub, url, 8)
            for i in range(1, 51): hub.publish({'i': i})
            counts = []
            for c in clients:
                chunks = 0
                async with asyncio.timeout(30):
                    while len(c._events) < 50 and (data := await c.read_body()):  # one HTTP chunk per write
                        chunks += b'data:' in data
                        c._events += c.parser.feed(data)
                counts.append(chunks)
            await hub.close()
            for c in clients: await c.close()
            return counts, [ids(c._events) for c in clients]
    counts, got = run(go())
    print('writes per stream:', counts)
    assert all(g == list(range(1, 51)) for g in got)
    assert all(n < 50 for n in counts), f'writes per stream for 50 events: {counts}'

def test_a_fan_out_to_200_streams_is_one_plain_call():
    "At the defaults, one publish to 200 streams writes to all of them inside the call and starts no task."
    async def go():
        hub = FanOut(EventLog(encode=encode))
        async with server('httptools', hub) as url:
            clients = await live_clients(hub, url, 200)
            before = len(asyncio.all_tasks())
            n = hub.publish({'i': 1})
            written, after = sum(s.sent for s in hub.subscribers.values()), len(asyncio.all_tasks())
            got = await asyncio.gather(*[c.events(1) for c in clients])
            await hub.close()
            for c in clients: await c.close()
            return n, written, after - before, got
    n, written, new_tasks, got = run(go())
    assert (n, written, new_tasks) == (200, 200, 0)
    assert all(ids(g) == [1] for g in got)

@pytest.mark.parametrize('kind', ['httptools', 'h11'])
def test_httptools_streams_get_their_chunks_framed_by_the_engine_and_the_bytes_are_the_same(kind):
    "Under httptools a live stream's writes skip uvicorn's `send` coroutine (the engine writes the chunk's framing itself); under h11 they go through it. The client sees the same events either way."
    async def go():
        hub = FanOut(EventLog(encode=encode))
        async with server(kind, hub) as url:
            [c] = await live_clients(hub, url, 1)
            [sub] = hub.subscribers.values()
            calls, inner = [], sub.send
            async def counting(message): calls.append(message['body']); await inner(message)
            sub.send = counting
            for i in range(1, 6): hub.publish({'i': i}); await asyncio.sleep(0)
            got, through_send = await c.events(5), len(calls)
            await hub.close(); await c.close()  # the end of the response goes through uvicorn's `send` under both
            return through_send, ids(got)
    through_send, got = run(go())
    assert got == [1, 2, 3, 4, 5]
    assert through_send == (0 if kind == 'httptools' else 5)
