"""Redis and cluster faults (issue 18) on real uvicorn workers and a real redis-server: a freeze, a burst of hang-ups, a killed worker, a fresh Redis, SIGTERM.
The invariant: every stream gets every message meant for it exactly once, in increasing id order, or a `reset` marks the gap."""
import asyncio, contextlib, json, os, signal, subprocess, sys, time
import httpx, pytest
from cjm_fasthtml_sse.testing import SSEClient
from helpers import ROOT, free_port, poll, redis_server, uvicorn_app, run, wait_for_port

pytestmark = pytest.mark.timeout(240)

def number(e): return json.loads(e.data)['data']['i'] if e.event == 'message' else None

def violations(events, sent):
    "What breaks the invariant in `events`, one stream's events in order, given `sent`, the numbers broadcast in order: a repeat, a step back, a gap with no `reset` before it, or an id that goes back (an event without an id keeps the last one)."
    problems, pos, reset, last_id = [], -1, False, None
    for e in events:
        if e.id:
            if last_id is not None and int(e.id) < last_id: problems.append(f'id {e.id} after {last_id}')
            last_id = int(e.id)
        if e.event == 'reset': reset = True; continue
        if e.event != 'message': continue
        i = sent.index(number(e))
        if i <= pos: problems.append(f'{number(e)} again or out of order (after {sent[pos]})')
        elif i > pos + 1 and not reset: problems.append(f'silent gap before {number(e)}: {sent[pos + 1:i]} never came')
        pos, reset = max(pos, i), False
    return problems

def test_violations_sees_repeats_and_silent_gaps():
    from types import SimpleNamespace as E
    def m(i, id=None): return E(event='message', data=json.dumps({'data': {'i': i}}), id=id)
    assert violations([m(0), m(1), m(2)], [0, 1, 2]) == []
    assert violations([m(0), E(event='reset', data='{}', id='9'), m(2, '10')], [0, 1, 2]) == []
    assert violations([m(0), m(2)], [0, 1, 2]) == ['silent gap before 2: [1] never came']
    assert violations([m(0), m(0, '5')], [0, 1]) == ['0 again or out of order (after 0)']
    assert violations([m(0, '5'), m(1, '4')], [0, 1]) == ['id 4 after 5']

@pytest.fixture
def cluster(request):
    "Two uvicorn workers (separate processes) sharing one fresh redis-server, with a `ttl` of 3 s unless parametrized (an int, or a dict of env): `(a, b, redis procs, start, env)`."
    param = getattr(request, 'param', 3)
    with redis_server() as (url, procs, start):
        env = {'SSE_TEST_REDIS': url, 'SSE_TEST_TTL': '3', **({'SSE_TEST_TTL': str(param)} if isinstance(param, int) else param)}
        with uvicorn_app('faults_app:app', free_port(), env) as a, uvicorn_app('faults_app:app', free_port(), env) as b:
            yield a, b, procs, start, env

async def bcast(http, url, i): return (await http.post(f'{url}/_test/broadcast', json={'type': 'n', 'data': {'i': i}}, timeout=10)).json()

async def users(http, url): return (await http.get(f'{url}/_test/users')).json()

async def until_users(http, url, cond, timeout=10): return await poll(lambda: users(http, url), cond, timeout, 'users state')

async def status(http, url): return (await http.get(f'{url}/sse/status')).json()

async def read_until(client, last, timeout=15):
    "The events of `client` until the message numbered `last` (or the end of the stream, or `timeout`)."
    got = []
    try:
        async with asyncio.timeout(timeout):
            while (e := await client.next_event(timeout)) is not None:
                got.append(e)
                if number(e) == last: break
    except TimeoutError: pass
    return got

@pytest.mark.parametrize('cluster', [{}, {'SSE_TEST_LOCAL_OUTAGE': '1'}], indirect=True, ids=['refuse', 'local_during_outage'])
def test_a_redis_freeze_while_publishing_loses_nothing_silently_and_repeats_nothing(cluster):
    "Redis stopped for ~2.5 s while A broadcasts 5 messages, then 5 more after and a last one once A is healthy: A's and B's streams each get every accepted message once, or a reset before a gap; by default a refused one reaches nobody and every event has an id."
    a, b, procs, *_ = cluster
    async def go():
        async with httpx.AsyncClient() as http:
            ca, cb = await SSEClient.connect(f'{a}/sse/broadcast'), await SSEClient.connect(f'{b}/sse/broadcast')
            await poll(lambda: status(http, a), lambda s: s.get('cluster_connections') == 2, 10, 'cluster connections')
            procs[-1].send_signal(signal.SIGSTOP)
            t = time.monotonic()
            answers = {}
            try:
                for i in range(5): answers[i] = await bcast(http, a, i)
                await asyncio.sleep(max(0, 2.5 - (time.monotonic() - t)))
            finally: procs[-1].send_signal(signal.SIGCONT)
            for i in range(5, 10): answers[i] = await bcast(http, a, i)
            try: await poll(lambda: http.get(f'{a}/_test/position'), lambda r: r.json()['healthy'] and not r.json()['owes_marker'], 10, 'A healthy again')
            except AssertionError: pass  # the streams say what that cost
            for _ in range(50):  # whatever happened before, this one reaches both (once Redis takes it)
                answers[10] = await bcast(http, a, 10)
                if 'refused' not in answers[10]: break
                await asyncio.sleep(0.1)
            got = await read_until(ca, 10), await read_until(cb, 10)
            for c in (ca, cb): await c.close()
            return answers, got
    answers, (on_a, on_b) = run(go())
    refused = [i for i, r in answers.items() if 'refused' in r]
    sent = [i for i in range(11) if i not in refused]
    if cluster[-1].get('SSE_TEST_LOCAL_OUTAGE') is None:
        for got in (on_a, on_b): # an event without an `id:` line keeps the previous id (the spec's last event id): so no two may share one
            ids = [int(e.id) for e in got if e.event == 'message']
            assert ids == sorted(set(ids)), ('by default every event has its own id', [(e.event, number(e), e.id) for e in got])
        assert not {number(e) for e in on_a + on_b} & set(refused), (refused, [(e.event, number(e)) for e in on_a + on_b])
    assert number(on_a[-1]) == 10 and number(on_b[-1]) == 10, ([(e.event, number(e), e.id) for e in on_a], [(e.event, number(e), e.id) for e in on_b])
    assert violations(on_a, sent) == [], [(e.event, number(e), e.id) for e in on_a]
    assert violations(on_b, sent) == [], [(e.event, number(e), e.id) for e in on_b]

