"""The default pairing, with nothing opted in: `setup_broadcast_routes(app, manager)` with no element_builder, and the default
`create_sse_element(...)`. Run under uvicorn by the browser tests, with `SSE_TEST_ASSETS` set to an npm prefix holding htmx 2 and
htmx-ext-sse. `/?ext=0` leaves the SSE extension's script out (it points at a missing file), for the missing-extension error.
`/?htmx=4` is the same page with htmx 4 and its hx-sse extension, from `SSE_TEST_ASSETS4`. `/?helpers=1` adds the status monitor and the cleanup script through `sse_hdrs(helpers=...)`. `/?stream=URL` connects to another
stream: `/always-reset` answers every connection with a `reset` (a page whose position the server never knows) and stays
open; `/refused/CODE` refuses it with that status and a reason, as a failed `identify=` or a cap would."""
import asyncio, os
from pathlib import Path
from fasthtml.common import FastHTML, Main, P, Script, Title
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.staticfiles import StaticFiles
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from cjm_fasthtml_sse.core.connections import (cleanup_sse_on_unload, create_sse_element, create_status_monitor_script, sse_hdrs,
                                                sse_page_script, status_monitor_element)

ASSETS = Path(os.environ['SSE_TEST_ASSETS']) / 'node_modules'
manager = BroadcastManager()
app = FastHTML(default_hdrs=False, secret_key='browser-tests')
app.mount('/assets', StaticFiles(directory=ASSETS), name='assets')
if os.environ.get('SSE_TEST_ASSETS4'): app.mount('/assets4', StaticFiles(directory=Path(os.environ['SSE_TEST_ASSETS4']) / 'node_modules'), name='assets4')
setup_broadcast_routes(app, manager)

@app.get('/')
def index(ext:int=1, htmx:int=2, stream:str='/sse/broadcast', helpers:int=0):
    hits['/'] += 1
    if helpers:  # the status monitor and the cleanup script through sse_hdrs: one copy of common.js for all
        return (Title('plain'), *sse_hdrs(local='/assets', helpers=(create_status_monitor_script(), cleanup_sse_on_unload())),
                Main(status_monitor_element(), P('feed:'), create_sse_element(stream, 'feed')))
    if htmx == 4: return (Title('plain'), *sse_hdrs(4, local='/assets4'), Main(P('feed:'), create_sse_element(stream, 'feed', htmx_version=4)))
    scripts = sse_hdrs(local='/assets') if ext else (Script(src='/assets/htmx.org/dist/htmx.min.js'), Script(src='/nowhere/sse.js'), sse_page_script())
    return (Title('plain'), *scripts, Main(P('feed:'), create_sse_element(stream, 'feed')))

hits = {'/': 0, '/always-reset': 0, 'open': 0}

@app.get('/hits')
def get_hits(): return JSONResponse(hits)

@app.get('/always-reset')
async def always_reset():
    "A stream that never knows the page's position: a `reset` first, then nothing but comments for up to 60 s."
    hits['/always-reset'] += 1
    async def body():
        hits['open'] += 1
        try:
            yield 'id: 1000\nevent: reset\ndata: {"reason": "unknown_id", "last_event_id": null}\n\n'
            for _ in range(120):
                await asyncio.sleep(0.5)
                yield ': idle\n\n'
        finally: hits['open'] -= 1
    return StreamingResponse(body(), media_type='text/event-stream', headers={'cache-control': 'no-store'})

@app.get('/refused/{code}')
def refused(code:int):
    return PlainTextResponse(f"identify returned 'bob@example.com', which is not a valid user id (refused with {code})", status_code=code)

@app.post('/send')
async def send(text:str):
    await manager.broadcast('message', {'text': text})
    return JSONResponse({'ok': True})
