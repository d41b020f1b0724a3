"A burst published in one turn of the loop, longer than `cut_behind` of the log, still reaches a stream that reads: it isn't cut for waiting on the flusher."
import pytest
from fasthtml.common import FastHTML
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from cjm_fasthtml_sse.testing import SSEClient, serve
from helpers import run

pytestmark = pytest.mark.timeout(60)

def test_a_burst_longer_than_the_cut_threshold_reaches_a_reading_stream_whole():
    manager = BroadcastManager(history_limit=8)  # streams more than 6 behind are cut, unless their socket takes the debt
    app = FastHTML()
    setup_broadcast_routes(app, manager)
    async def go():
        async with serve(app) as url:
            tab = await SSEClient.connect(f'{url}/sse/broadcast')
            await manager.broadcast('note', {'i': -1})
            first = await tab.next_event(5)
            for i in range(20): await manager.broadcast('note', {'i': i})  # one turn of the loop: nothing awaited really suspends
            events = await tab.events(20, timeout=5)
            await tab.close()
            return first, events, manager.dropped_count
    first, events, dropped = run(go())
    ids = [int(e.id) for e in events]
    assert [e.event for e in events] == ['message'] * 20, [e.event for e in events]
    assert ids == list(range(int(first.id) + 1, int(first.id) + 21)), ids
    assert dropped == 0, f'{dropped} stream(s) cut for being behind, though the client was reading'