async def hang_up_while_broadcasting(http, url, clients, n):
    "Close all `clients` at once while `url` broadcasts `n` messages, numbered 0 to n-1."
    async def hang_up():
        for c in clients: c.writer.close()
    closing = asyncio.create_task(hang_up())
    for i in range(n): await bcast(http, url, i)
    await closing

def test_300_hang_ups_at_once_starve_no_publish_and_the_counts_converge(cluster):
    "300 streams on A hang up at once while A broadcasts 300 messages: B's stream gets all 300 (or a reset before a gap), and `cluster_connections` comes back to the truth."
    a, b, *_ = cluster
    async def go():
        async with httpx.AsyncClient() as http:
            cb = await SSEClient.connect(f'{b}/sse/broadcast')
            many = [await SSEClient.connect(f'{a}/sse/broadcast?user=u{i}') for i in range(300)]
            await poll(lambda: status(http, a), lambda s: s.get('cluster_connections') == 301, 20, 'cluster connections')
            await hang_up_while_broadcasting(http, a, many, 300)
            got = await read_until(cb, 299, 30)
            counts = await poll(lambda: status(http, b), lambda s: s.get('cluster_connections') == 1 and s.get('cluster_users_online') == 0, 10, 'cluster counts')
            await cb.close()
            return got, counts
    got, counts = run(go())
    assert violations(got, list(range(300))) == [], [(e.event, number(e)) for e in got][:20]
    assert got and number(got[-1]) == 299

@pytest.mark.parametrize('cluster', [15], indirect=True)
def test_after_a_burst_of_hang_ups_a_user_who_left_is_offline_at_once_and_the_hooks_fire_on_the_other_worker(cluster):
    "ann's stream hangs up on A with 299 others (five times): she leaves `users_online` well within the ttl (15 s), and her next visit to B fires online and offline there."
    a, b, *_ = cluster
    async def go():
        async with httpx.AsyncClient() as http:
            for _ in range(5):
                many = [await SSEClient.connect(f'{a}/sse/broadcast' + ('?user=ann' if i == 200 else '')) for i in range(300)]
                await until_users(http, b, lambda s: s['online'] == ['ann'])
                await hang_up_while_broadcasting(http, a, many, 50)
                await until_users(http, b, lambda s: s['online'] == [], timeout=8)
            again = await SSEClient.connect(f'{b}/sse/broadcast?user=ann')
            await until_users(http, b, lambda s: s['events'] == [['online', 'ann']])
            await again.close()
            return (await until_users(http, b, lambda s: len(s['events']) == 2))['events'], (await users(http, a))['events']
    on_b, on_a = run(go())
    assert on_b == [['online', 'ann'], ['offline', 'ann']] and on_a == [['online', 'ann'], ['offline', 'ann']] * 5

def _third_worker(env):
    "Start one more uvicorn worker of faults_app on the cluster's Redis, for a test to stop or kill: `(proc, url)`."
    port = free_port()
    proc = subprocess.Popen([sys.executable, '-m', 'uvicorn', 'faults_app:app', '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning'],
                            cwd=ROOT, env={**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT / 'tests'), str(ROOT)]), **env})
    try: wait_for_port(port, proc)
    except BaseException:
        proc.kill(); proc.wait(10)
        raise
    return proc, f'http://127.0.0.1:{port}'

@contextlib.contextmanager
def third_worker(env):
    "`_third_worker` for a `with` block: the worker is killed at its end if the test left it running."
    proc, url = _third_worker(env)
    try: yield proc, url
    finally:
        if proc.poll() is None: proc.kill(); proc.wait(10)

async def _zed_on(http, c, b):
    "Open zed's stream on worker `c` and wait until worker `b` sees zed online; the stream."
    zed = await SSEClient.connect(f'{c}/sse/broadcast?user=zed')
    await until_users(http, b, lambda s: s['online'] == ['zed'])
    return zed

def test_a_killed_workers_users_go_offline_through_one_surviving_workers_hook(cluster):
    "C is SIGKILLed holding zed's stream and one of ann's (her other is on A): zed's `on_user_offline` fires exactly once, on A or B; ann stays online."
    a, b, _, _, env = cluster
    with third_worker(env) as (proc, c):
        async def go():
            async with httpx.AsyncClient() as http:
                tabs = [await SSEClient.connect(f'{c}/sse/broadcast?user={u}') for u in ('zed', 'ann')] + [await SSEClient.connect(f'{a}/sse/broadcast?user=ann')]
                await until_users(http, b, lambda s: s['online'] == ['ann', 'zed'])
                proc.send_signal(signal.SIGKILL); proc.wait(10)
                async def offline(): return [e for u in (a, b) for e in (await users(http, u))['events'] if e[0] == 'offline']
                await poll(offline, lambda e: e, 15, 'an offline hook')
                await asyncio.sleep(3)  # a keep-alive of each survivor: time for a second, wrong, hook to fire
                online, fired = (await users(http, b))['online'], await offline()
                for t in tabs: await t.close()
                return fired, online
        fired, online = run(go())
    assert fired == [['offline', 'zed']] and online == ['ann']

