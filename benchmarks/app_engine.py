"""The engine (`cjm_fasthtml_sse.core.fanout`) over HTTP, as a bare ASGI app: the numbers of the new delivery path before it is
wired into `BroadcastManager`. The message is encoded once (the log's default `encode` passes bytes through) and written
straight to every client whose socket keeps up.

`GET /sse` streams, `POST /publish?seq=N` publishes message N, `GET /count` says how many clients listen."""
import json
from time import perf_counter
from cjm_fasthtml_sse.core.fanout import EventLog, FanOut
from common import payload
from app_ideal import _json

hub = FanOut(EventLog())

async def app(scope, receive, send):
    if scope['type'] == 'lifespan':
        while True:
            msg = await receive()
            await send({'type': msg['type'] + '.complete'})
            if msg['type'] == 'lifespan.shutdown': return
    path = scope['path']
    if path == '/sse': await hub.subscribe(send).run(receive)
    elif path == '/publish':
        body = ('data: ' + json.dumps(payload(int(scope['query_string'].split(b'=')[1]))) + '\n\n').encode()
        t = perf_counter()
        sent = hub.publish(body)
        await _json(send, {'sent': sent, 'dt': perf_counter() - t})
    elif path == '/count': await _json(send, {'n': len(hub.subscribers)})
    else:
        await send({'type': 'http.response.start', 'status': 404, 'headers': []})
        await send({'type': 'http.response.body', 'body': b''})
