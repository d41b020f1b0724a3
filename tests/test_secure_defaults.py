"Closed by default: channels, client-chosen ids and the status details need the app's explicit opt-in (real uvicorn, real sockets)."
import asyncio, contextlib, json, socket, time
import httpx, pytest
from fasthtml.common import FastHTML
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from cjm_fasthtml_sse.testing import SSEClient, serve
from helpers import free_port, uvicorn_app, run, until, connect, broadcast, hang_up, opening

pytestmark = pytest.mark.timeout(120)

@pytest.fixture(scope='module')
def server():
    port = free_port()
    with uvicorn_app('server_app:app', port) as url: yield url

async def refusal(url, headers=None):
    "Status and body of a request that the server is expected to refuse."
    c = await SSEClient.connect(url, headers=headers)
    body = (await c.read_until_end()).decode()
    await c.close()
    return c.status, body

def test_a_channel_that_is_not_public_is_refused_and_the_message_says_how_to_allow_it(server):
    status, body = run(refusal(f'{server}/sse/broadcast?channel=user:alice'))
    assert status == 403
    assert 'user:alice' in body and 'public_channels=' in body and 'authorize=' in body, body

def test_public_channels_by_name_and_by_prefix(server):
    async def go():
        async with httpx.AsyncClient() as http:
            ok = [await SSEClient.connect(f'{server}/pub/broadcast?channel={c}') for c in ('news', 'job:42', 'job:')]
            await until(http, server, lambda s: len(s['connections']) == 3)
            refused = [await refusal(f'{server}/pub/broadcast?channel={c}') for c in ('jobs', 'news2', 'user:bob')]
            mixed = await refusal(f'{server}/pub/broadcast?channel=news&channel=secret')
            await broadcast(http, server, 'n', {'i': 1}, channel='job:42')
            got = await ok[1].next_event()
            await hang_up(http, server, ok)
            return [c.status for c in ok], refused, mixed, got
    ok, refused, mixed, got = run(go())
    assert ok == [200, 200, 200]
    assert [s for s, _ in refused] == [403, 403, 403] and mixed[0] == 403 and 'secret' in mixed[1]
    assert json.loads(got.data)['data'] == {'i': 1}

def test_a_client_chosen_id_is_refused_unless_the_app_allows_it(server):
    status, body = run(refusal(f'{server}/sse/broadcast?connection_id=user-42'))
    assert status == 400
    assert 'allow_client_ids=True' in body and 'user-42' in body, body

def test_authorize_sees_the_id_so_a_stranger_cannot_take_it(server):
    async def go():
        async with httpx.AsyncClient() as http:
            stranger = await refusal(f'{server}/ids/broadcast?connection_id=user-42', headers={'x-user': 'mallory'})
            owner = await SSEClient.connect(f'{server}/ids/broadcast?connection_id=user-42', headers={'x-user': 'user-42'})
            await until(http, server, lambda s: s['connections'] == ['user-42'])
            second = await refusal(f'{server}/ids/broadcast?connection_id=user-42', headers={'x-user': 'user-42'})
            ok = (await http.post(f'{server}/_test/send_to', json={'id': 'user-42', 'type': 'private', 'data': {'x': 1}})).json()
            got = await owner.next_event()
            await hang_up(http, server, [owner])
            return stranger, second, ok, got
    stranger, second, ok, got = run(go())
    assert stranger[0] == 403 and second[0] == 409 and ok == {'ok': True}
    assert json.loads(got.data)['data'] == {'x': 1}

def test_status_shows_only_totals_unless_the_app_says_so(server):
    async def go():
        async with httpx.AsyncClient() as http:
            [c] = await connect(server, path='/open/broadcast', channel='user:alice', connection_id='alice-tab')
            await until(http, server, lambda s: len(s['connections']) == 1)
            bodies = [(await http.get(f'{server}{path}', headers=h)).text for path, h in
                      (('/sse/status', {}), ('/open/status', {}), ('/open/status', {'x-admin': 'no'}), ('/open/status', {'x-admin': 'yes'}))]
            await hang_up(http, server, [c])
            return bodies
    *hidden, detail = run(go())
    for body in hidden:
        assert 'alice' not in body, body
        stats = json.loads(body)
        assert (stats['connections'], stats['channel_count']) == (1, 1) and 'channels' not in stats
    assert json.loads(detail)['channels'] == {'user:alice': 1}

