"""sse-starlette + broadcaster (memory backend): the usual Starlette way to fan SSE out.

`GET /sse` streams, `POST /publish?seq=N` publishes message N and answers how long `publish()` took,
`GET /count` says how many clients are subscribed."""
import json
from contextlib import asynccontextmanager
from time import perf_counter
from broadcaster import Broadcast
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from common import payload

broadcast = Broadcast('memory://')
subscribed = 0

async def stream(request):
    async def events():
        global subscribed
        async with broadcast.subscribe('ch') as sub:
            subscribed += 1
            try:
                async for ev in sub: yield {'event': 'message', 'data': ev.message}
            finally: subscribed -= 1
    return EventSourceResponse(events())

async def publish(request):
    msg = json.dumps(payload(int(request.query_params['seq'])))
    t = perf_counter()
    await broadcast.publish('ch', msg)
    return JSONResponse({'sent': subscribed, 'dt': perf_counter() - t})

async def count(request): return JSONResponse({'n': subscribed})

@asynccontextmanager
async def lifespan(app):
    async with broadcast: yield

app = Starlette(routes=[Route('/sse', stream), Route('/publish', publish, methods=['POST']), Route('/count', count)], lifespan=lifespan)
