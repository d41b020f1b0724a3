"The app the integration suite runs under a real uvicorn: the library's routes plus test-only controls."
import asyncio, os
from fasthtml.common import FastHTML, Pre, Safe
from starlette.responses import JSONResponse
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from cjm_fasthtml_sse.core.backends import BackendUnavailable, RedisBackend

def _env(name, default, cast=int):
    value = os.environ.get(name)
    return default if value is None else cast(value)

manager = BroadcastManager(max_queue_size=_env('SSE_TEST_QUEUE', 100), history_limit=_env('SSE_TEST_HISTORY', 50),
                           send_timeout=_env('SSE_TEST_SEND_TIMEOUT', 30.0, float), max_connections=_env('SSE_TEST_MAX_CONN', None),
                           backend=RedisBackend(os.environ['SSE_TEST_REDIS'], prefix='sse_test', local_during_outage=bool(os.environ.get('SSE_TEST_LOCAL_OUTAGE'))) if os.environ.get('SSE_TEST_REDIS') else None)
app = FastHTML(secret_key='integration-tests')
setup_broadcast_routes(app, manager, heartbeat_interval=_env('SSE_TEST_HEARTBEAT', 15.0, float))

def html_builder(kind, data):
    if kind == 'html': return Pre(data['text'])
    if kind == 'safe': return Safe(data['text'])
    return data['text'] if kind == 'text' else None
setup_broadcast_routes(app, manager, prefix='/html', element_builder=html_builder)
# The tests that need channels or client-chosen ids opt in explicitly, on their own prefix.
setup_broadcast_routes(app, manager, prefix='/open', public_channels=['*'], allow_client_ids=True,
                       status_detail=lambda request: request.headers.get('x-admin') == 'yes')
def id_is_the_users(request, channels, connection_id):
    "Stand-in for a session check: a client may claim only the id named by its `x-user` header."
    return connection_id is None or connection_id == request.headers.get('x-user')
setup_broadcast_routes(app, manager, prefix='/ids', allow_client_ids=True, authorize=id_is_the_users)
setup_broadcast_routes(app, manager, prefix='/pub', public_channels=['news', 'job:*'])

@app.post('/_test/broadcast')
async def ctl_broadcast(request):
    body = await request.json()
    try: sent = await manager.broadcast(body['type'], body['data'], exclude=set(body.get('exclude', [])), channel=body.get('channel'))
    except BackendUnavailable as e: return JSONResponse({'refused': str(e)}, status_code=503)
    return JSONResponse({'sent': sent, 'id': manager.history[-1].id if manager.history else None, 'newest': manager.newest_id})

@app.post('/_test/send_to')
async def ctl_send_to(request):
    body = await request.json()
    return JSONResponse({'ok': await manager.send_to(body['id'], body['type'], body['data'])})

@app.post('/_test/ping')
async def ctl_ping(): return JSONResponse({'healthy': manager.backend.healthy})

def _rss_kb():
    with open('/proc/self/status') as f: return next(int(line.split()[1]) for line in f if line.startswith('VmRSS:'))

@app.get('/_test/state')
async def ctl_state():
    return JSONResponse({'connections': sorted(manager.connections), 'streams': len(manager._streams), 'rss_kb': _rss_kb(),
                         'dropped': manager.dropped_count, 'send_timeouts': manager.send_timeouts, 'tasks': len(asyncio.all_tasks())})
