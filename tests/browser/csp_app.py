"""The setup_sse_app page under a Content Security Policy that forbids inline scripts (`script-src 'self' https:`, no nonce,
no 'unsafe-inline'), set by a `<meta>` ahead of the library's scripts, for tests/browser/test_browser_setup_sse.py."""
from fasthtml.common import *
from cjm_fasthtml_sse import BroadcastManager, setup_sse

POLICY = "script-src 'self' https:; worker-src 'self'"
app, rt = fast_app(hdrs=(Meta(http_equiv='Content-Security-Policy', content=POLICY),))
manager = BroadcastManager()
count = 0

def counter_view(n, **kw): return Span(n, id='counter', **kw)
def element_builder(kind, data): return counter_view(data['value'], hx_swap_oob='true') if kind == 'counter' else None
sse = setup_sse(app, manager, element_builder=element_builder, share=True, indicator=True)

@rt('/counter/increment', methods=['post'])  # where tests/browser/pages.increment posts
async def increment():
    global count
    count += 1
    await manager.broadcast('counter', {'value': count})

@rt('/')
def index(): return Titled('Shared counter', P('Count: ', counter_view(count)), sse(id='sse-listener'))
