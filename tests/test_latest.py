"""`manager.latest(key)` across a cluster, and how `initial=` and a page's render compose: processes of tests/chat_app.py
(tab sharing off, so a page's element opens a new stream that gets `initial=` first) on one real redis-server."""
import asyncio, contextlib, html, re
import httpx, pytest
from cjm_fasthtml_sse.testing import SSEClient
from helpers import free_port, poll, redis_server, run, uvicorn_app

pytestmark = pytest.mark.timeout(180)

ENV = {'CHAT_SHARE': '0', 'CHAT_HISTORY': '5', 'CHAT_PREFIX': 'latest_test'}

@pytest.fixture(scope='module')
def cluster():
    with redis_server() as (url, *_):
        env = {**ENV, 'CHAT_REDIS': url}
        with uvicorn_app('chat_app:app', free_port(), env) as a, uvicorn_app('chat_app:app', free_port(), env) as b:
            yield a, b, env

def topic(text): return f'<div hx-swap-oob="true" id="topic">{text}</div>'

async def login(url, name):
    "An httpx client logged in as `name` through the app's login form (the session cookie is valid on every process)."
    http = httpx.AsyncClient(base_url=url, timeout=10)
    r = await http.post('/login', data={'name': name})
    assert r.status_code == 303, r.text
    return http

async def page_shows(http, text, timeout=10):
    "Poll the page until it shows `text`; return its HTML."
    return await poll(lambda: _page(http), lambda p: text in p, timeout, what=f'the page of {http.base_url}')

async def _page(http): return (await http.get('/')).text

def cookie(http): return {'Cookie': '; '.join(f'{k}={v}' for k, v in http.cookies.items())}

def stream_url(page): return html.unescape(re.search(r'sse-connect="([^"]+)"', page).group(1))

async def first_message(client, timeout=10):
    async with asyncio.timeout(timeout):
        while True:
            e = await client.next_event()
            if e.event == 'message': return e

def test_a_stream_on_the_other_worker_starts_with_the_current_state(cluster):
    "Worker A broadcasts a keyed update; a fresh stream on worker B gets it first, through initial= reading manager.latest."
    a, b, _ = cluster
    async def go():
        ann = await login(a, 'ann')
        await ann.post('/topic', data={'text': 'Release 1.0'})
        on_b = await login(b, 'ann')
        page = await page_shows(on_b, 'Release 1.0')  # B's page is rendered from latest, which B learned through Redis
        tab = await SSEClient.connect(f'{b}/sse/broadcast', headers=cookie(on_b))
        first = await first_message(tab)
        await tab.close()
        for h in (ann, on_b): await h.aclose()
        return page, first
    page, first = run(go())
    assert topic('Release 1.0') in page
    assert first.data == topic('Release 1.0')

def test_the_pages_element_gets_initial_and_then_exactly_what_follows(cluster):
    "The page's element opens a new stream (initial= is set, sharing is off): the state first, then each later update once."
    a, b, _ = cluster
    async def go():
        bob = await login(a, 'bob')
        await bob.post('/topic', data={'text': 'Before the page'})
        on_b = await login(b, 'bob')
        page = await page_shows(on_b, 'Before the page')
        url = stream_url(page)
        tab = await SSEClient.connect(f'{b}{url}', headers=cookie(on_b))
        first = await first_message(tab)
        await bob.post('/topic', data={'text': 'After the stream'})
        got = []
        while len(got) < 1 or 'After the stream' not in got[-1].data: got.append(await first_message(tab))
        await tab.close()
        for h in (bob, on_b): await h.aclose()
        return url, first, got
    url, first, got = run(go())
    assert url == '/sse/broadcast?last_event_id='
    assert first.data == topic('Before the page') and not first.id
    topics = [e.data for e in got if 'id="topic"' in e.data]
    assert topics == [topic('After the stream')]  # not the earlier topic again, and the new one once

def test_latest_outlives_the_log_and_a_new_worker_loads_it_from_history(cluster):
    "The topic stays current on B after the log (history_limit=5) has trimmed it, and a worker started later loads it from the history."
    a, b, env = cluster
    async def go():
        cat = await login(a, 'cat')
        await cat.post('/topic', data={'text': 'Kept'})
        on_b = await login(b, 'cat')
        await page_shows(on_b, 'Kept')
        port = free_port()
        with uvicorn_app('chat_app:app', port, env) as c:
            on_c = await login(c, 'cat')
            late_page = await page_shows(on_c, 'Kept')
            await on_c.aclose()
        watcher = await SSEClient.connect(f'{b}/sse/broadcast', headers=cookie(on_b))
        await first_message(watcher)  # its initial state: it is subscribed now
        for i in range(20): await cat.post('/say', data={'text': f'filler {i}'})
        while 'filler 19' not in (await first_message(watcher)).data: pass  # B has delivered all 20: its log no longer holds the topic
        await watcher.close()
        tab = await SSEClient.connect(f'{b}/sse/broadcast', headers=cookie(on_b))
        first = await first_message(tab)
        status = (await on_b.get('/sse/status')).json()
        await tab.close()
        for h in (cat, on_b): await h.aclose()
        return late_page, first, status
    late_page, first, status = run(go())
    assert topic('Kept') in late_page
    assert first.data == topic('Kept')
    assert status['history_size'] <= 5
