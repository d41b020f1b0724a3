"What an open stream on the library's route keeps alive: none of its request (issue 21), and the checks in front of it still run."
import asyncio, gc, inspect
import httpx, pytest
from fasthtml.common import Beforeware, fast_app
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from cjm_fasthtml_sse.testing import SSEClient, serve

pytestmark = pytest.mark.timeout(120)
N = 40

def held():
    "Requests, and coroutines running Starlette's or FastHTML's middleware, routing or endpoints, alive in this process now (after a full collection)."
    gc.collect()
    objs = gc.get_objects()
    requests = sum(isinstance(o, Request) for o in objs)
    stack = sum(inspect.iscoroutine(o) and o.cr_frame is not None and o.cr_code.co_qualname != 'Starlette.__call__' and any(p in o.cr_code.co_filename for p in ('/starlette/', '/fasthtml/')) for o in objs)
    return requests, stack

def make_app():
    "A user's `fast_app()` app: Beforeware that refuses a header and writes the session, the routes with `authorize` and `identify`."
    def before(req, session):
        if req.headers.get('x-deny'): return PlainTextResponse('denied by beforeware', status_code=401)
        session['visits'] = session.get('visits', 0) + 1
    app, _ = fast_app(before=Beforeware(before))
    manager = BroadcastManager()
    setup_broadcast_routes(app, manager, authorize=lambda req, channels: 'x-no' not in req.headers, public_channels=['news'],
                           identify=lambda req: req.query_params.get('who'))
    return app, manager

async def open_streams(url, n, **kw):
    return [await SSEClient.connect(f'{url}/sse/broadcast?channel=news&who=u{i % 5}', **kw) for i in range(n)]

def test_open_streams_keep_no_request_or_middleware_frames_alive():
    "With 40 streams open on a fast_app() app, no Request and no middleware, routing or endpoint coroutine is kept per stream (the app's own `__call__` is the only frame of it left)."
    app, manager = make_app()
    async def go():
        async with serve(app) as url:
            before = held()
            tabs = await open_streams(url, N)
            await manager.broadcast('n', {'i': 1}, channel='news')
            got = [await t.events(1, timeout=30) for t in tabs]
            during = held()
            assert manager.get_connection_count() == N
            for t in tabs: await t.close()
            return before, during, got
    before, during, got = asyncio.run(asyncio.wait_for(go(), 90))
    assert all(len(events) == 1 for events in got)
    assert during[0] - before[0] < N // 4, f'{during[0] - before[0]} Request objects alive for {N} open streams'
    assert during[1] - before[1] < N // 4, f'{during[1] - before[1]} Starlette/FastHTML coroutines alive for {N} open streams'

def test_the_checks_before_the_hand_off_still_run():
    "Beforeware (refusal and session cookie), authorize, identify and the stream ending all work with the stream served past the app."
    app, manager = make_app()
    async def go():
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            denied = await http.get('/sse/broadcast', headers={'x-deny': '1'})
            forbidden = await http.get('/sse/broadcast?channel=news', headers={'x-no': '1'})
            tab = await SSEClient.connect(f'{url}/sse/broadcast?channel=news&who=ann')
            users = await manager.users_online()
            await manager.broadcast('n', {'i': 7}, channel='news')
            events = await tab.events(1, timeout=30)
            await tab.close()
            for _ in range(200):
                if manager.get_connection_count() == 0: break
                await asyncio.sleep(0.05)
            return denied, forbidden, tab, users, events, manager.get_connection_count()
    denied, forbidden, tab, users, events, left = asyncio.run(asyncio.wait_for(go(), 90))
    assert (denied.status_code, denied.text) == (401, 'denied by beforeware')
    assert forbidden.status_code == 403
    assert tab.status == 200 and 'set-cookie' in {k.lower() for k in tab.headers}, tab.headers
    assert users == {'ann'}
    assert '"i": 7' in events[-1].data or '"i":7' in events[-1].data
    assert left == 0

def test_behind_a_middleware_that_may_rewrite_bodies_the_stream_is_served_inside_the_app():
    "A `BaseHTTPMiddleware` (which could rewrite a body) sits in the stack: no hand-off, and its send still carries every byte of the stream."
    from starlette.middleware.base import BaseHTTPMiddleware
    class Tag(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            response = await call_next(request)
            response.headers['x-tagged'] = '1'
            return response
    app, manager = make_app()
    app.add_middleware(Tag)
    async def go():
        async with serve(app) as url:
            tab = await SSEClient.connect(f'{url}/sse/broadcast?channel=news&who=bea')
            for _ in range(200):
                if manager.get_connection_count() == 1: break
                await asyncio.sleep(0.05)
            await manager.broadcast('n', {'i': 3}, channel='news')
            events = await tab.events(1, timeout=30)
            await tab.close()
            return tab, events
    tab, events = asyncio.run(asyncio.wait_for(go(), 90))
    assert tab.status == 200 and {k.lower(): v for k, v in tab.headers.items()}.get('x-tagged') == '1'
    assert len(events) == 1 and '3' in events[0].data

def test_streams_keep_no_container_of_their_own_that_could_be_shared():
    "Streams to no channel share one empty channel set, keep no message dict each, each is indexed once by the fan-out (and once by the manager), and its request's header list is held once (by the server)."
    from cjm_fasthtml_sse.core.fanout import Subscriber
    app, manager = make_app()
    async def go():
        async with serve(app) as url:
            tabs = [await SSEClient.connect(f'{url}/sse/broadcast') for _ in range(N)]
            await manager.broadcast('n', {'i': 1})
            got = [await t.events(1, timeout=30) for t in tabs]
            gc.collect()
            subs = [o for o in gc.get_objects() if type(o) is Subscriber]
            own = {name: len({id(v) for s in subs if isinstance(v := getattr(s, name, None), (dict, set, frozenset, list))}) for name in Subscriber.__slots__}
            indexes = [sum(isinstance(r, dict) for r in gc.get_referrers(s)) for s in subs]
            header_lists = sum(type(o) is list and (b'accept', b'text/event-stream') in o for o in gc.get_objects())  # the streams' requests' header lists
            for t in tabs: await t.close()
            return got, subs, own, indexes, header_lists
    got, subs, own, indexes, header_lists = asyncio.run(asyncio.wait_for(go(), 90))
    assert all(len(events) == 1 for events in got) and len(subs) == N
    assert {k: n for k, n in own.items() if n > 1} == {}, f'containers kept per stream, by slot (distinct objects across {N} streams): {own}'
    assert max(indexes) <= 2, f'dicts indexing each stream: {sorted(set(indexes))} (the fan-out\'s subscribers and the manager\'s streams are enough)'
    assert header_lists <= N + N // 4, f'{header_lists} header lists alive for {N} open streams (a copy of each is kept besides the server\'s own)'
