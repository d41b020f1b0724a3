"Per-user delivery and presence on real uvicorn: `identify`, `send_to_user`, `users_online` and the online/offline hooks, on one process and on two sharing a real redis-server."
import asyncio, json, os, signal, subprocess, sys, time
import httpx, pytest
from urllib.parse import quote
from cjm_fasthtml_sse.testing import SSEClient
from helpers import ROOT, free_port, poll, redis_server, uvicorn_app, run, wait_for_port

pytestmark = pytest.mark.timeout(120)

async def users(http, url): return (await http.get(f'{url}/_test/users')).json()

async def until_users(http, url, cond, timeout=5): return await poll(lambda: users(http, url), cond, timeout, 'users state')

async def send(http, url, user, type_, data): return (await http.post(f'{url}/_test/send_to_user', json={'user': user, 'type': type_, 'data': data})).json()

async def tab(url, user=None, **headers):
    return await SSEClient.connect(f'{url}/sse/broadcast' + (f'?user={quote(user)}' if user else ''), headers=headers or None)

def body(event): return json.loads(event.data)['data']

@pytest.fixture(scope='module')
def one():
    port = free_port()
    with uvicorn_app('users_app:app', port) as url: yield url

def test_send_to_user_reaches_all_of_that_users_tabs_and_nobody_else(one):
    async def go():
        async with httpx.AsyncClient() as http:
            a1, a2, b, anon = await tab(one, 'alice'), await tab(one, 'alice'), await tab(one, 'bob'), await tab(one)
            s = await until_users(http, one, lambda s: len(s['users']) == 4)
            reached = await send(http, one, 'alice', 'private', {'to': 'alice'})
            to_bob = await send(http, one, 'bob', 'private', {'to': 'bob'})
            to_nobody = await send(http, one, 'carol', 'private', {'to': 'carol'})
            got = [body(await c.next_event()) for c in (a1, a2, b)]
            for c in (a1, a2, b, anon): await c.close()
            await until_users(http, one, lambda s: not s['users'])
            return s, reached, to_bob, to_nobody, got
    s, reached, to_bob, to_nobody, got = run(go())
    assert sorted(s['users'].values(), key=str) == [None, 'alice', 'alice', 'bob']
    assert s['online'] == ['alice', 'bob'] and s['stats']['users_online'] == 2
    assert (reached, to_bob, to_nobody) == (2, 1, 0)
    assert got == [{'to': 'alice'}, {'to': 'alice'}, {'to': 'bob'}]  # bob's first message is his own: he never got alice's

def test_online_and_offline_fire_once_per_user_not_per_tab(one):
    async def go():
        async with httpx.AsyncClient() as http:
            start = len((await users(http, one))['events'])
            a1, a2, b = await tab(one, 'dora'), await tab(one, 'dora'), await tab(one, 'erin')
            await until_users(http, one, lambda s: len(s['users']) == 3)
            await a1.close()
            mid = await until_users(http, one, lambda s: len(s['users']) == 2)
            await asyncio.sleep(0.2)  # a wrong offline hook for dora would have fired by now
            mid = (await users(http, one))['events'][start:]
            await a2.close(); await b.close()
            end = await until_users(http, one, lambda s: len(s['events']) - start == 4)
            return mid, end['events'][start:], end['online']
    mid, events, online = run(go())
    assert sorted(mid) == [['online', 'dora'], ['online', 'erin']]
    assert sorted(events) == [['offline', 'dora'], ['offline', 'erin'], ['online', 'dora'], ['online', 'erin']]
    assert 'dora' not in online and 'erin' not in online

def test_a_resuming_stream_of_the_user_gets_what_it_missed_and_nobody_elses(one):
    async def go():
        async with httpx.AsyncClient() as http:
            a, b = await tab(one, 'fay'), await tab(one, 'gus')
            await until_users(http, one, lambda s: len(s['users']) == 2)
            await send(http, one, 'fay', 't', {'n': 1}); await send(http, one, 'gus', 't', {'n': 1})
            last_a, last_b = (await a.next_event()).id, (await b.next_event()).id
            await a.close(); await b.close()
            await until_users(http, one, lambda s: not s['users'])
            await send(http, one, 'fay', 't', {'n': 2}); await send(http, one, 'gus', 't', {'n': 2})
            ra, rb = await tab(one, 'fay', **{'Last-Event-ID': last_a}), await tab(one, 'gus', **{'Last-Event-ID': last_b})
            got = [body(await ra.next_event()), body(await rb.next_event())]
            await send(http, one, 'gus', 't', {'n': 3})
            later = body(await rb.next_event())
            await ra.close(); await rb.close()
            return got, later
    got, later = run(go())
    assert got == [{'n': 2}, {'n': 2}] and later == {'n': 3}  # gus's resume skipped fay's message and vice versa

def test_a_bad_user_from_identify_is_a_400_naming_the_problem(one):
    async def go():
        c = await tab(one, 'x' * 600)
        text = (await c.read_until_end()).decode()
        await c.close()
        return c.status, text
    status, text = run(go())
    assert status == 400 and "identify returned the user 'xxx" in text and 'MAX_USER_LENGTH=512' in text

