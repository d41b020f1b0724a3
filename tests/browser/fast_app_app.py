"""A page wired as a new user wires it under `fast_app()` (which loads htmx itself): `sse_hdrs(include_htmx=False)`, tab
sharing through a shared worker from `add_shared_worker_route`, and a feed. With `SSE_TEST_TWICE=1` the headers are plain
`sse_hdrs()` instead, so htmx is loaded twice (the mistake the page script must name). The page's CDN scripts are answered
from npm copies by the test (`serve_cdn_locally`)."""
import os
from fasthtml.common import Li, Main, P, Span, Titled, Ul, fast_app
from starlette.responses import JSONResponse
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from cjm_fasthtml_sse.core.connections import (SHARED_WORKER_PATH, add_shared_worker_route, create_shared_connection_script,
                                                create_sse_element, sse_hdrs)
from cjm_fasthtml_sse.core.streaming import OOBStreamBuilder

TWICE = os.environ.get('SSE_TEST_TWICE') == '1'
manager = BroadcastManager()
hdrs = sse_hdrs() if TWICE else sse_hdrs(include_htmx=False)
app, rt = fast_app(hdrs=(*hdrs, create_shared_connection_script(worker_url=SHARED_WORKER_PATH, name='fastapp')))

def feed_item(kind, data):
    return OOBStreamBuilder().add_element(Li(data['text']), 'feed', 'beforeend').build() if kind == 'message' else None

setup_broadcast_routes(app, manager, element_builder=feed_item)
add_shared_worker_route(app)

@rt('/')
def get(stream:str='/sse/broadcast'):
    return Titled('fast_app', Main(P('tabs sharing: ', Span('?', id='tabs', data_sse_shared_tabs='')), Ul(id='feed'),
                                   create_sse_element(stream, element_id='listener', hidden=True, hx_swap='none')))

@rt('/refused/{code}')
def get(code:int):
    from starlette.responses import PlainTextResponse
    return PlainTextResponse(f"identify returned 'bob@example.com', which is not a valid user id (refused with {code})", status_code=code)

@rt('/send')
async def post(text:str):
    await manager.broadcast('message', {'text': text})
    return JSONResponse({'ok': True})