def test_default_status_stays_small_with_16000_channels():
    "The default status reports totals, so its size does not grow with the number of channels."
    app, manager = FastHTML(), BroadcastManager()
    setup_broadcast_routes(app, manager)
    async def go():
        for i in range(16_000): await manager.register(channels=[f'user:{i:05d}'])
        async with serve(app) as url, httpx.AsyncClient() as http: body = (await http.get(f'{url}/sse/status')).content
        for cid in list(manager.connections): await manager.unregister(cid)
        return body
    body = run(go())
    assert len(body) < 4096, len(body)
    assert json.loads(body)['channel_count'] == 16_000

# Misuse caught at setup, with a message that says what was expected

def test_setup_without_a_manager_says_what_it_expected():
    with pytest.raises(TypeError, match=r'manager must be a BroadcastManager, not NoneType'): setup_broadcast_routes(FastHTML(), None)

def test_setup_with_swapped_arguments_says_app_first():
    with pytest.raises(TypeError, match=r'takes the app first.*setup_broadcast_routes\(app, manager\)'):
        setup_broadcast_routes(BroadcastManager(), FastHTML())

def test_an_element_builder_that_cannot_take_type_and_data_fails_at_setup():
    def one_arg(data): return None
    with pytest.raises(TypeError, match=r'element_builder\(message_type, data\).*two positional arguments'):
        setup_broadcast_routes(FastHTML(), BroadcastManager(), element_builder=one_arg)
    setup_broadcast_routes(FastHTML(), BroadcastManager(), element_builder=lambda *args: None)

def test_a_second_setup_on_the_same_prefix_names_the_prefix():
    app, manager = FastHTML(), BroadcastManager()
    setup_broadcast_routes(app, manager, prefix='/live')
    with pytest.raises(ValueError, match=r"/live/broadcast is already mounted.*prefix='/live'"): setup_broadcast_routes(app, manager, prefix='/live')
    setup_broadcast_routes(app, manager, prefix='/other')

# Small holes

def test_a_body_on_the_stream_or_status_route_is_refused_before_it_is_read(server):
    "A chunked body is refused with 413 from the headers alone, before authorize or the channel check, and the server stops reading."
    port = int(server.rsplit(':', 1)[1])
    def attempt(path, mb=64):
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        s.sendall(f'GET {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'.encode())
        chunk = b'%x\r\n%s\r\n' % (1 << 20, b'x' * (1 << 20))
        sent, start = 0, time.monotonic()
        try:
            for _ in range(mb):
                s.sendall(chunk); sent += 1
        except OSError: pass
        head = b''
        with contextlib.suppress(OSError):
            while b'\r\n\r\n' not in head and len(head) < 65536 and (data := s.recv(65536)): head += data
        s.close()
        return head.split(b'\r\n', 1)[0], sent, time.monotonic() - start
    before = httpx.get(f'{server}/_test/state').json()['rss_kb']
    results = [attempt(p) for p in ('/sse/broadcast?channel=secret', '/sse/status', '/ids/broadcast?connection_id=x')]
    after = httpx.get(f'{server}/_test/state').json()
    assert all(status.startswith(b'HTTP/1.1 413 ') for status, _, _ in results), results
    assert all(sent < 64 for _, sent, _ in results), 'the server read the whole body instead of refusing it'
    assert after['rss_kb'] - before < 16_384 and after['connections'] == []

def test_a_content_length_body_is_refused_too(server):
    r = httpx.request('GET', f'{server}/sse/broadcast', content=b'x' * 10)
    assert r.status_code == 413 and 'no request body' in r.text

def test_an_excluded_client_is_not_sent_the_message_when_it_resumes(server):
    "Resume delivers exactly what live delivery would: a message that excluded `x` is not replayed to `x`."
    async def go():
        async with httpx.AsyncClient() as http:
            [x] = await connect(server, path='/open/broadcast', connection_id='x')
            await opening(x)
            position = x.parser.last_event_id
            await hang_up(http, server, [x])
            await broadcast(http, server, 'n', {'i': 1}, exclude=['x'])
            await broadcast(http, server, 'n', {'i': 2})
            back = await SSEClient.connect(f'{server}/open/broadcast?connection_id=x', headers={'Last-Event-ID': position})
            other = await SSEClient.connect(f'{server}/open/broadcast?connection_id=y', headers={'Last-Event-ID': position})
            await broadcast(http, server, 'n', {'i': 3})
            got = await back.events(2), await other.events(3)
            await hang_up(http, server, [back, other])
            return got
    to_x, to_y = run(go())
    assert [json.loads(e.data)['data']['i'] for e in to_x] == [2, 3]
    assert [json.loads(e.data)['data']['i'] for e in to_y] == [1, 2, 3]
