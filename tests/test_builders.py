"What an element_builder may return, and which builders are refused at setup, through a real server."
import asyncio, logging
import httpx, pytest
from fasthtml.common import FastHTML, NotStr, Span
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from cjm_fasthtml_sse.testing import SSEClient, serve
from helpers import run

pytestmark = pytest.mark.timeout(60)

async def first_event(app, manager, type_='t'):
    "Open one stream on `app`, broadcast one message, and return the event it got."
    async with serve(app) as url:
        tab = await SSEClient.connect(f'{url}/sse/broadcast')
        await asyncio.sleep(0.05)
        await manager.broadcast(type_, {'n': 1})
        ev = await tab.next_event(5)
        await tab.close()
        return ev

def test_notstr_and_lists_of_markup_are_sent_as_the_apps_markup():
    app, manager = FastHTML(), BroadcastManager()
    setup_broadcast_routes(app, manager, element_builder=lambda kind, data: [NotStr('<b>bold</b>'), Span(data['n'])])
    ev = run(first_event(app, manager))
    assert ev.data == '<b>bold</b><span>1</span>', ev

def test_a_plain_str_builder_warns_once_naming_notstr(caplog):
    app, manager = FastHTML(), BroadcastManager()
    setup_broadcast_routes(app, manager, element_builder=lambda kind, data: '<b>bold</b>')
    async def go():
        async with serve(app) as url:
            tab = await SSEClient.connect(f'{url}/sse/broadcast')
            await asyncio.sleep(0.05)
            for i in range(3): await manager.broadcast('t', {'n': i})
            got = [await tab.next_event(5) for _ in range(3)]
            await tab.close()
            return got
    with caplog.at_level(logging.WARNING, logger='cjm_fasthtml_sse'): got = run(go())
    assert [e.data for e in got] == ['&lt;b&gt;bold&lt;/b&gt;'] * 3
    warnings = [r.getMessage() for r in caplog.records if 'plain str' in r.getMessage()]
    assert len(warnings) == 1 and 'NotStr' in warnings[0], warnings

def test_an_async_builder_is_refused_at_setup_with_the_fix():
    async def builder(kind, data): return Span(kind)
    with pytest.raises(TypeError, match='make it a plain def'): setup_broadcast_routes(FastHTML(), BroadcastManager(), element_builder=builder)