def test_any_user_string_works_and_send_to_user_reaches_only_that_user(one):
    "Emails, spaces and non-ASCII letters are users like any other; users that differ only in encoding stay apart."
    names = ['bob@example.com', 'Mary Jane', 'josé', 'jose', 'jos%C3%A9']
    async def go():
        async with httpx.AsyncClient() as http:
            tabs = {n: await tab(one, n) for n in names}
            extra = await tab(one, 'josé')
            s = await until_users(http, one, lambda s: len(s['users']) == len(names) + 1)
            reached = {n: await send(http, one, n, 'private', {'to': n}) for n in names}
            got = {n: body(await c.next_event()) for n, c in tabs.items()}
            got_extra = body(await extra.next_event())
            for c in (*tabs.values(), extra): await c.close()
            await until_users(http, one, lambda s: not s['users'])
            return s, reached, got, got_extra
    s, reached, got, got_extra = run(go())
    assert sorted(s['online']) == sorted(names)
    assert reached == {'bob@example.com': 1, 'Mary Jane': 1, 'josé': 2, 'jose': 1, 'jos%C3%A9': 1}
    assert got == {n: {'to': n} for n in names} and got_extra == {'to': 'josé'}  # each tab's first message is its own user's

@pytest.fixture(scope='module')
def cluster():
    with redis_server() as (url, procs, start):
        env = {'SSE_TEST_REDIS': url, 'SSE_TEST_TTL': '3'}
        a_port, b_port = free_port(), free_port()
        with uvicorn_app('users_app:app', a_port, env) as a, uvicorn_app('users_app:app', b_port, env) as b:
            yield a, b, env

def test_across_two_processes_send_to_user_reaches_both_and_offline_waits_for_the_last(cluster):
    a, b, _ = cluster
    async def go():
        async with httpx.AsyncClient() as http:
            on_a = await tab(a, 'alice')
            await until_users(http, b, lambda s: s['online'] == ['alice'])
            on_b, bob = await tab(b, 'alice'), await tab(b, 'bob')
            await until_users(http, a, lambda s: s['online'] == ['alice', 'bob'])
            reached = await send(http, a, 'alice', 'private', {'to': 'alice'})
            await send(http, b, 'bob', 'private', {'to': 'bob'})
            got = [body(await c.next_event()) for c in (on_a, on_b, bob)]
            await on_a.close()
            await until_users(http, a, lambda s: not s['users'])
            await asyncio.sleep(0.3)  # a wrong offline for alice would have fired by now
            mid = (await users(http, a))['events'] + (await users(http, b))['events']
            online_mid = (await users(http, a))['online']
            await on_b.close(); await bob.close()
            ea = (await until_users(http, a, lambda s: s['online'] == []))
            events = await until_users(http, b, lambda s: len(s['events']) >= 3)
            await asyncio.sleep(0.2)
            return reached, got, mid, online_mid, (await users(http, a))['events'] + (await users(http, b))['events']
    reached, got, mid, online_mid, events = run(go())
    assert reached == 1  # the stream of alice on A; B delivers to its own without counting here
    assert got == [{'to': 'alice'}, {'to': 'alice'}, {'to': 'bob'}]
    assert sorted(mid) == [['online', 'alice'], ['online', 'bob']] and online_mid == ['alice', 'bob']
    assert sorted(events) == [['offline', 'alice'], ['offline', 'bob'], ['online', 'alice'], ['online', 'bob']]

def test_across_two_processes_any_user_string_is_present_and_reachable(cluster):
    "Redis keeps presence per user under a key built from the user: an email, spaces, quotes and non-ASCII letters work there too."
    a, b, _ = cluster
    name = 'Zoë "Z" <zoe@example.com>'
    async def go():
        async with httpx.AsyncClient() as http:
            t = await tab(a, name)
            seen_on_b = await until_users(http, b, lambda s: name in s['online'])
            reached = await send(http, b, name, 'private', {'to': name})
            got = body(await t.next_event())
            await t.close()
            gone = await until_users(http, b, lambda s: name not in s['online'])
            return seen_on_b['online'], reached, got, gone['online']
    online, reached, got, after = run(go())
    assert name in online and name not in after
    assert reached == 0 and got == {'to': name}  # B holds no stream of hers, and A delivered B's message

def test_a_killed_workers_users_go_offline_within_the_ttl(cluster):
    a, _, env = cluster
    port = free_port()
    proc = subprocess.Popen([sys.executable, '-m', 'uvicorn', 'users_app:app', '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning'],
                            cwd=ROOT, env={**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT / 'tests'), str(ROOT)]), **env})
    try:
        wait_for_port(port, proc)
        async def go():
            async with httpx.AsyncClient() as http:
                c = await tab(f'http://127.0.0.1:{port}', 'zed')
                before = await until_users(http, a, lambda s: 'zed' in s['online'])
                proc.send_signal(signal.SIGKILL); proc.wait(10)
                t = time.monotonic()
                after = await until_users(http, a, lambda s: 'zed' not in s['online'], timeout=10)
                await c.close()
                return before['online'], after['online'], time.monotonic() - t
        before, after, took = run(go())
    finally:
        if proc.poll() is None: proc.kill(); proc.wait(10)
    assert 'zed' in before and 'zed' not in after
    print(f'zed went offline {took:.1f} s after SIGKILL (ttl 3 s)')
