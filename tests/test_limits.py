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
