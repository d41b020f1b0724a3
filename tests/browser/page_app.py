"""A bare page for the browser tests of the JS helpers: htmx 2, htmx-ext-sse and only the helper scripts the query asks for.

Run under uvicorn by `tests/browser/test_browser_helpers.py`, with `SSE_TEST_ASSETS` set to an npm prefix holding
`htmx.org@2` and `htmx-ext-sse@2`. Query parameters of `/`:
`cleanup=1`, `reconnect=MS` (check interval), `manager_ms=MS` (update interval), `share=worker|locks`, `worker=URL`,
`buffer=N` (the shared hub's buffer), `from_id=ID` (the id the page's stream resumes after, as if rendered then).
"""
import asyncio, os
from pathlib import Path
from fasthtml.common import FastHTML, Li, P, Script, Span, Title, Ul, Main
from starlette.responses import HTMLResponse, JSONResponse
from starlette.staticfiles import StaticFiles
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from cjm_fasthtml_sse.core.connections import (cleanup_sse_on_unload, create_connection_manager_script, create_reconnection_script,
                                                create_shared_connection_script, add_shared_worker_route, create_sse_element)
from cjm_fasthtml_sse.core.streaming import OOBStreamBuilder

ASSETS = Path(os.environ['SSE_TEST_ASSETS']) / 'node_modules'
manager = BroadcastManager()  # the default log (4,096 entries), as the tab-sharing catch-up relies on it

def feed_item(kind, data):
    "Append each message to `#feed`."
    return OOBStreamBuilder().add_element(Li(data['text']), 'feed', 'beforeend').build() if kind == 'message' else None

app = FastHTML(default_hdrs=False, secret_key='browser-tests')
app.mount('/assets', StaticFiles(directory=ASSETS), name='assets')
setup_broadcast_routes(app, manager, element_builder=feed_item)
add_shared_worker_route(app)

@app.get('/')
async def index(cleanup:int=0, reconnect:int=0, manager_ms:int=0, share:str='', worker:str='/sse/shared-worker.js', buffer:int=100, from_id:str=''):
    scripts = [Script(src='/assets/htmx.org/dist/htmx.min.js')]
    if share: scripts.append(create_shared_connection_script(worker_url=worker if share == 'worker' else None, name='page', buffer_size=buffer, debug=True))
    scripts.append(Script(src='/assets/htmx-ext-sse/sse.js'))
    if reconnect: scripts.append(create_reconnection_script(check_interval=reconnect, debug=True))
    if cleanup: scripts.append(cleanup_sse_on_unload())
    if manager_ms: scripts.append(create_connection_manager_script('/sse/status', manager_ms))
    return (Title('helpers'), *scripts,
            Main(P('burst messages sent when rendered: ', Span(getattr(app.state, 'sent', 0), id='sent')), P('connections: ', P(0, id='connections', data_sse_stats='connections')), P('tabs sharing: ', Span('?', id='tabs', data_sse_shared_tabs='')), Ul(id='feed'),
                 create_sse_element('/sse/broadcast', element_id='listener', hidden=True, hx_swap='none', last_event_id=from_id or None)))

@app.post('/send')
async def send(text:str):
    await manager.broadcast('message', {'text': text})
    return JSONResponse({'id': manager.history[-1].id})

@app.post('/burst')
async def burst(n:int=3000, rate:int=1500):
    "Broadcast `b0` ... `b{n-1}` at about `rate` messages a second (in steps of 10 ms), in the background."
    async def run():
        per_step = max(1, rate // 100)
        for start in range(0, n, per_step):
            for i in range(start, min(n, start + per_step)):
                await manager.broadcast('message', {'text': f'b{i}'})
                app.state.sent = i + 1
            await asyncio.sleep(0.01)
    app.state.burst = asyncio.create_task(run())
    return JSONResponse({'n': n})

@app.post('/drop')
async def drop():
    "End every open stream, as a server that drops its connections would; browsers then retry."
    ids = list(manager.connections)
    for connection_id in ids: await manager.unregister(connection_id)
    return JSONResponse({'dropped': len(ids)})

@app.get('/slow')
async def slow(delay:float=2.5):
    "A page that takes `delay` seconds to answer, so that a navigation to it stays pending."
    await asyncio.sleep(min(delay, 10))
    return HTMLResponse('<title>slow</title><p id="slow">done</p>')
