"""The ideal over HTTP: a bare ASGI app, one queue per client, each message encoded once and written as is.

`GET /sse` streams, `POST /publish?seq=N` puts message N on every queue, `GET /count` says how many clients listen,
`GET /ping` answers at once."""
import asyncio, json
from time import perf_counter
from common import payload

queues = set()
HEAD = {'type': 'http.response.start', 'status': 200,
        'headers': [(b'content-type', b'text/event-stream'), (b'cache-control', b'no-cache')]}

async def _json(send, obj):
    body = json.dumps(obj).encode()
    await send({'type': 'http.response.start', 'status': 200,
                'headers': [(b'content-type', b'application/json'), (b'content-length', str(len(body)).encode())]})
    await send({'type': 'http.response.body', 'body': body})

async def _hangup(receive, queue):
    while (await receive())['type'] != 'http.disconnect': pass
    queue.put_nowait(None)

async def app(scope, receive, send):
    if scope['type'] == 'lifespan':
        while True:
            msg = await receive()
            await send({'type': msg['type'] + '.complete'})
            if msg['type'] == 'lifespan.shutdown': return
    path = scope['path']
    if path == '/sse':
        queue = asyncio.Queue(100)
        queues.add(queue)
        watch = asyncio.create_task(_hangup(receive, queue))
        try:
            await send(HEAD)
            while (body := await queue.get()) is not None:
                await send({'type': 'http.response.body', 'body': body, 'more_body': True})
        finally:
            queues.discard(queue)
            watch.cancel()
    elif path == '/publish':
        body = ('data: ' + json.dumps(payload(int(scope['query_string'].split(b'=')[1]))) + '\n\n').encode()
        t = perf_counter()
        sent = 0
        for q in queues:
            try: q.put_nowait(body); sent += 1
            except asyncio.QueueFull: pass
        await _json(send, {'sent': sent, 'dt': perf_counter() - t})
    elif path == '/ping': await _json(send, {'pong': True})
    elif path == '/count': await _json(send, {'n': len(queues)})
    else:
        await send({'type': 'http.response.start', 'status': 404, 'headers': []})
        await send({'type': 'http.response.body', 'body': b''})