def test_on_a_fresh_redis_both_workers_share_the_position_before_the_first_broadcast(cluster):
    "Pages rendered on one worker resume on the other, both ways, before anything was ever broadcast: no `reset`, just the next message."
    a, b, *_ = cluster
    async def go():
        async with httpx.AsyncClient() as http:
            pos = [(await http.get(f'{u}/_test/position')).json()['newest'] for u in (a, b)]
            to_b = await SSEClient.connect(f'{b}/sse/broadcast?last_event_id={pos[0]}')
            to_a = await SSEClient.connect(f'{a}/sse/broadcast?last_event_id={pos[1]}')
            await poll(lambda: status(http, a), lambda s: s.get('cluster_connections') == 2, 10, 'cluster connections')
            await bcast(http, a, 0)
            return pos, await to_b.next_event(10), await to_a.next_event(10)
    pos, on_b, on_a = run(go())
    assert pos[0] == pos[1]
    assert (on_b.event, number(on_b), on_a.event, number(on_a)) == ('message', 0, 'message', 0), (on_b, on_a)

def test_sigterm_ends_two_workers_sharing_redis_every_time():
    "Two uvicorn workers on one Redis, streams open on both, SIGTERM, four rounds (Redis frozen at the SIGTERM in two): every worker exits (a hang leaves its port bound and the next start fails)."
    hung = []
    with redis_server() as (url, rprocs, _):
        env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT / 'tests'), str(ROOT)]), 'SSE_TEST_REDIS': url}
        for round in range(4):
            ports = [free_port(), free_port()]
            procs = [subprocess.Popen([sys.executable, '-m', 'uvicorn', 'faults_app:app', '--host', '127.0.0.1', '--port', str(p), '--log-level', 'warning'],
                                      cwd=ROOT, env=env) for p in ports]
            try:
                for p, proc in zip(ports, procs): wait_for_port(p, proc)
                async def go():
                    async with httpx.AsyncClient() as http:
                        tabs = [await SSEClient.connect(f'http://127.0.0.1:{p}/sse/broadcast?user=u{i}') for p in ports for i in range(3)]
                        await poll(lambda: status(http, f'http://127.0.0.1:{ports[0]}'), lambda s: s.get('cluster_connections') == 6, 10, 'cluster connections')
                        await bcast(http, f'http://127.0.0.1:{ports[round % 2]}', round)
                        for t in tabs: await t.next_event(10)
                        await asyncio.sleep(round * 0.4)  # a different moment of the readers' 2 s blocking read each round
                        if round % 2: rprocs[-1].send_signal(signal.SIGSTOP)
                        for proc in procs: proc.send_signal(signal.SIGTERM)
                        await asyncio.sleep(0.1)
                        for t in tabs: await t.close()
                run(go())
                for proc in procs:
                    try: proc.wait(10)
                    except subprocess.TimeoutExpired: hung.append(round)
            finally:
                rprocs[-1].send_signal(signal.SIGCONT)
                for proc in procs:
                    if proc.poll() is None: proc.kill(); proc.wait(10)
    assert hung == [], f'a worker never exited after SIGTERM in rounds {hung}'

def test_close_returns_though_the_reader_is_stuck_cancelling_and_redis_is_frozen():
    "A reader that doesn't finish when cancelled (what a blocking XREAD did in the SIGTERM hangs) and a Redis that no longer answers: `close()` still returns."
    from cjm_fasthtml_sse.core.backends import RedisBackend
    with redis_server() as (url, procs, _):
        async def go():
            backend = RedisBackend(url, prefix='close_test', timeout=0.5)
            backend.bind(lambda *a, **k: None, 10)
            await backend.start()
            release = asyncio.Event()
            async def stuck():
                while not release.is_set():
                    try: await release.wait()
                    except asyncio.CancelledError: pass
            backend._tasks.append(asyncio.create_task(stuck()))
            await asyncio.sleep(0.1)
            procs[-1].send_signal(signal.SIGSTOP)
            try:
                closing = asyncio.create_task(backend.close())
                done, _ = await asyncio.wait({closing}, timeout=10)
            finally: procs[-1].send_signal(signal.SIGCONT)
            release.set()
            await closing
            return bool(done)
        assert run(go()), 'close() was still waiting after 10 s'

def test_the_status_page_makes_a_few_redis_calls_however_many_users_are_online(cluster):
    "With 300 users online, one `/sse/status` costs Redis a handful of commands (the fewest of three requests, so that a keep-alive in between doesn't count), not one per user."
    import redis
    a, b, _, _, env = cluster
    r = redis.Redis.from_url(env['SSE_TEST_REDIS'])
    def calls(): return sum(v['calls'] for k, v in r.info('commandstats').items() if k.startswith('cmdstat_'))
    async def go():
        async with httpx.AsyncClient() as http:
            tabs = [await SSEClient.connect(f'{a}/sse/broadcast?user=u{i}') for i in range(300)]
            counted = await poll(lambda: status(http, b), lambda s: (s.get('cluster_users_online'), s.get('cluster_connections')) == (300, 300), 20, 'users and streams online')
            costs = []
            for _ in range(3):
                before = calls()
                await status(http, b)
                costs.append(calls() - before - 1)  # less the INFO that read the count
            for t in tabs: await t.close()
            return counted, costs
    counted, costs = run(go())
    assert min(costs) < 20, costs

