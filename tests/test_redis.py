"Scale-out with RedisBackend: two uvicorn processes sharing a real redis-server behave as one."
import asyncio, json, os, subprocess, sys, time
import httpx, pytest
from cjm_fasthtml_sse.testing import SSEClient
from helpers import ROOT, free_port, redis_server, uvicorn_app, run, until, broadcast

pytestmark = pytest.mark.timeout(180)

@pytest.fixture(scope='module')
def cluster():
    with redis_server() as (url, procs, start):
        env = {'SSE_TEST_REDIS': url, 'SSE_TEST_HISTORY': '100', 'SSE_TEST_LOCAL_OUTAGE': '1'} # the outage test below checks the opt-in
        a_port, b_port = free_port(), free_port()
        with uvicorn_app('server_app:app', a_port, env) as a, uvicorn_app('server_app:app', b_port, env) as b:
            yield a, b, procs, start, url

def numbers(events): return [json.loads(e.data)['data']['i'] for e in events if e.event == 'message']

async def both_connected(http, a, b, na, nb):
    await until(http, a, lambda s: len(s['connections']) == na)
    await until(http, b, lambda s: len(s['connections']) == nb)

async def one_client_on_each(http, a, b):
    "One stream on process A and one on process B, both registered."
    ca, cb = await SSEClient.connect(f'{a}/sse/broadcast'), await SSEClient.connect(f'{b}/sse/broadcast')
    await both_connected(http, a, b, 1, 1)
    return ca, cb

async def close_all(http, a, b, clients):
    for c in clients: await c.close()
    await both_connected(http, a, b, 0, 0)

def test_broadcasts_from_either_process_reach_both_in_the_same_order(cluster):
    a, b, *_ = cluster
    async def go():
        async with httpx.AsyncClient() as http:
            ca, cb = await one_client_on_each(http, a, b)
            for i in range(20): await broadcast(http, a if i % 2 else b, 'n', {'i': i})
            got = await ca.events(20), await cb.events(20)
            status = (await http.get(f'{a}/sse/status')).json()
            await close_all(http, a, b, [ca, cb])
            return got, status
    (on_a, on_b), status = run(go())
    assert numbers(on_a) == numbers(on_b) == list(range(20))
    assert [e.id for e in on_a] == [e.id for e in on_b]
    ids = [int(e.id) for e in on_a]
    assert ids == sorted(ids) and len(set(ids)) == 20
    assert status['connections'] == 1 and status['cluster_connections'] == 2

def test_resume_on_the_other_process(cluster):
    a, b, *_ = cluster
    async def go():
        async with httpx.AsyncClient() as http:
            c = await SSEClient.connect(f'{a}/sse/broadcast')
            await both_connected(http, a, b, 1, 0)
            for i in range(3): await broadcast(http, a, 'n', {'i': i})
            seen = await c.events(3)
            await close_all(http, a, b, [c])
            for i in range(3, 10): await broadcast(http, a if i % 2 else b, 'n', {'i': i})
            back = await SSEClient.connect(f'{b}/sse/broadcast', headers={'Last-Event-ID': seen[-1].id})
            missed = await back.events(7)
            await close_all(http, a, b, [back])
            return seen, missed
    seen, missed = run(go())
    assert numbers(seen) == [0, 1, 2]
    assert numbers(missed) == list(range(3, 10))

def test_send_to_a_connection_on_the_other_process(cluster):
    a, b, *_ = cluster
    async def go():
        async with httpx.AsyncClient() as http:
            far = await SSEClient.connect(f'{b}/open/broadcast?connection_id=far-away')
            near = await SSEClient.connect(f'{a}/sse/broadcast')
            await both_connected(http, a, b, 1, 1)
            taken = await SSEClient.connect(f'{a}/open/broadcast?connection_id=far-away')
            ok = (await http.post(f'{a}/_test/send_to', json={'id': 'far-away', 'type': 'private', 'data': {'i': 1}})).json()
            nobody = (await http.post(f'{a}/_test/send_to', json={'id': 'nobody', 'type': 'private', 'data': {}})).json()
            got = await far.next_event()
            await broadcast(http, a, 'n', {'i': 2})
            near_got = await near.next_event()
            await close_all(http, a, b, [far, near, taken])
            return ok, nobody, got, near_got, taken.status
    ok, nobody, got, near_got, taken = run(go())
    assert (ok, nobody, taken) == ({'ok': True}, {'ok': False}, 409)
    assert json.loads(got.data)['type'] == 'private'
    assert numbers([near_got]) == [2], 'the targeted message leaked to another connection'

