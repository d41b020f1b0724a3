"Integration tests: the broadcast routes on a real uvicorn server, read by real SSE clients over loopback."
import asyncio, json, socket, time
import httpx, pytest
from fasthtml.common import Pre, to_xml
from cjm_fasthtml_sse.testing import SSEClient
from helpers import free_port, uvicorn_app, run, state, until, connect, broadcast, hang_up, stalled_socket

pytestmark = pytest.mark.timeout(120)

@pytest.fixture(scope='module')
def server():
    port = free_port()
    with uvicorn_app('server_app:app', port, env={'SSE_TEST_QUEUE': '16', 'SSE_TEST_HEARTBEAT': '0.5'}) as url: yield url

def test_broadcast_reaches_every_client(server):
    async def go():
        async with httpx.AsyncClient() as http:
            clients = await connect(server, 3)
            await until(http, server, lambda s: len(s['connections']) == 3)
            first = await broadcast(http, server, 'greeting', {'text': 'hello'})
            second = await broadcast(http, server, 'greeting', {'text': 'again'})
            got = [await c.events(2) for c in clients]
            await hang_up(http, server, clients)
            return first, second, got, clients
    first, second, got, clients = run(go())
    assert first['sent'] == 3
    for events in got:
        assert [json.loads(e.data)['data']['text'] for e in events] == ['hello', 'again']
        assert [e.id for e in events] == [first['id'], second['id']]
    assert int(second['id']) > int(first['id'])
    c = clients[0]
    assert c.status == 200 and c.headers['content-type'] == 'text/event-stream'
    assert (c.headers['cache-control'], c.headers['x-accel-buffering']) == ('no-cache', 'no')
    assert c.parser.comments[0].startswith('Connected (')

def test_exclude_and_send_to(server):
    async def go():
        async with httpx.AsyncClient() as http:
            [a] = await connect(server, path='/open/broadcast', connection_id='tab-a')
            [b] = await connect(server, path='/open/broadcast', connection_id='tab-b')
            await until(http, server, lambda s: s['connections'] == ['tab-a', 'tab-b'])
            await broadcast(http, server, 'n', {'i': 1}, exclude=['tab-a'])
            ok = (await http.post(f'{server}/_test/send_to', json={'id': 'tab-a', 'type': 'private', 'data': {'i': 2}})).json()
            unknown = (await http.post(f'{server}/_test/send_to', json={'id': 'nobody', 'type': 'x', 'data': {}})).json()
            await broadcast(http, server, 'n', {'i': 3})
            got = [[json.loads(e.data)['data']['i'] for e in await c.events(2)] for c in (a, b)]
            await hang_up(http, server, [a, b])
            return ok, unknown, got
    ok, unknown, got = run(go())
    assert (ok, unknown) == ({'ok': True}, {'ok': False})
    assert got == [[2, 3], [1, 3]]

def test_status_json(server):
    async def go():
        async with httpx.AsyncClient() as http:
            clients = await connect(server, 2)
            await until(http, server, lambda s: len(s['connections']) == 2)
            status = (await http.get(f'{server}/sse/status')).json()
            await hang_up(http, server, clients)
            return status, (await http.get(f'{server}/sse/status')).json()
    during, after = run(go())
    assert during['connections'] == 2 and after['connections'] == 0
    assert isinstance(during['history_size'], int) and during['history_size'] >= 0

def test_unregistered_within_a_second_of_hang_up(server):
    async def go():
        async with httpx.AsyncClient() as http:
            [c] = await connect(server, path='/open/broadcast', connection_id='leaving')
            await until(http, server, lambda s: 'leaving' in s['connections'])
            await c.close()
            start = time.monotonic()
            await until(http, server, lambda s: 'leaving' not in s['connections'] and s['streams'] == 0, timeout=1)
            return time.monotonic() - start
    assert run(go()) < 1

def test_bad_and_taken_ids_are_refused(server):
    async def go():
        async with httpx.AsyncClient() as http:
            [owner] = await connect(server, path='/open/broadcast', connection_id='mine')
            await until(http, server, lambda s: 'mine' in s['connections'])
            [thief] = await connect(server, path='/open/broadcast', connection_id='mine')
            bad = [(await connect(server, path='/open/broadcast', connection_id=v))[0] for v in ['has%20space', 'x' * 129, '%3Cscript%3E']]
            bodies = [(await b.read_until_end()).decode() for b in bad]
            await broadcast(http, server, 'still', {'mine': True})
            ev = await owner.next_event()
            await hang_up(http, server, [owner, thief, *bad])
            return thief.status, [b.status for b in bad], bodies, ev
    thief, bad, bodies, ev = run(go())
    assert thief == 409
    assert bad == [400, 400, 400]
    assert all('connection id' in b.lower() or 'connection_id' in b.lower() for b in bodies), bodies
    assert json.loads(ev.data)['data'] == {'mine': True}

