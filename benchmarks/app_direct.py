"""The "direct" reference over HTTP: a bare ASGI app with no queue and no task per client. The publisher awaits each client's
`send` in turn, with the message encoded once.

`GET /sse` streams, `POST /publish?seq=N` sends message N to every client, `GET /count` says how many clients listen."""
import json
from time import perf_counter
from common import payload
from app_ideal import HEAD, _json

sends = set()

async def app(scope, receive, send):
    if scope['type'] == 'lifespan':
        while True:
            msg = await receive()
            await send({'type': msg['type'] + '.complete'})
            if msg['type'] == 'lifespan.shutdown': return
    path = scope['path']
    if path == '/sse':
        await send(HEAD)
        sends.add(send)
        try:
            while (await receive())['type'] != 'http.disconnect': pass
        finally: sends.discard(send)
    elif path == '/publish':
        body = ('data: ' + json.dumps(payload(int(scope['query_string'].split(b'=')[1]))) + '\n\n').encode()
        message = {'type': 'http.response.body', 'body': body, 'more_body': True}
        t = perf_counter()
        for s in list(sends): await s(message)  # a client whose transport is paused makes everyone behind it wait: that is the price
        await _json(send, {'sent': len(sends), 'dt': perf_counter() - t})
    elif path == '/count': await _json(send, {'n': len(sends)})
    else:
        await send({'type': 'http.response.start', 'status': 404, 'headers': []})
        await send({'type': 'http.response.body', 'body': b''})