async def slow_reader(url):
    "An SSE client on a socket with a tiny receive buffer, that reads only when asked: the server soon has to hold its stream back."
    import socket
    from urllib.parse import urlsplit
    u = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((u.hostname, u.port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
    writer.write(f'GET {u.path}?{u.query} HTTP/1.1\r\nHost: {u.netloc}\r\n\r\n'.encode() if u.query else f'GET {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\n\r\n'.encode())
    client = SSEClient(reader, writer)
    await reader.readuntil(b'\r\n\r\n')
    client._chunked = True
    return client

@pytest.mark.parametrize('cluster', [{'SSE_TEST_LOCAL_OUTAGE': '1'}], indirect=True)
def test_a_stream_still_catching_up_when_an_outage_ends_gets_a_reset_not_a_silent_gap(cluster):
    "A stream on A that reads slowly is behind on the big messages A delivered only locally during a Redis freeze; when Redis is back they leave A's log: that stream must be told (a reset), not skip them."
    a, b, procs, *_ = cluster
    async def go():
        async with httpx.AsyncClient(timeout=20) as http:
            slow = await slow_reader(f'{a}/sse/broadcast')
            await poll(lambda: status(http, a), lambda s: s.get('cluster_connections') == 1, 10, 'cluster connections')
            procs[-1].send_signal(signal.SIGSTOP)
            try:
                for i in range(8): await http.post(f'{a}/_test/broadcast', json={'type': 'n', 'data': {'i': i, 'pad': 'x' * 900_000}})
            finally: procs[-1].send_signal(signal.SIGCONT)
            try: await poll(lambda: http.get(f'{a}/_test/position'), lambda r: r.json()['healthy'] and not r.json()['owes_marker'], 10, 'A healthy again')
            except AssertionError: pass
            await bcast(http, a, 8)
            got = await read_until(slow, 8, 30)
            await slow.close()
            return got
    got = run(go())
    assert got and (number(got[-1]) == 8 or got[-1].event == 'reset'), [(e.event, number(e)) for e in got]
    assert violations(got, list(range(9))) == [], [(e.event, number(e)) for e in got]

def test_a_workers_own_broadcast_is_delivered_there_when_redis_gives_its_id_in_order_and_once(cluster):
    "When `broadcast` returns on A, A has delivered the message already (no wait for the read-back); with A and B broadcasting at once, both streams get all 60 once, in the same order, ids increasing."
    a, b, *_ = cluster
    async def go():
        async with httpx.AsyncClient() as http:
            ca, cb = await SSEClient.connect(f'{a}/sse/broadcast'), await SSEClient.connect(f'{b}/sse/broadcast')
            await poll(lambda: status(http, a), lambda s: s.get('cluster_connections') == 2, 10, 'cluster connections')
            answers = [await bcast(http, a, i) for i in range(20)]
            answers += await asyncio.gather(*[bcast(http, a if i % 2 else b, i) for i in range(20, 60)])
            got = [await c.events(60, 20) for c in (ca, cb)]
            for c in (ca, cb): await c.close()
            return answers, got
    answers, (on_a, on_b) = run(go())
    assert [r['delivered'] for r in answers[:20]] == [r['newest'] for r in answers[:20]]
    assert [(e.event, number(e), e.id) for e in on_a] == [(e.event, number(e), e.id) for e in on_b]
    assert sorted(number(e) for e in on_a) == list(range(60)) and [number(e) for e in on_a[:20]] == list(range(20))
    ids = [int(e.id) for e in on_a]
    assert ids == sorted(set(ids))

def test_a_stalled_worker_is_sent_offline_and_announces_its_users_again_when_it_is_back(cluster):
    "C freezes (SIGSTOP) past its ttl: a survivor sends zed offline; C thaws: zed is online again, with an online hook; zed leaves: hooks balance, 2 and 2."
    a, b, _, _, env = cluster
    with third_worker(env) as (proc, c):
        async def events(http): return sorted([e for u in (a, b, c) for e in (await users(http, u))['events']])
        async def go():
            async with httpx.AsyncClient() as http:
                zed = await _zed_on(http, c, b)
                proc.send_signal(signal.SIGSTOP)
                try:
                    await until_users(http, b, lambda s: s['online'] == [], timeout=15)
                    await asyncio.sleep(0.5)  # the survivor's hook runs right after the reap
                finally: proc.send_signal(signal.SIGCONT)
                survivors = [e for s in [await users(http, a), await users(http, b)] for e in s['events']]
                back = await until_users(http, b, lambda s: s['online'] == ['zed'], timeout=10)
                during = await poll(lambda: events(http), lambda e: len(e) >= 3, 10, 'hooks')
                await zed.close()
                after = await poll(lambda: events(http), lambda e: len(e) >= 4, 10, 'hooks')
                return survivors, during, after
        survivors, during, after = run(go())
    assert survivors == [['offline', 'zed']]
    assert during == [['offline', 'zed'], ['online', 'zed'], ['online', 'zed']]
    assert after == [['offline', 'zed'], ['offline', 'zed'], ['online', 'zed'], ['online', 'zed']]

async def all_hooks(http, *urls): return [e for u in urls for e in (await users(http, u))['events']]

@pytest.mark.parametrize('cluster', [15], indirect=True)
def test_a_user_who_arrives_and_leaves_on_another_worker_while_redis_is_frozen_fires_no_extra_hook(cluster):
    "ann is online on A; Redis freezes; she opens a stream on B and closes it again: no hook may fire (she was online all along); once she leaves A too, one offline, in all 1 + 1."
    a, b, procs, *_ = cluster
    async def go():
        async with httpx.AsyncClient(timeout=20) as http:
            on_a = await SSEClient.connect(f'{a}/sse/broadcast?user=ann')
            await poll(lambda: all_hooks(http, a, b), lambda e: e == [['online', 'ann']], 10, 'online hook')
            procs[-1].send_signal(signal.SIGSTOP)
            try:
                on_b = await SSEClient.connect(f'{b}/sse/broadcast?user=ann')
                await asyncio.sleep(1.5)  # B's presence call times out meanwhile
                await on_b.close()
                await asyncio.sleep(1.5)
            finally: procs[-1].send_signal(signal.SIGCONT)
            await asyncio.sleep(3)  # B asks again once Redis answers
            during = await all_hooks(http, a, b)
            await on_a.close()
            after = await poll(lambda: all_hooks(http, a, b), lambda e: len(e) >= 2, 10, 'offline hook')
            await asyncio.sleep(2)  # time for a wrong extra hook to show
            return during, await all_hooks(http, a, b)
    during, after = run(go())
    assert during == [['online', 'ann']], during
    assert sorted(after) == [['offline', 'ann'], ['online', 'ann']], after

def test_after_redis_restarts_empty_a_user_already_online_who_opens_a_stream_on_another_worker_fires_no_hook(cluster):
    "ann and bob are online on A; Redis restarts without its data; ann opens a stream on B at once, and bob leaves A: ann gets no second online, bob exactly one offline; when ann leaves, hooks balance."
    a, b, procs, start, _ = cluster
    async def go():
        async with httpx.AsyncClient(timeout=20) as http:
            ann_a, bob_a = [await SSEClient.connect(f'{a}/sse/broadcast?user={u}') for u in ('ann', 'bob')]
            await poll(lambda: all_hooks(http, a, b), lambda e: len(e) == 2, 10, 'online hooks')
            procs[-1].kill(); procs[-1].wait(10)
            start()
            ann_b = await SSEClient.connect(f'{b}/sse/broadcast?user=ann')
            await bob_a.close()
            await poll(lambda: all_hooks(http, a, b), lambda e: ['offline', 'bob'] in e, 15, 'bob offline')
            await asyncio.sleep(3)  # time for a wrong extra hook to show
            during = await all_hooks(http, a, b)
            for c in (ann_a, ann_b): await c.close()
            await poll(lambda: all_hooks(http, a, b), lambda e: ['offline', 'ann'] in e, 15, 'ann offline')
            await asyncio.sleep(2)
            return during, await all_hooks(http, a, b)
    during, after = run(go())
    assert sorted(during) == [['offline', 'bob'], ['online', 'ann'], ['online', 'bob']], during
    assert sorted(after) == [['offline', 'ann'], ['offline', 'bob'], ['online', 'ann'], ['online', 'bob']], after

async def _zed_on_then_killed_and_redis_wiped(http, c, b, proc, procs, start):
    "zed's stream on C, noted by A and B; then C is SIGKILLed and Redis restarts without its data before anyone reaps C. zed's stream (cut)."
    zed = await _zed_on(http, c, b)
    await asyncio.sleep(2.5)  # a keep-alive or two of A and B (ttl 3 s: one a second)
    proc.send_signal(signal.SIGKILL); proc.wait(10)
    procs[-1].kill(); procs[-1].wait(10)
    start()
    return zed

def test_a_killed_workers_users_go_offline_even_if_redis_restarts_empty_before_they_are_reaped(cluster):
    "C holds zed's stream and is SIGKILLed; Redis restarts without its data at once, before anyone reaped C: zed's offline hook still fires, exactly once, on A or B."
    a, b, procs, start, env = cluster
    with third_worker(env) as (proc, c):
        async def go():
            async with httpx.AsyncClient(timeout=20) as http:
                zed = await _zed_on_then_killed_and_redis_wiped(http, c, b, proc, procs, start)
                fired = await poll(lambda: all_hooks(http, a, b), lambda e: ['offline', 'zed'] in e, 20, 'an offline hook for zed')
                await asyncio.sleep(3)  # time for a second, wrong, hook to show
                return await all_hooks(http, a, b)
        fired = run(go())
    assert fired == [['offline', 'zed']], fired

def test_a_killed_workers_user_who_comes_back_while_redis_rebuilds_gets_offline_then_online(cluster):
    "C holds zed's stream and is SIGKILLed; Redis restarts empty; zed opens streams on A and B at once, while presence waits for Redis to be rebuilt: C's reap sends zed offline (though A and B hold streams whose arrival isn't recorded yet), then zed comes online: one of each, in that order."
    a, b, procs, start, env = cluster
    with third_worker(env) as (proc, c):
        async def go():
            async with httpx.AsyncClient(timeout=20) as http:
                zed = await _zed_on_then_killed_and_redis_wiped(http, c, b, proc, procs, start)
                back = [await SSEClient.connect(f'{u}/sse/broadcast?user=zed') for u in (a, b)]
                await poll(lambda: all_hooks(http, a, b), lambda e: ['online', 'zed'] in e, 20, 'an online hook for zed')
                await asyncio.sleep(3)  # time for a wrong extra hook to show
                hooks = [(await users(http, u))['events'] for u in (a, b)]
                for t in back: await t.close()
                return hooks
        hooks = run(go())
    assert sorted(e for h in hooks for e in h) == [['offline', 'zed'], ['online', 'zed']], hooks
    assert [['offline', 'zed'], ['online', 'zed']] in hooks or all(len(h) == 1 for h in hooks), hooks  # on one worker, offline came first

def test_a_worker_that_stops_cleanly_while_redis_rebuilds_is_not_reaped_again(cluster):
    "Redis restarts empty; C, holding zed, writes itself back and then stops (SIGTERM), sending zed offline itself: the recovery that A and B run a moment later must not reap C a second time (a second offline for zed)."
    a, b, procs, start, env = cluster
    with third_worker(env) as (proc, c):
        async def go():
            async with httpx.AsyncClient(timeout=20) as http:
                zed = await _zed_on(http, c, b)
                await asyncio.sleep(2.5)  # a keep-alive or two of A and B (ttl 3 s: one a second)
                procs[-1].kill(); procs[-1].wait(10)
                start()
                await poll(lambda: users(http, b), lambda s: s['online'] == ['zed'], 10, 'C wrote zed back')
                proc.send_signal(signal.SIGTERM); proc.wait(10)
                await asyncio.sleep(8)  # past the recovery (half of a 6 s hold) and a reap
                return await all_hooks(http, a, b), (await users(http, b))['online']
        hooks, online = run(go())
    assert hooks == [] and online == [], (hooks, online)

def test_a_worker_sigtermed_while_redis_is_frozen_sends_its_users_offline_through_a_survivor_once_redis_is_back(cluster):
    "Redis freezes; zed's last stream leaves C (C's presence call waits on Redis); C gets SIGTERM and exits; Redis thaws. Whatever C sent reaches Redis after C stopped listening: zed must still go offline with a hook, on a survivor (C's own hooks died with it), exactly once."
    a, b, procs, _, env = cluster
    with third_worker(env) as (proc, c):
        async def go():
            async with httpx.AsyncClient(timeout=20) as http:
                zed = await _zed_on(http, c, b)
                procs[-1].send_signal(signal.SIGSTOP)
                try:
                    await zed.close()
                    await asyncio.sleep(0.5)  # C's user_removed is on the wire, waiting for Redis
                    proc.send_signal(signal.SIGTERM)
                    await asyncio.to_thread(proc.wait, 10)
                finally: procs[-1].send_signal(signal.SIGCONT)
                await until_users(http, b, lambda s: s['online'] == [], timeout=15)
                fired = await poll(lambda: all_hooks(http, a, b), lambda e: len(e) >= 1, 15, 'an offline hook for zed on a survivor')
                await asyncio.sleep(3)  # time for a second, wrong, hook to show
                return fired, await all_hooks(http, a, b)
        fired, hooks = run(go())
    assert hooks == [['offline', 'zed']], hooks

# Presence across a Redis that loses its data, with the backends in this process, so that each step happens in the order
# a 5-minute fault-checker run found it (tests/faultcheck.py seeds 301, 302, 303): a process's users must go offline once.

async def _backend(url, gone, prefix='left_test'):
    "A started `RedisBackend` (ttl 3 s) whose `users_gone` adds to `gone`, with its keep-alive stopped so that what it noted stays as the test left it."
    from cjm_fasthtml_sse.core.backends import RedisBackend
    b = RedisBackend(url, prefix=prefix, ttl=3)
    b.bind(lambda *a: None, 100)
    b.users_gone = gone.extend
    await b.start()
    b._tasks[1].cancel()  # the keep-alive: the test calls `_remember`, `_refresh` and `_reap` itself
    return b

async def _backends(url, n:int):
    "`n` backends as `_backend` starts them, each with the list its `users_gone` fills: `[(backend, gone), ...]`."
    return [(await _backend(url, gone), gone) for gone in ([] for _ in range(n))]

async def _die(b):
    "What SIGKILL leaves of `b`: its keys in Redis, no goodbye."
    b.started = False
    for _ in range(50):  # a read may swallow one cancellation: cancel until every task is over, so nothing writes for `b` again
        if not (running := [t for t in b._tasks if not t.done()]): break
        for t in running: t.cancel()
        await asyncio.wait(running, timeout=0.1)
    assert all(t.done() for t in b._tasks)
    for c in (b._redis, b._reader, b._pub): await c.aclose()

async def _read_up(b):
    "Wait until `b`'s reader has read everything appended so far (an announcement, say)."
    n = int(await b._redis.get(f'{b.prefix}:seq'))
    for _ in range(500):
        if b._last_delivered >= n: return
        await asyncio.sleep(0.01)
    raise AssertionError(f'reader stuck at {b._last_delivered} < {n}')

async def _lock_is(b, held:bool):
    "Wait (up to 5 s) until `b`'s presence lock is held, or free."
    for _ in range(500):
        if b._plock.locked() == held: return
        await asyncio.sleep(0.01)

async def _next_call_reaches_frozen_redis(b, call):
    "`b`'s first try of a presence call waits on the frozen Redis: queue `call` right behind it, and see that `call` goes out on a live connection (the first try's, closed when it times out, goes back on top of the pool and can't reconnect while Redis is frozen, so another task takes it). The task of `call`, and the task holding that connection."
    await _lock_is(b, True)
    ours = asyncio.create_task(b._plock.acquire())  # next in line for the lock, then `call`
    task = asyncio.create_task(call)
    await ours  # the first try timed out
    grab = asyncio.create_task(b._redis.ping())
    await asyncio.sleep(0)
    b._plock.release()
    return task, grab

async def _rebuild(b):
    "Redis lost its data (FLUSHALL: what a restart without data leaves); `b` writes itself back and runs its recovery to the end."
    await b._redis.flushall()
    await b._refresh(resync=True)
    await asyncio.wait_for(b._recovery, 30)

def test_a_worker_that_stopped_cleanly_is_not_reaped_again_after_redis_loses_its_data():
    "A closes holding zed (zed offline on A); Redis then loses its data, the `reaped` mark with it; B noted A before A left: B's recovery must not restore A and send zed offline again (seeds 301 and 303)."
    with redis_server() as (url, procs, _):
        async def go():
            (a, on_a), (b, on_b) = await _backends(url, 2)
            try:
                assert await a.user_added('zed')
                await b._remember()
                await a.close()
                await _read_up(b)
                await _rebuild(b)
                return on_a, on_b
            finally: await b.close()
        on_a, on_b = run(go())
    assert (on_a, on_b) == (['zed'], []), (on_a, on_b)

def test_a_dead_worker_reaped_once_is_not_reaped_again_after_redis_loses_its_data():
    "C is SIGKILLed holding zed; B reaps it (zed offline); Redis then loses its data: B's recovery must not restore C, which it noted before, and send zed offline again (seed 302 at 132 s)."
    with redis_server() as (url, procs, _):
        async def go():
            (b, on_b), (c, on_c) = await _backends(url, 2)
            try:
                assert await c.user_added('zed')
                await b._remember()
                await _die(c)
                await b._redis.delete(f'{b.prefix}:alive:{c.token}')  # its keep-alive expired
                await b._reap()
                first = list(on_b)
                await _rebuild(b)
                return first, on_b
            finally: await b.close()
        first, on_b = run(go())
    assert (first, on_b) == (['zed'], ['zed']), (first, on_b)

def test_a_user_sent_offline_while_redis_rebuilds_is_not_sent_offline_again_with_a_dead_worker_that_held_them():
    "zed has streams on A and on C; C is SIGKILLed; Redis loses its data; A writes itself back and stops cleanly (zed offline on A, C doesn't count); B's recovery restores C, which it noted holding zed: zed must not go offline twice (seed 302 at 72 s)."
    with redis_server() as (url, procs, _):
        async def go():
            (a, on_a), (b, on_b), (c, on_c) = await _backends(url, 3)
            try:
                assert await c.user_added('zed') and not await a.user_added('zed')
                await b._remember()
                await _die(c)
                await b._redis.flushall()
                await a._refresh(resync=True)
                await b._refresh(resync=True)
                await a.close()
                await _read_up(b)
                await asyncio.wait_for(b._recovery, 30)
                return on_a, on_b, await b.users_online()
            finally: await b.close()
        on_a, on_b, online = run(go())
    assert (on_a, on_b, online) == (['zed'], [], set()), (on_a, on_b, online)

def test_a_keep_alive_sent_while_a_departure_waits_for_a_frozen_redis_does_not_bring_the_user_back():
    "zed leaves while Redis is frozen: the call times out, yet Redis applies it at the thaw; a keep-alive sent meanwhile still counts zed (the departure isn't answered): it must not put zed back, or zed's next arrival fires no online and the departure after it a second offline (seed 301 at 188 s)."
    with redis_server() as (url, procs, _):
        async def go():
            b = await _backend(url, [])
            try:
                first = await b.user_added('zed')
                await asyncio.gather(*(b._redis.ping() for _ in range(4)))  # idle connections in the pool, as in a busy worker
                procs[-1].send_signal(signal.SIGSTOP)
                try:
                    leaving = asyncio.create_task(b.user_removed('zed'))
                    keep_alive, grab = await _next_call_reaches_frozen_redis(b, b._refresh())
                    await keep_alive
                finally: procs[-1].send_signal(signal.SIGCONT)
                await asyncio.gather(grab, return_exceptions=True)
                left = await asyncio.wait_for(leaving, 30)
                online = await b.users_online()
                back = await b.user_added('zed')
                return first, left, online, back
            finally: await b.close()
        got = run(go())
    assert got == (True, True, set(), True), got

def test_a_presence_call_for_another_user_between_two_tries_of_a_departure_does_not_make_redis_apply_it_twice():
    "zed leaves while Redis is frozen; before the departure's retry, a call for ann (a rejoin announces its users outside the queue of arrivals and departures) reaches Redis too: the retry must get the answer Redis gave the first try (zed offline), not apply the departure again and answer 'still online elsewhere'."
    from cjm_fasthtml_sse.core.backends import _USER_ADD
    with redis_server() as (url, procs, _):
        async def go():
            b = await _backend(url, [])
            try:
                assert await b.user_added('zed') and await b.user_added('ann')
                await asyncio.gather(*(b._redis.ping() for _ in range(4)))  # idle connections in the pool, as in a busy worker
                procs[-1].send_signal(signal.SIGSTOP)
                try:
                    leaving = asyncio.create_task(b.user_removed('zed'))
                    other, grab = await _next_call_reaches_frozen_redis(b, b._user_call(_USER_ADD, 'ann'))
                    await _lock_is(b, True)  # until ann's first try has gone out...
                    await _lock_is(b, False)  # ...and timed out
                finally: procs[-1].send_signal(signal.SIGCONT)
                await asyncio.gather(grab, other, return_exceptions=True)
                return await asyncio.wait_for(leaving, 30), await b.users_online()
            finally: await b.close()
        got = run(go())
    assert got == (True, {'ann'}), got

def test_a_broadcast_while_the_manager_closes_does_not_restart_its_backend():
    "SIGTERM closes the manager; a publish that comes in on a kept-alive connection meanwhile must not start the backend again: the worker would publish after it left, and uvicorn's shutdown hook would close it a second time, reaping its users again (a second `offline`, 0.1 s after the first, at a SIGTERM in the 5-minute fault-checker seeds 301 and 305)."
    from cjm_fasthtml_sse.core.backends import RedisBackend
    from cjm_fasthtml_sse.core.broadcast import BroadcastManager
    with redis_server() as (url, procs, _):
        async def go():
            m = BroadcastManager(backend=RedisBackend(url, prefix='shut_test', ttl=3))
            offline = []
            m.on_user_offline(offline.append)
            await m.start()
            assert await m.backend.user_added('zed')
            closing = asyncio.create_task(m.close())  # the signal's close
            for _ in range(1000):
                if not m.backend.started: break
                await asyncio.sleep(0.001)
            try: sent = await m.broadcast('note', {'n': 1})
            except Exception as e: sent = type(e).__name__
            await asyncio.wait_for(closing, 10)
            started = m.backend.started
            await m.close()  # uvicorn's shutdown hook closes it again
            await asyncio.sleep(0.5)  # time for a hook fired late to show
            return sent, started, m.backend.started, offline
        got = run(go())
    assert got == ('BackendUnavailable', False, False, ['zed']), got

def test_a_close_while_the_backend_starts_leaves_it_closed_with_nothing_running():
    "SIGTERM during the server's startup: close() runs while start() still waits on Redis. start() must not finish the job afterwards (started again, a reader and a keep-alive that nothing stops: uvicorn's shutdown hook finds the close done, and the process hangs at exit: fault-checker seed 305, a SIGTERM right after a restart)."
    from cjm_fasthtml_sse.core.backends import RedisBackend
    with redis_server() as (url, procs, _):
        async def go():
            b = RedisBackend(url, prefix='startclose_test', ttl=3)
            b.bind(lambda *a, **k: None, 100)
            reached, gate, sync = asyncio.Event(), asyncio.Event(), b._sync_clock
            async def held_sync():  # start() waits here (on Redis, as it were) until the test lets it go
                reached.set(); await gate.wait(); await sync()
            b._sync_clock = held_sync
            starting = asyncio.create_task(b.start())
            await asyncio.wait_for(reached.wait(), 10)
            await asyncio.wait_for(b.close(), 10)
            gate.set()
            await asyncio.gather(starting, return_exceptions=True)
            after_start = b.started, [t for t in b._tasks if not t.done()]
            await b.close()  # uvicorn's shutdown hook
            return after_start, (b.started, [t for t in b._tasks if not t.done()])
        got = run(go())
    assert got == ((False, []), (False, [])), got

def test_a_reap_whose_answer_is_lost_still_sends_the_dead_workers_users_offline():
    "C dies holding zed; B's reap reaches Redis and is applied, but its answer is lost (Redis stopped right after it, say): zed is offline in Redis with no hook anywhere. B's next reap must get the same answer and fire the hook (fault-checker seed 306: a dead worker's users, never sent offline, came back 'online while already online')."
    from cjm_fasthtml_sse.core.backends import _REAP
    with redis_server() as (url, procs, _):
        async def go():
            (b, on_b), (c, on_c) = await _backends(url, 2)
            try:
                assert await c.user_added('zed')
                await _die(c)
                await b._redis.delete(f'{b.prefix}:alive:{c.token}')  # its keep-alive expired
                real, lost = b._redis.eval, []
                async def eval(script, *args):
                    out = await real(script, *args)
                    if script is _REAP and not lost:
                        lost.append(out)
                        raise ConnectionError('the answer was lost')
                    return out
                b._redis.eval = eval
                await b._reap()
                first = list(on_b)
                await b._reap()
                return lost, first, on_b, await b.users_online()
            finally: await b.close()
        got = run(go())
    assert got == ([['zed']], [], ['zed'], set()), got

async def _zed_on_dead_c_noted_by_b(url):
    "B and C; C holds zed, B notes C's users, then C is SIGKILLed: `(b, on_b)`."
    (b, on_b), (c, _) = await _backends(url, 2)
    assert await c.user_added('zed')
    await b._remember()
    await _die(c)
    return b, on_b

async def _reaped_by_a_newcomer(url, *expired):
    "D starts after the hold after the loss is over (and the keys `expired` are gone) and reaps: `(what its users_gone got, who is online)`."
    on_d = []
    d = await _backend(url, on_d)
    try:
        await d._redis.delete(f'{d.prefix}:settle', *(f'{d.prefix}:{k}' for k in expired))
        await d._reap()
        return on_d, await d.users_online()
    finally: await d.close()

def test_a_dead_workers_users_go_offline_when_the_survivor_that_noted_it_dies_while_redis_rebuilds():
    "C is SIGKILLed holding zed; Redis loses its data before anyone reaps C; B, the only process that noted C, writes itself back and is SIGKILLed before its recovery runs; D starts after the loss, having noted nothing: zed must still go offline, once, through D (seed 401 at 74-94 s, seed 407)."
    with redis_server() as (url, procs, _):
        async def go():
            b, on_b = await _zed_on_dead_c_noted_by_b(url)
            await b._redis.flushall()
            await b._refresh(resync=True)
            await asyncio.sleep(0.5)  # B lives a moment after seeing the loss (in seed 401, about 2 s), well inside the hold
            await _die(b)
            return (on_b, *await _reaped_by_a_newcomer(url, f'alive:{b.token}'))  # B's keep-alive expired too
        got = run(go())
    assert got == ([], ['zed'], set()), got

def test_a_dead_workers_users_go_offline_when_redis_loses_its_data_twice_and_the_survivor_that_noted_it_stops():
    "C is SIGKILLed holding zed; Redis loses its data, and again during the hold (what B wrote down with it); B, the only process that noted C, sees the second loss, then stops cleanly before its recovery runs; D starts afterwards: zed must still go offline, once, through D (seed 407 at 248-284 s)."
    with redis_server() as (url, procs, _):
        async def go():
            b, on_b = await _zed_on_dead_c_noted_by_b(url)
            for _ in range(2):
                await b._redis.flushall()
                await b._refresh(resync=True)
                await asyncio.sleep(0.5)  # B goes on a moment: the second loss comes in the first one's hold
            await b.close()
            return (on_b, *await _reaped_by_a_newcomer(url))
        got = run(go())
    assert got == ([], ['zed'], set()), got

@pytest.mark.parametrize('noted', [True, False], ids=['noted by B', 'noted by nobody'])
def test_a_worker_that_stops_before_writing_itself_back_sends_its_users_offline_through_a_survivor(noted):
    "C holds zed; Redis loses its data; B sees the loss; C gets SIGTERM before it has written itself back, so its own reap finds nothing to reap: zed must go offline once, through B's recovery, whether or not B had noted C (seed 416 at 93 s)."
    with redis_server() as (url, procs, _):
        async def go():
            (b, on_b), (c, on_c) = await _backends(url, 2)
            try:
                assert await c.user_added('zed')
                if noted: await b._remember()
                await b._redis.flushall()
                await b._refresh(resync=True)
                await c.close()
                await asyncio.wait_for(b._recovery, 30)
                return on_b, on_c, await b.users_online()
            finally: await b.close()
        got = run(go())
    assert got == (['zed'], [], set()), got
