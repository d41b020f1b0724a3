"""Ours or the original 0.0.12 (both import as `cjm_fasthtml_sse`) behind one FastHTML app.

The app is the one a user writes: `fast_app()` with `setup_broadcast_routes`. The stream is the library's own
`GET /sse/broadcast`; `POST /publish?seq=N` broadcasts message N and answers how long `broadcast()` took; `POST /burst?n=M&seq=N`
broadcasts messages N..N+M-1 in a tight loop; `GET /ping` is a plain FastHTML route (the page load that must not wait for a fan-out); `GET /count` says how many clients are registered (in this process); `GET /gc` counts and times the collector's runs. `BENCH_EXPECT` names the side
that must load. Ours only: `BENCH_REDIS=URL` (with `BENCH_PREFIX`) uses a `RedisBackend`, so that several processes share
the fan-out; `BENCH_GC=threshold` calls `gc.set_threshold(50_000, 20, 100)` and `BENCH_GC=freeze` calls `gc.freeze()` at startup.
`BENCH_TRACE=1` starts tracemalloc, and `GET /trace` says what each open stream holds, by file (`memtrace.py`); `BENCH_LAG=1`
runs a 1 ms ticker, and `GET /lag` says how late its wake-ups were: how long the loop was held (`looplag.py`)."""
import gc, inspect, os, sys
from time import perf_counter
import cjm_fasthtml_sse
from fasthtml.common import fast_app
from starlette.responses import JSONResponse
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from common import payload
import memtrace  # with BENCH_TRACE=1, tracemalloc starts here, before the app is built
import looplag

expect = os.environ.get('BENCH_EXPECT')
if (expect == 'original') != (cjm_fasthtml_sse.__version__ == '0.0.12'):
    sys.exit(f"app_cjm: wanted {expect}, loaded cjm_fasthtml_sse {cjm_fasthtml_sse.__version__} from {cjm_fasthtml_sse.__file__}")

backend = None
if os.environ.get('BENCH_REDIS'):
    from cjm_fasthtml_sse.core.backends import RedisBackend
    backend = RedisBackend(os.environ['BENCH_REDIS'], prefix=os.environ.get('BENCH_PREFIX', 'bench'))
manager = BroadcastManager(backend=backend) if backend is not None else BroadcastManager()
app, rt = fast_app(secret_key='benchmarks')

@rt('/ping')
def get(): return 'pong'
# every load client connects from 127.0.0.1, past the default cap of 1,000 streams per address; the original 0.0.12 has no cap
caps = {'max_streams_per_client': None} if 'max_streams_per_client' in inspect.signature(setup_broadcast_routes).parameters else {}
setup_broadcast_routes(app, manager, **caps)  # with a backend, this also starts it at app startup

GC = os.environ.get('BENCH_GC')
if GC == 'threshold': gc.set_threshold(50_000, 20, 100)
elif GC == 'freeze':
    @app.on_event('startup')
    async def _freeze(): gc.collect(); gc.freeze()
elif GC: sys.exit(f'app_cjm: unknown BENCH_GC={GC!r}')

_gc = {'n': [0, 0, 0], 'ms': [0.0, 0.0, 0.0], 'max_ms': [0.0, 0.0, 0.0], 't': None}
def _on_gc(phase, info):
    "Count collections by generation and time them (gc.callbacks)."
    if phase == 'start': _gc['t'] = perf_counter(); return
    if _gc['t'] is None: return
    g, ms = info['generation'], (perf_counter() - _gc['t']) * 1e3
    _gc['n'][g] += 1; _gc['ms'][g] += ms; _gc['max_ms'][g] = max(_gc['max_ms'][g], ms)
gc.callbacks.append(_on_gc)

async def gc_stats(request):
    "Collections per generation, their total and longest time, since the last `?reset=1`."
    out = {k: list(v) for k, v in _gc.items() if k != 't'}
    if request.query_params.get('reset'): _gc.update(n=[0, 0, 0], ms=[0.0, 0.0, 0.0], max_ms=[0.0, 0.0, 0.0])
    return JSONResponse(out)

async def publish(request):
    seq = int(request.query_params['seq'])
    data = payload(seq)
    t = perf_counter()
    sent = await manager.broadcast('tick', data)
    return JSONResponse({'sent': sent, 'dt': perf_counter() - t})

async def burst(request):
    n, seq = int(request.query_params['n']), int(request.query_params['seq'])
    t = perf_counter()
    for i in range(n): await manager.broadcast('tick', payload(seq + i))
    return JSONResponse({'sent': n, 'dt': perf_counter() - t})

async def count(request): return JSONResponse({'n': manager.get_connection_count()})

app.router.add_route('/publish', publish, methods=['POST'])
app.router.add_route('/burst', burst, methods=['POST'])
app.router.add_route('/count', count, methods=['GET'])
app.router.add_route('/gc', gc_stats, methods=['GET'])
app.router.add_route('/trace', memtrace.held, methods=['GET'])
app.router.add_route('/lag', looplag.lag, methods=['GET'])
if os.environ.get('BENCH_LAG'): app.lifespan.startup.append(looplag.start)
