"Limits that keep one client from holding the server: a peer that never reads is cut off after send_timeout."
import asyncio, socket, time
import httpx, pytest
from helpers import free_port, uvicorn_app, run, state, until, broadcast, stalled_socket

pytestmark = pytest.mark.timeout(120)

def test_a_peer_that_never_reads_is_disconnected_after_send_timeout():
    port = free_port()
    env = {'SSE_TEST_QUEUE': '100000', 'SSE_TEST_SEND_TIMEOUT': '1', 'SSE_TEST_HISTORY': '1000'}  # the log holds all 200: only send_timeout can cut the peer
    with uvicorn_app('server_app:app', port, env=env) as url:
        async def go():
            async with httpx.AsyncClient(timeout=10) as http:
                baseline = (await state(http, url))['tasks']
                peer = stalled_socket(port, '/open/broadcast?connection_id=mute')
                await until(http, url, lambda s: s['connections'] == ['mute'])
                sent, big, start = 0, 'x' * 100_000, time.monotonic()
                while 'mute' in (await state(http, url))['connections'] and time.monotonic() - start < 15:
                    if sent < 200: await broadcast(http, url, 'n', {'i': sent, 'pad': big})
                    sent += 1
                    await asyncio.sleep(0.02)
                final = await until(http, url, lambda s: not s['connections'] and s['streams'] == 0 and s['tasks'] <= baseline)
                return peer, sent, final
        peer, sent, final = run(go())
        assert 'mute' not in final['connections'], 'the peer was never disconnected'
        assert final['send_timeouts'] == 1 and final['dropped'] == 0
        peer.settimeout(5)
        closed = False
        try:
            for _ in range(100_000):
                if not peer.recv(1 << 16): closed = True; break
        except ConnectionResetError: closed = True
        finally: peer.close()
        assert closed, "the server kept the peer's socket open"

def _capped_app(**caps):
    from fasthtml.common import FastHTML
    from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
    app, manager = FastHTML(), BroadcastManager()
    setup_broadcast_routes(app, manager, identify=lambda request: request.headers.get('x-test-user'), **caps)  # a test stand-in for a session
    return app, manager

async def _reopen_until_served(url, headers, timeout=10):
    "A new stream, tried until the server has counted the closed one out (its end is noticed asynchronously)."
    from cjm_fasthtml_sse.testing import SSEClient
    deadline = time.monotonic() + timeout
    while True:
        c = await SSEClient.connect(url, headers=headers)
        if c.status == 200 or time.monotonic() > deadline: return c
        await c.close(); await asyncio.sleep(0.05)

def test_a_user_beyond_max_streams_per_user_gets_a_429_naming_the_limit_until_one_closes():
    from cjm_fasthtml_sse.testing import SSEClient, serve
    app, manager = _capped_app(max_streams_per_user=2)
    async def go():
        async with serve(app) as url:
            ann = {'x-test-user': 'ann@example.com'}
            tabs = [await SSEClient.connect(f'{url}/sse/broadcast', headers=ann) for _ in range(2)]
            third = await SSEClient.connect(f'{url}/sse/broadcast', headers=ann)
            body = (await third.read_until_end(5)).decode()
            other = await SSEClient.connect(f'{url}/sse/broadcast', headers={'x-test-user': 'bea'})
            await tabs[0].close()
            again = await _reopen_until_served(f'{url}/sse/broadcast', ann)
            statuses = [t.status for t in tabs], third.status, third.headers.get('retry-after'), other.status, again.status
            for c in (tabs[1], third, other, again): await c.close()
            return statuses, body
    (firsts, status, retry, other, again), body = run(go())
    assert firsts == [200, 200] and status == 429 and retry and int(retry) > 0
    assert 'max_streams_per_user=2' in body and 'ann@example.com' in body, body
    assert other == 200 and again == 200  # another user is not counted against ann; a closed tab frees its place

def test_a_client_address_beyond_max_streams_per_client_gets_a_429_and_the_defaults_are_on():
    from cjm_fasthtml_sse.testing import SSEClient, serve
    from cjm_fasthtml_sse.core.stream import RouteConfig
    app, manager = _capped_app(max_streams_per_client=3)
    async def go():
        async with serve(app) as url:
            tabs = [await SSEClient.connect(f'{url}/sse/broadcast') for _ in range(3)]
            fourth = await SSEClient.connect(f'{url}/sse/broadcast')
            body = (await fourth.read_until_end(5)).decode()
            await tabs[0].close()
            again = await _reopen_until_served(f'{url}/sse/broadcast', None)
            for c in (*tabs[1:], fourth, again): await c.close()
            return [t.status for t in tabs], fourth.status, body, again.status
    firsts, status, body, again = run(go())
    assert firsts == [200] * 3 and status == 429 and 'max_streams_per_client=3' in body and again == 200, body
    assert (RouteConfig().max_streams_per_user, RouteConfig().max_streams_per_client) == (100, 1000)
