"""The "direct" reference over HTTP: a bare ASGI app with no queue and no task per client. The publisher awaits each client's
`send` in turn, with the message encoded once.

`GET /sse` streams, `POST /publish?seq=N` sends message N to every client (`POST /burst?n=M&seq=N`: M of them in a tight
loop), `GET /count` says how many clients listen, `GET /ping` answers at once. With `BENCH_TRACE=1`, `GET /trace` says what
each open stream holds, by file (`memtrace.py`), as in `app_cjm.py`."""
import json
from time import perf_counter
from common import payload
from app_ideal import HEAD, _json
import memtrace

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
    elif path == '/burst':
        q = dict(kv.split(b'=') for kv in scope['query_string'].split(b'&'))
        t = perf_counter()
        for i in range(int(q[b'n'])):
            body = ('data: ' + json.dumps(payload(int(q[b'seq']) + i)) + '\n\n').encode()
            message = {'type': 'http.response.body', 'body': body, 'more_body': True}
            for s in list(sends): await s(message)
        await _json(send, {'sent': int(q[b'n']), 'dt': perf_counter() - t})
    elif path == '/ping': await _json(send, {'pong': True})
    elif path == '/count': await _json(send, {'n': len(sends)})
    elif path == '/trace':
        from starlette.requests import Request
        await (await memtrace.held(Request(scope)))(scope, receive, send)
    else:
        await send({'type': 'http.response.start', 'status': 404, 'headers': []})
        await send({'type': 'http.response.body', 'body': b''})