def test_redis_restart_mid_stream(cluster):
    a, b, procs, start, _ = cluster
    async def go():
        async with httpx.AsyncClient() as http:
            ca, cb = await one_client_on_each(http, a, b)
            await broadcast(http, a, 'n', {'i': 0})
            before = (await ca.next_event(), await cb.next_event())
            procs[-1].kill(); procs[-1].wait(10)
            while (await http.post(f'{a}/_test/ping')).json()['healthy']: await asyncio.sleep(0.05)
            t0 = time.monotonic()
            sent = await broadcast(http, a, 'n', {'i': 1})
            took = time.monotonic() - t0
            during = await ca.next_event(3)
            start()
            restarted = time.monotonic()
            recovered = None
            while time.monotonic() - restarted < 10:
                if all([(await http.post(f'{u}/_test/ping')).json()['healthy'] for u in (a, b)]): recovered = time.monotonic() - restarted; break
                await asyncio.sleep(0.05)
            await broadcast(http, a, 'n', {'i': 2})
            async def until_two(c):
                got = []
                while not numbers(got[-1:]) == [2]: got.append(await c.next_event(5))
                return got
            after = (await until_two(ca), await until_two(cb))
            await close_all(http, a, b, [ca, cb])
            return before, sent, took, during, recovered, after
    before, sent, took, during, recovered, after = run(go())
    assert numbers(before) == [0, 0]
    assert sent['sent'] == 1 and took < 2, 'broadcast during the outage hung or failed'
    assert numbers([during]) == [1] and during.id == before[0].id, 'outage messages go out without a new id'
    assert recovered is not None and recovered < 5, f'no recovery within 5 s ({recovered})'
    on_a, on_b = after
    assert numbers(on_a) == [2] and numbers(on_b) == [2], 'message 1 leaked to b, or 2 was lost'
    assert [e.event for e in on_b] == ['reset', 'message'], 'b must be told it missed the outage message, once'
    assert json.loads(on_b[0].data)['reason'] in ('backend_outage', 'missed_messages')

def test_by_default_a_publish_redis_cant_take_is_refused_and_delivered_nowhere():
    "Without `local_during_outage`, a broadcast while Redis is down fails to the caller (503 here), naming the opt-in; no stream gets it, with or without an id; once Redis is back, broadcasts reach both with ids."
    with redis_server() as (url, procs, start):
        env = {'SSE_TEST_REDIS': url, 'SSE_TEST_HISTORY': '100'}
        with uvicorn_app('server_app:app', free_port(), env) as a, uvicorn_app('server_app:app', free_port(), env) as b:
            async def go():
                async with httpx.AsyncClient(timeout=20) as http:
                    ca, cb = await one_client_on_each(http, a, b)
                    await broadcast(http, a, 'n', {'i': 0})
                    before = (await ca.next_event(), await cb.next_event())
                    procs[-1].kill(); procs[-1].wait(10)
                    during = await http.post(f'{a}/_test/broadcast', json={'type': 'n', 'data': {'i': 1}})
                    start()
                    answer = None
                    for _ in range(100):  # until a reconnects to Redis and takes a broadcast
                        if (answer := await http.post(f'{a}/_test/broadcast', json={'type': 'n', 'data': {'i': 2}})).status_code == 200: break
                        await asyncio.sleep(0.1)
                    async def until_two(c):  # Redis came back empty: a `reset` for the jump in ids may come first
                        got = []
                        while len(got) < 5 and not numbers(got[-1:]): got.append(await c.next_event(5))
                        return got
                    after = (await until_two(ca), await until_two(cb))
                    await close_all(http, a, b, [ca, cb])
                    return before, during, answer, after
            before, during, answer, after = run(go())
    assert numbers(before) == [0, 0]
    assert during.status_code == 503, (during.status_code, during.text)
    assert "can't publish to Redis" in during.json()['refused'] and 'local_during_outage=True' in during.json()['refused'], during.text
    assert answer is not None and answer.status_code == 200, answer
    for got in after:
        assert numbers(got) == [2], ('message 1 was delivered somewhere though refused', [(e.event, e.data) for e in got])
        assert all(e.id and int(e.id) > int(before[0].id) for e in got), [(e.event, e.id) for e in got]

