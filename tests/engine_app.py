"The app tests/test_engine.py runs: one BroadcastManager and its routes at the library's defaults, unless SSE_ENGINE_KW (JSON) sets some."
import asyncio, json, os, time
from fasthtml.common import FastHTML
from starlette.responses import JSONResponse
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from cjm_fasthtml_sse.core.backends import RedisBackend

redis_url = os.environ.get('SSE_ENGINE_REDIS')  # several processes on one redis-server
manager = BroadcastManager(**json.loads(os.environ.get('SSE_ENGINE_KW', '{}')), backend=RedisBackend(redis_url, prefix='engine_test') if redis_url else None)
app = FastHTML(secret_key='engine-tests')
setup_broadcast_routes(app, manager)

@app.post('/_test/burst')
async def burst(request):
    "Broadcast `n` messages in a tight loop, the way an import that announces each row does; `pad` characters of padding each."
    body = await request.json()
    pad, took = 'x' * body.get('pad', 0), []
    for i in range(body['n']):
        t = time.perf_counter()
        await manager.broadcast('n', {'i': body.get('start', 0) + i, 'pad': pad}, channel=body.get('channel'))
        took.append(time.perf_counter() - t)
    return JSONResponse({'newest': manager.newest_id, 'took_ms': [round(x * 1000, 3) for x in took]})

def _rss_kb():
    with open('/proc/self/status') as f: return next(int(line.split()[1]) for line in f if line.startswith('VmRSS:'))

@app.get('/_test/state')
async def state():
    return JSONResponse({**manager.get_stats(detail=False), 'ids': sorted(manager.connections), 'streams': len(manager._streams),
                         'paused': sum(s.direct and s.cycle.flow.write_paused for s in manager._streams.values()),
                         'direct': sum(getattr(s, 'direct', False) for s in manager._streams.values()), 'rss_kb': _rss_kb(), 'newest': manager.newest_id})

class _Forward:
    "A `send` that is a bound method of a plain object: nothing behind it leads to the server's transport."
    def __init__(self, send): self._inner = send
    async def send(self, message): await self._inner(message)

async def hidden(scope, receive, send):
    "`app` behind a middleware that hides uvicorn's transport: the engine must fall back to the plain ASGI `send`."
    await app(scope, receive, _Forward(send).send if scope['type'] == 'http' else send)

import threading
from starlette.responses import PlainTextResponse

@app.post('/_test/sync')
def sync_route(n:int):
    "A plain `def` route (FastHTML runs it in a thread pool) that broadcasts."
    manager.broadcast_threadsafe('sync', {'i': n})
    return 'queued'

@app.post('/_test/thread')
def start_worker(n:int):
    "Start a worker thread that broadcasts `n` rows, the way a background import does; answer at once."
    threading.Thread(target=lambda: [manager.broadcast_threadsafe('thread', {'i': i}) for i in range(n)], daemon=True).start()
    return 'started'

@app.post('/_test/forgot')
def forgot():
    "A plain `def` route that calls `broadcast` as if it could await it."
    try: manager.broadcast('forgot', {'i': -1})
    except RuntimeError as e: return PlainTextResponse(str(e), status_code=500)
    return 'no error'

@app.post('/_test/keyed')
async def keyed(request):
    "`n` counter updates, all with key `#counter`, and `feed` unkeyed feed messages spread among them, in a tight loop."
    body = await request.json()
    n, feed = body['n'], body['feed']
    for i in range(n):
        await manager.broadcast('counter', {'i': i}, key='#counter')
        if (i + 1) % (n // feed) == 0: await manager.broadcast('feed', {'i': (i + 1) // (n // feed) - 1})
    return JSONResponse({'newest': manager.newest_id})

from fasthtml.common import Span
counter = {'value': 0}
def counter_state(request):
    "The initial state of a new stream on /init: the counter as it is now."
    return Span(counter['value'], id='counter', hx_swap_oob='true')
setup_broadcast_routes(app, manager, prefix='/init', initial=counter_state)

@app.post('/_test/count')
async def count():
    "Change the state, then broadcast the change (the order an app uses)."
    counter['value'] += 1
    await manager.broadcast('counter', {'i': counter['value']})
    return JSONResponse({'value': counter['value'], 'newest': manager.newest_id})

def last_counter(request):
    "Initial state from the shared history, the same on every process: the newest counter value broadcast anywhere."
    last = next((m for m in reversed(manager.get_history()) if m.type == 'counter'), None)
    return None if last is None else Span(last.data['i'], id='counter', hx_swap_oob='true')
setup_broadcast_routes(app, manager, prefix='/last', initial=last_counter)

setup_broadcast_routes(app, manager, prefix='/chan', public_channels=['big'])  # streams that also get channel `big`
