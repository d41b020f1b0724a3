"The app tests/test_redis_faults.py runs under real uvicorn: tests/users_app.py (streams that know users, presence hooks) plus controls to broadcast and to read the stream position."
import os
from starlette.responses import JSONResponse
from cjm_fasthtml_sse.core.backends import BackendUnavailable
from users_app import app, manager

@app.post('/_test/broadcast')
async def ctl_broadcast(request):
    body = await request.json()
    try: sent = await manager.broadcast(body['type'], body['data'])
    except BackendUnavailable as e: return JSONResponse({'refused': str(e)}, status_code=503)
    return JSONResponse({'sent': sent, 'newest': manager.newest_id, 'delivered': manager.history[-1].id if manager.history else None})

@app.get('/_test/position')
async def ctl_position():
    await manager.start()
    return JSONResponse({'newest': manager.newest_id, 'pid': os.getpid(), 'healthy': manager.backend.healthy, 'owes_marker': manager.backend._local_only})