def test_by_default_send_to_user_and_broadcast_threadsafe_raise_when_redis_is_down():
    "`send_to_user` raises `BackendUnavailable`, and so does the future of `broadcast_threadsafe`; the manager's own streams get nothing."
    from cjm_fasthtml_sse.core.backends import RedisBackend, BackendUnavailable
    from cjm_fasthtml_sse.core.broadcast import BroadcastManager
    with redis_server() as (url, procs, _):
        async def go():
            manager = BroadcastManager(backend=RedisBackend(url, prefix='refuse_test'))
            await manager.start()
            conn = 'c1'
            _, queue = await manager.register(conn)
            procs[-1].kill(); procs[-1].wait(10)
            errors = []
            for call in (lambda: manager.send_to_user('ann', 'n', {'i': 1}), lambda: manager.broadcast('n', {'i': 2}),
                         lambda: asyncio.to_thread(lambda: manager.broadcast_threadsafe('n', {'i': 3}).result(10))):
                try: await call()
                except BackendUnavailable as e: errors.append(str(e))
            got = [queue.get_nowait() for _ in range(queue.qsize())]
            await manager.close()
            return errors, got
        errors, got = run(go())
    assert len(errors) == 3 and all('local_during_outage' in e for e in errors), errors
    assert got == [], got