def test_heartbeat_when_idle(server):
    async def go():
        async with httpx.AsyncClient() as http:
            [c] = await connect(server)
            await until(http, server, lambda s: len(s['connections']) == 1)
            async with asyncio.timeout(3):
                while 'heartbeat' not in c.parser.comments: c.parser.feed(await c.read_body())
            await hang_up(http, server, [c])
            return c.raw
    assert b': heartbeat\n\n' in run(go())

def test_multiline_and_unicode_round_trip(server):
    text = 'line one\nline two\r\nline three\rend ✓ 日本語 🎉 \u2028 sep\x85\x0c'
    async def go():
        async with httpx.AsyncClient() as http:
            [json_client] = await connect(server)
            [html_client] = await connect(server, path='/html/broadcast')
            await until(http, server, lambda s: len(s['connections']) == 2)
            await broadcast(http, server, 'html', {'text': text})
            got = (await json_client.next_event(), await html_client.next_event())
            await hang_up(http, server, [json_client, html_client])
            return got, html_client.raw
    (as_json, as_html), raw = run(go())
    assert json.loads(as_json.data)['data']['text'] == text
    expected_html = to_xml(Pre(text), indent=False).replace('\r\n', '\n').replace('\r', '\n')
    assert as_html.data == expected_html
    assert b'data: end \xe2\x9c\x93' in raw.replace(b'line three\n', b'')

def test_stalled_client_is_dropped_without_delaying_others(server):
    port = int(server.rsplit(':', 1)[1])
    big = 'x' * 100_000
    async def go():
        async with httpx.AsyncClient(timeout=10) as http:
            baseline = (await state(http, server))['tasks']
            stalled = stalled_socket(port, '/open/broadcast?connection_id=stalled')
            [healthy] = await connect(server, path='/open/broadcast', connection_id='healthy')
            await until(http, server, lambda s: s['connections'] == ['healthy', 'stalled'])
            sent, received = 0, 0
            while sent < 300:
                await broadcast(http, server, 'big', {'i': sent, 'pad': big})
                sent += 1
                while received < sent: await healthy.next_event(); received += 1
                if 'stalled' not in (await state(http, server))['connections']: break
            after = await until(http, server, lambda s: s['connections'] == ['healthy'] and s['streams'] == 1)
            await broadcast(http, server, 'after', {'ok': True})
            last = await healthy.next_event()
            await hang_up(http, server, [healthy])
            stalled.close()
            final = await until(http, server, lambda s: s['streams'] == 0 and s['tasks'] <= baseline)
            return sent, received, after, json.loads(last.data)['type'], final, baseline
    sent, received, after, last_type, final, baseline = run(go())
    assert sent < 300, 'the stalled client was never dropped'
    assert received == sent
    assert after['dropped'] >= 1
    assert last_type == 'after'
    assert final['tasks'] <= baseline

HOSTILE = ['<img src=x onerror="document.title=\'XSS\'">', '<script>alert(1)</script>', '<svg onload=alert(1)>', '" onmouseover="x', 'a & b']

def test_default_json_is_inert_as_html(server):
    "Without an element_builder the JSON on the wire has no <, > or &, so an innerHTML swap shows text; it parses to the same values."
    async def go():
        async with httpx.AsyncClient() as http:
            [c] = await connect(server)
            await until(http, server, lambda s: len(s['connections']) == 1)
            for text in HOSTILE: await broadcast(http, server, 'message', {'text': text})
            got = await c.events(len(HOSTILE))
            await hang_up(http, server, [c])
            return got
    got = run(go())
    for e, text in zip(got, HOSTILE):
        assert not set('<>&') & set(e.data), e.data
        assert json.loads(e.data)['data']['text'] == text

def test_builder_strings_are_text_and_ft_or_safe_are_markup(server):
    "A plain str from an element_builder is sent HTML-escaped; FT components and Safe are the app's markup and pass as is."
    async def go():
        async with httpx.AsyncClient() as http:
            [c] = await connect(server, path='/html/broadcast')
            await until(http, server, lambda s: len(s['connections']) == 1)
            await broadcast(http, server, 'text', {'text': HOSTILE[0]})
            await broadcast(http, server, 'html', {'text': HOSTILE[1]})
            await broadcast(http, server, 'safe', {'text': '<b>bold</b>'})
            got = await c.events(3)
            await hang_up(http, server, [c])
            return [e.data for e in got]
    text, ft, safe = run(go())
    assert text == '&lt;img src=x onerror=&quot;document.title=&#x27;XSS&#x27;&quot;&gt;'
    assert ft == '<pre>&lt;script&gt;alert(1)&lt;/script&gt;</pre>'
    assert safe == '<b>bold</b>'
