"""The app that tests/faultcheck.py runs as a cluster: written as a user would write it, with the README's defaults.

One uvicorn process per worker, each with `RedisBackend` on the same redis-server (`FAULT_REDIS`). The checker drives
publishes through `POST /pub` (every way the library publishes) and `/pub_sync` (`broadcast_threadsafe` from a plain
`def` route), and reads the presence hooks from the file `FAULT_PRESENCE` (one per worker, one line per hook call).

`GET /tab` is a page with tab sharing on (the library's shared worker, or an elected tab with `share=locks`), for the
checker's Chromium tabs: its stream is `/sse/broadcast?user=...&channel=...` from the position the page is rendered at,
and `fault_tab.js` reports every event the page receives (`htmx:sseBeforeMessage`, `sse:reset`) to the checker.
htmx and its extension come from the npm folder `FAULT_ASSETS`."""
import asyncio, json, os, time
from pathlib import Path
from urllib.parse import urlencode
from fasthtml.common import *
from starlette.responses import HTMLResponse, JSONResponse, Response
from cjm_fasthtml_sse.core.backends import BackendUnavailable, RedisBackend
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from cjm_fasthtml_sse.core.connections import add_shared_worker_route, create_shared_connection_script, create_sse_element, serve_sse_assets, sse_hdrs

app, rt = fast_app()
manager = BroadcastManager(backend=RedisBackend(os.environ.get('FAULT_REDIS', 'redis://127.0.0.1:6379/0')))

def identify(request):
    "The user a stream belongs to: `?user=` (a real app would read its session)."
    return request.query_params.get('user') or None

# Client-chosen ids: a reader keeps its id across reconnects, so that `send_to` and `exclude` name the same tab all along.
setup_broadcast_routes(app, manager, identify=identify, public_channels=['room-*'], allow_client_ids=True)

_PRESENCE = os.environ.get('FAULT_PRESENCE')

def _record(kind, user):
    "Append one presence hook call to this worker's file: `time pid kind user`."
    if not _PRESENCE: return
    with open(_PRESENCE, 'a') as f: f.write(f'{time.time():.6f} {os.getpid()} {kind} {user}\n')

@manager.on_user_online
def _online(user): _record('online', user)

@manager.on_user_offline
def _offline(user): _record('offline', user)

def _payload(body): return {'tag': body['tag']}

@rt('/pub', methods=['post'])
async def pub(request):
    "Publish one tagged message the way `body['kind']` says; answer what the library returned."
    body = await request.json()
    kind, data = body['kind'], _payload(body)
    try:
        if kind == 'broadcast':
            result = await manager.broadcast('m', data, exclude=set(body.get('exclude') or ()) or None,
                                             channel=body.get('channel'), key=body.get('key'))
        elif kind == 'send_to': result = await manager.send_to(body['target'], 'm', data)
        elif kind == 'send_to_user': result = await manager.send_to_user(body['user'], 'm', data)
        else: return JSONResponse({'error': f'unknown kind {kind!r}'}, status_code=400)
    except BackendUnavailable as e: return JSONResponse({'refused': str(e)}, status_code=503) # Redis didn't take it: delivered nowhere
    return JSONResponse({'ok': True, 'result': result})

@rt('/pub_sync', methods=['post'])
def pub_sync(tag:str, channel:str=''):
    "Publish from a plain `def` route (a worker thread): `broadcast_threadsafe`, waiting for its result."
    try: result = manager.broadcast_threadsafe('m', {'tag': tag}, channel=channel or None).result(timeout=10)
    except BackendUnavailable as e: return JSONResponse({'refused': str(e)}, status_code=503)
    return JSONResponse({'ok': True, 'result': result})

# ---- the page of the shared tabs
_ASSETS = os.environ.get('FAULT_ASSETS')
def _local_assets(folder):
    "Serve the htmx copies in `folder`, or None when they aren't there (the checker then runs without tabs, and says why)."
    try: return serve_sse_assets(app, folder) if folder else None
    except FileNotFoundError: return None
_LOCAL = _local_assets(_ASSETS)
_WORKER = add_shared_worker_route(app)
_TAB_JS = (Path(__file__).parent / 'fault_tab.js').read_text(encoding='utf-8')

@rt('/tab')
def tab(request):
    "A tab that shares its stream: `?user=`, `channel=` (repeated), `share=worker|locks`, `buffer=` (the hub's), `keep=1` handles `sse:reset` itself (no reload), `name=` the tab."
    q = request.query_params
    user, channels, share = q.get('user', ''), q.getlist('channel'), q.get('share', 'worker')
    if _LOCAL is None: return HTMLResponse('FAULT_ASSETS (an npm folder with htmx.org@2 and htmx-ext-sse@2) is not set', status_code=500)
    slow = (Script(src=f"/slow.js?ms={int(q.get('slow'))}"),) if q.get('slow') else () # a slow asset: the stream opens after it
    shared = create_shared_connection_script(_WORKER if share == 'worker' else None, name='fault', buffer_size=int(q.get('buffer') or 100), debug=q.get('debug') == '1')
    stream = '/sse/broadcast?' + urlencode([('user', user)] + [('channel', c) for c in channels])
    settings = json.dumps({'keep': q.get('keep') == '1', 'name': q.get('name', '')})
    body = Body(H1('fault tab ', q.get('name', '')),
                create_sse_element(stream, element_id='stream', hidden=True, hx_swap='none'),
                Script(_TAB_JS), Script(f'faultTab({settings});'))
    hdrs = sse_hdrs(local=_LOCAL, helpers=(shared,)) # htmx, common.js, the shared unit before the extension, then the page script
    return HTMLResponse(to_xml(Html(Head(Title('fault tab'), *hdrs, *slow), body)))

@app.get('/slow.js')
async def slow_js(ms:int=1000):
    "An empty script that takes `ms` milliseconds to arrive."
    await asyncio.sleep(min(ms, 10_000) / 1000)
    return Response('/* slow */', media_type='text/javascript', headers={'cache-control': 'no-store'})
