"The app the periodic-task and metrics tests run under real uvicorn processes: a ticker that broadcasts each tick once per cluster (when SSE_TEST_TICK is set), and the metrics route behind a bearer token."
import os
from fasthtml.common import FastHTML
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from cjm_fasthtml_sse.core.backends import RedisBackend
from cjm_fasthtml_sse.core.tasks import every

redis_url = os.environ.get('SSE_TEST_REDIS')
manager = BroadcastManager(backend=RedisBackend(redis_url, prefix='tasks_test') if redis_url else None)
app = FastHTML(secret_key='tasks-tests')
setup_broadcast_routes(app, manager, public_channels=['lobby', 'help', 'room:*'])  # streams may ask for these; the metrics list only lobby and help

interval = float(os.environ.get('SSE_TEST_TICK', '0'))
if interval:
    @every(manager, interval, app=app, name='ticker')
    async def ticker(tick): await manager.broadcast('tick', {'tick': tick, 'pid': os.getpid()})

from cjm_fasthtml_sse.core.metrics import setup_metrics_route
setup_metrics_route(app, manager, public_channels=['lobby', 'help'], authorize=lambda req: req.headers.get('authorization') == 'Bearer test-token')
