"`server_app` behind a middleware that holds each stream request a moment before the library sees it: a SIGTERM can then arrive between the server accepting a stream's connection and the stream opening."
import asyncio, os
from server_app import app as _inner

HOLD = float(os.environ.get('SSE_TEST_HOLD', '1.0'))

async def app(scope, receive, send):
    if scope['type'] == 'http' and scope['path'] == '/sse/broadcast': await asyncio.sleep(HOLD)
    await _inner(scope, receive, send)
