"The app tests/test_users.py runs under real uvicorn: a stream route that knows users (from the `user` query parameter), and test-only controls."
import os
from fasthtml.common import FastHTML
from starlette.responses import JSONResponse
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from cjm_fasthtml_sse.core.backends import RedisBackend

redis_url = os.environ.get('SSE_TEST_REDIS')
manager = BroadcastManager(backend=RedisBackend(redis_url, prefix='users_test', ttl=int(os.environ.get('SSE_TEST_TTL', '15')),
                                                  local_during_outage=bool(os.environ.get('SSE_TEST_LOCAL_OUTAGE'))) if redis_url else None)
app = FastHTML(secret_key='users-tests')

async def who(request): return request.query_params.get('user') # stands in for a session lookup; async, to check that works
setup_broadcast_routes(app, manager, identify=who)

events = []
manager.on_user_online(lambda user: events.append(['online', user]))
@manager.on_user_offline
async def offline(user): events.append(['offline', user])

@app.get('/_test/users')
async def users():
    return JSONResponse({'online': sorted(await manager.users_online()), 'events': events, 'stats': manager.get_stats(),
                         'users': {c: m.get('user') for c, m in manager.connection_metadata.items()}})

@app.post('/_test/send_to_user')
async def send_to_user(request):
    body = await request.json()
    return JSONResponse(await manager.send_to_user(body['user'], body['type'], body['data']))
