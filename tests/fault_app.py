"""The app that tests/faultcheck.py runs as a cluster: written as a user would write it, with the README's defaults.

One uvicorn process per worker, each with `RedisBackend` on the same redis-server (`FAULT_REDIS`). The checker drives
publishes through `POST /pub` (every way the library publishes) and `/pub_sync` (`broadcast_threadsafe` from a plain
`def` route), and reads the presence hooks from the file `FAULT_PRESENCE` (one per worker, one line per hook call)."""
import os, time
from fasthtml.common import *
from starlette.responses import JSONResponse
from cjm_fasthtml_sse.core.backends import BackendUnavailable, RedisBackend
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes

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
