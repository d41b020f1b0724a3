"A fast_app() app wired by one setup_sse call with tab sharing on, for tests/browser/test_browser_setup_sse.py."
import os
from fasthtml.common import *
from cjm_fasthtml_sse import BroadcastManager, setup_sse

# SSE_TEST_CSP=1: the page runs under a policy that forbids inline scripts (no nonce, no 'unsafe-inline'), set by a <meta>
# ahead of the library's scripts, with the indicator on too
CSP = os.environ.get('SSE_TEST_CSP') == '1'
app, rt = fast_app(hdrs=(Meta(http_equiv='Content-Security-Policy', content="script-src 'self' https:; worker-src 'self'"),) if CSP else ())
manager = BroadcastManager()
count = 0

def counter_view(n, **kw): return Span(n, id='counter', **kw)
def element_builder(kind, data): return counter_view(data['value'], hx_swap_oob='true') if kind == 'counter' else None
sse = setup_sse(app, manager, element_builder=element_builder, share=True, indicator=CSP)

@rt('/counter/increment', methods=['post'])  # where tests/browser/pages.increment posts
async def increment():
    global count
    count += 1
    await manager.broadcast('counter', {'value': count})

@rt('/')
def index(): return Titled('Shared counter', P('Count: ', counter_view(count)), sse(id='sse-listener'))
