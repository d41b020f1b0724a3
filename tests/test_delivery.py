"One delivery model (issue 20): a `register()` queue is a subscriber of the shared log's fan-out, reached in the same loop as the streams, never sliced or delayed."
import ast, asyncio, json
import httpx, pytest
from fasthtml.common import FastHTML
from helpers import ROOT, run
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes, STREAM_CLOSED
from cjm_fasthtml_sse.core.fanout import EventLog, FanOut
from cjm_fasthtml_sse.core.streaming import sse_event
from cjm_fasthtml_sse.testing import SSEClient, serve, until

pytestmark = pytest.mark.timeout(120)

def _hub_app(hub):
    "A bare ASGI app: each GET is one stream of `hub`."
    async def app(scope, receive, send):
        if scope['type'] != 'http': return
        await hub.subscribe(send).run(receive)
    return app

def test_a_queue_gets_every_message_of_a_burst_at_once_and_in_the_order_the_streams_get_them():
    "A burst of 200 publishes in one turn to 8 streams in slices of 2 (so the flusher writes them later): a queue subscriber of the same hub holds all 200 as the loop ends, in the streams' order; a bounded one is dropped when full and holds STREAM_CLOSED only."
    async def go():
        hub = FanOut(EventLog(encode=lambda p, key: sse_event(json.dumps(p), id=str(p['i']))), slice_streams=2)
        async with serve(_hub_app(hub)) as url:
            clients = [await SSEClient.connect(url) for _ in range(8)]
            await until(lambda: len(hub.subscribers) == 8 and all(s.live for s in hub.subscribers.values()), 10)
            q, small, gone = asyncio.Queue(), asyncio.Queue(maxsize=5), []
            hub.subscribe_queue(q, sub_id='q')
            hub.subscribe_queue(small, sub_id='small', on_drop=gone.append)
            reached = [hub.publish({'i': i}, id=i) for i in range(1, 201)]  # one turn of the loop: a burst
            held_at_once = [q.get_nowait()['i'] for _ in range(q.qsize())]
            sliced, reach = hub.sliced, hub.reach()
            got = [[int(e.id) for e in await c.events(200, timeout=60)] for c in clients]
            for c in clients: await c.close()
            return reached, held_at_once, sliced, got, [small.get_nowait() for _ in range(small.qsize())], gone, hub.queue_drops, reach
    reached, held, sliced, got, small, gone, drops, reach = run(go(), 110)
    assert sliced >= 1, 'the burst was meant to leave streams to the flusher'
    assert held == list(range(1, 201)), f'the queue should hold the whole burst, in order, before the loop turns: {held[:10]}...'
    assert all(ids == list(range(1, 201)) for ids in got), [ids[:5] for ids in got]
    assert reached[:5] == [10] * 5 and reached[5:] == [9] * 195, reached[:8]  # 8 streams + 2 queues, then the full one is gone
    assert (small, [s.id for s in gone], drops, reach) == ([STREAM_CLOSED], ['small'], 1, 9)

def test_a_register_queue_and_a_stream_see_the_same_messages_in_the_same_order_with_the_same_ids():
    "Through the manager: broadcasts to everyone, to a channel, with `exclude`, keyed, and a burst; the stream and the `register()` queue get the same (id, type, i) sequence."
    async def go():
        app, manager = FastHTML(), BroadcastManager()
        setup_broadcast_routes(app, manager, public_channels=['news'])
        async with serve(app) as url:
            stream = await SSEClient.connect(f'{url}/sse/broadcast?channel=news')
            cid, q = await manager.register(channels=['news'])
            await until(lambda: len(manager.connections) == 2, 10)
            for i in range(60):
                kw = [{}, {'channel': 'news'}, {'exclude': ['nobody']}, {'channel': 'sport'}][i % 4]
                await manager.broadcast('tick' if i % 5 else 'counter', {'i': i, 'key': 'c'} if i % 5 == 0 else {'i': i}, **kw)
            events = []
            while len(events) < 45 and (e := await stream.next_event(30)) is not None: events += [e] if e.event == 'message' else []
            await stream.close()
            queued = [q.get_nowait() for _ in range(q.qsize())]
            await manager.unregister(cid)
            return ([(e.id, json.loads(e.data)['type'], json.loads(e.data)['data']['i']) for e in events],
                    [(m.id, m.type, m.data['i']) for m in queued], q.get_nowait(), manager.get_history())
    streamed, queued, closed, history = run(go(), 110)
    assert len(queued) == 45 and all(i % 4 != 3 for _, _, i in queued), queued  # none of channel `sport`
    assert streamed[:45] == queued, (streamed[:5], queued[:5])
    assert closed is STREAM_CLOSED
    assert [(m.id, m.type, m.data['i']) for m in history if m.channel != 'sport'] == queued  # one history: the log's

def test_the_manager_keeps_one_registry_of_receivers():
    "A `register()` queue is a subscriber of the fan-out (reached and counted with the streams), and broadcast.py puts nothing on a queue itself."
    async def go():
        manager = BroadcastManager()
        cid, q = await manager.register(channels=['news'])
        fan = manager._fanout
        return cid in fan.subscribers, fan.stats()['streams'], manager.get_stats()['channels']
    listed, subscribers, stats = run(go(), 30)
    assert listed and subscribers == 1, f"the register() queue should be the fan-out's one subscriber: listed={listed}, subscribers={subscribers}"
    assert stats == {'news': 1}, stats
    tree = ast.parse((ROOT / 'cjm_fasthtml_sse/core/broadcast.py').read_text())
    puts = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == 'put_nowait']
    second = sorted({n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in ('_queues', '_channels', '_targets', '_deliver')})
    assert not puts and not second, f"broadcast.py delivers to queues itself (put_nowait at lines {puts}) or keeps a second registry ({second})"
