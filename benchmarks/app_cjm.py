"""Ours or the original 0.0.12 (both import as `cjm_fasthtml_sse`) behind one FastHTML app.

The stream is the library's own `GET /sse/broadcast`; `POST /publish?seq=N` broadcasts message N and answers how long
`broadcast()` took; `GET /count` says how many clients are registered. `BENCH_EXPECT` names the side that must load."""
import os, sys
from time import perf_counter
import cjm_fasthtml_sse
from fasthtml.common import FastHTML
from starlette.responses import JSONResponse
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from common import payload

expect = os.environ.get('BENCH_EXPECT')
if (expect == 'original') != (cjm_fasthtml_sse.__version__ == '0.0.12'):
    sys.exit(f"app_cjm: wanted {expect}, loaded cjm_fasthtml_sse {cjm_fasthtml_sse.__version__} from {cjm_fasthtml_sse.__file__}")

manager = BroadcastManager()
app = FastHTML(secret_key='benchmarks')
setup_broadcast_routes(app, manager)

async def publish(request):
    seq = int(request.query_params['seq'])
    data = payload(seq)
    t = perf_counter()
    sent = await manager.broadcast('tick', data)
    return JSONResponse({'sent': sent, 'dt': perf_counter() - t})

async def count(request): return JSONResponse({'n': manager.get_connection_count()})

app.router.add_route('/publish', publish, methods=['POST'])
app.router.add_route('/count', count, methods=['GET'])