def test_unreachable_redis_at_startup_names_the_url():
    port, dead = free_port(), free_port()
    url = f'redis://127.0.0.1:{dead}/0'
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT / 'tests'), str(ROOT)]), 'SSE_TEST_REDIS': url}
    proc = subprocess.run([sys.executable, '-m', 'uvicorn', 'server_app:app', '--host', '127.0.0.1', '--port', str(port)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert url in proc.stderr, proc.stderr[-2000:]

def test_the_demo_on_two_workers_shares_broadcasts_and_state():
    with redis_server() as (url, *_):
        port = free_port()
        args = ['-m', 'uvicorn', 'cjm_fasthtml_sse.demo:app', '--workers', '2', '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning']
        from helpers import running
        with running(args, port, env={'CJM_SSE_REDIS': url}) as demo:
            async def go():
                async with httpx.AsyncClient() as http:
                    async def spread_over_both():
                        "Whether the streams are on both workers: some worker answers with fewer than all of them."
                        for _ in range(250):
                            if (await http.get(f'{demo}/sse/status')).json().get('cluster_connections') == len(tabs): break
                            await asyncio.sleep(0.02)
                        return any([(await http.get(f'{demo}/sse/status')).json()['connections'] < len(tabs) for _ in range(10)])
                    tabs = [await SSEClient.connect(f'{demo}/sse/broadcast') for _ in range(8)]
                    while not await spread_over_both() and len(tabs) < 40:
                        await asyncio.sleep(0.1)
                        tabs.append(await SSEClient.connect(f'{demo}/sse/broadcast'))
                    assert await spread_over_both(), f'all {len(tabs)} streams stayed on one worker; the test would prove nothing'
                    for _ in range(3): assert (await http.post(f'{demo}/counter/increment')).status_code == 200
                    assert (await http.post(f'{demo}/messages', data={'text': 'from one worker'})).status_code == 200
                    got = [[e.data for e in await t.events(4)] for t in tabs]
                    pages = [(await http.get(demo)).text for _ in range(6)]
                    for t in tabs: await t.close()
                    return got, pages
            got, pages = asyncio.run(asyncio.wait_for(go(), 60))
    counters = [f'<span id="counter" hx-swap-oob="outerHTML">{n}</span>' for n in (1, 2, 3)]
    for events in got: assert events == counters + ['<div hx-swap-oob="beforeend" id="feed"><li>from one worker</li></div>']
    for page in pages: assert 'id="counter">3<' in page and '<li>from one worker</li>' in page

def test_the_demo_answers_503_to_a_message_redis_cant_take():
    "With Redis gone, posting a message gets 503 and a `Retry-After` (the broadcast was refused, nothing was shown anywhere), not a 500 traceback."
    with redis_server() as (url, procs, _):
        port = free_port()
        args = ['-m', 'uvicorn', 'cjm_fasthtml_sse.demo:app', '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning']
        from helpers import running
        with running(args, port, env={'CJM_SSE_REDIS': url}) as demo:
            async def go():
                async with httpx.AsyncClient(timeout=20) as http:
                    before = await http.post(f'{demo}/messages', data={'text': 'with redis'})
                    procs[-1].kill(); procs[-1].wait(10)
                    return before, await http.post(f'{demo}/messages', data={'text': 'without redis'})
            before, during = asyncio.run(asyncio.wait_for(go(), 60))
    assert before.status_code == 200, before.text
    assert during.status_code == 503 and during.headers.get('retry-after') == '1' and 'local_during_outage' in during.text, (during.status_code, during.text)

def test_an_unreadable_stream_entry_does_not_stop_delivery(cluster):
    a, b, _, _, url = cluster
    import redis
    async def go():
        async with httpx.AsyncClient() as http:
            ca, cb = await one_client_on_each(http, a, b)
            r = redis.Redis.from_url(url, decode_responses=True)
            seq = r.incr('sse_test:seq')
            r.xadd('sse_test:stream', {'m': 'not json'}, id=f'{seq}-1')
            await broadcast(http, a, 'n', {'i': 1})
            got = [[await c.next_event(), await c.next_event()] for c in (ca, cb)]
            await close_all(http, a, b, [ca, cb])
            return got
    for reset, message in run(go()):
        assert reset.event == 'reset' and json.loads(reset.data)['reason'] == 'missed_messages'
        assert numbers([message]) == [1]

def test_newest_id_right_after_a_broadcast_resumes_on_the_other_process_without_repeats(cluster):
    "A page rendered on A just after A's own broadcast resumes on B with exactly the later messages, and no reset."
    a, b, *_ = cluster
    async def go():
        async with httpx.AsyncClient() as http:
            c = await SSEClient.connect(f'{a}/sse/broadcast')
            await both_connected(http, a, b, 1, 0)
            newest = [(await broadcast(http, a, 'n', {'i': i}))['newest'] for i in range(3)]
            seen = await c.events(3)
            await broadcast(http, b, 'n', {'i': 3})
            back = await SSEClient.connect(f'{b}/sse/broadcast?last_event_id={newest[-1]}')
            await both_connected(http, a, b, 1, 1)
            await broadcast(http, a, 'n', {'i': 4})
            got = await back.events(2)
            await close_all(http, a, b, [c, back])
            return newest, seen, got
    newest, seen, got = run(go())
    assert newest == [e.id for e in seen]
    assert [e.event for e in got] == ['message', 'message'] and numbers(got) == [3, 4]

def test_a_non_ascii_digit_id_gets_the_same_reset_as_in_memory_mode(cluster):
    "'²' passes str.isdigit() but not int(); in Redis mode it must get a reset, not a 500."
    a, b, *_ = cluster
    port = int(a.rsplit(':', 1)[1])
    async def go():
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        writer.write(b'GET /sse/broadcast HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \xb2\r\n\r\n')
        head = await asyncio.wait_for(reader.readuntil(b'\r\n\r\n'), 5)
        writer.close()
        by_query = await SSEClient.connect(f'{a}/sse/broadcast?last_event_id=%C2%B2')
        reset = await by_query.next_event()
        await by_query.close()
        return head, by_query.status, reset
    head, status, reset = run(go())
    assert head.startswith(b'HTTP/1.1 200'), head
    assert status == 200 and reset.event == 'reset' and json.loads(reset.data) == {'reason': 'unknown_id', 'last_event_id': '²'}

def test_an_excluded_client_is_not_sent_the_message_when_it_resumes_on_the_other_process(cluster):
    a, b, *_ = cluster
    async def go():
        async with httpx.AsyncClient() as http:
            x = await SSEClient.connect(f'{a}/open/broadcast?connection_id=x')
            await both_connected(http, a, b, 1, 0)
            await broadcast(http, a, 'n', {'i': 0})
            [seen] = await x.events(1)
            await close_all(http, a, b, [x])
            await broadcast(http, a, 'n', {'i': 1}, exclude=['x'])
            await broadcast(http, a, 'n', {'i': 2})
            back = await SSEClient.connect(f'{b}/open/broadcast?connection_id=x', headers={'Last-Event-ID': seen.id})
            await both_connected(http, a, b, 0, 1)
            await broadcast(http, a, 'n', {'i': 3})
            got = await back.events(2)
            await close_all(http, a, b, [back])
            return got
    assert numbers(run(go())) == [2, 3]

def _redis_with_password(password):
    "A redis-server on a free port that requires `password`."
    from helpers import require_program
    from cjm_fasthtml_sse.testing import start_redis
    require_program('redis-server', 'apt-get install redis-server')
    proc, url = start_redis(options=('--requirepass', password))
    return proc, int(url.rsplit(':', 1)[1].split('/')[0])

def test_a_password_in_the_redis_url_never_reaches_a_log_an_error_or_a_repr(caplog):
    "Credentials are redacted in the startup error, the log lines when Redis comes and goes, and repr."
    import logging
    from cjm_fasthtml_sse.core.backends import RedisBackend, BackendUnavailable
    from cjm_fasthtml_sse.core.broadcast import BroadcastManager
    proc, port = _redis_with_password('s3cr3t')
    dead = free_port()
    async def go():
        with pytest.raises(BackendUnavailable) as refused: await RedisBackend(f'redis://:s3cr3t@127.0.0.1:{dead}/0').start()
        backend = RedisBackend(f'redis://admin:s3cr3t@127.0.0.1:{port}/0', prefix='pw_test')
        backend_default = RedisBackend(f'redis://:s3cr3t@127.0.0.1:{port}/0', prefix='pw_test')
        manager = BroadcastManager(backend=backend_default)
        await manager.start()
        await manager.broadcast('n', {'i': 1})
        proc.kill(); proc.wait(10)
        for _ in range(100):
            if any('lost Redis' in r.getMessage() for r in caplog.records): break
            await asyncio.sleep(0.05)
        with pytest.raises(BackendUnavailable) as during: await manager.broadcast('n', {'i': 2})
        await manager.close()
        return str(refused.value) + str(during.value), repr(backend), repr(backend_default)
    with caplog.at_level(logging.INFO, logger='cjm_fasthtml_sse'):
        try: refused, rep, rep_default = run(go())
        finally:
            if proc.poll() is None: proc.kill(); proc.wait(10)
    logged = [r.getMessage() + (str(r.exc_info[1]) if r.exc_info else '') for r in caplog.records]
    assert any('lost Redis' in m for m in logged), logged
    for text in [refused, rep, rep_default, *logged]: assert 's3cr3t' not in text and 'admin' not in text, text
    assert f'redis://***@127.0.0.1:{dead}/0' in refused
    assert rep == f"RedisBackend('redis://***@127.0.0.1:{port}/0', prefix='pw_test')"
