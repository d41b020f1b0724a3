"""`MessageQueue` (what `register()` hands out) behaves exactly as `asyncio.Queue`, and `FanOut.publish` fills a channel's
queues in one loop that puts on a plain `MessageQueue` without calling its `put_nowait` (the fan-out to 10,000 queues of
issue 20), with the same channel, `exclude`, `target` and full-queue rules as every other subscriber."""
import asyncio, random, sys
import pytest
from helpers import run
from cjm_fasthtml_sse.core.broadcast import BroadcastManager
from cjm_fasthtml_sse.core.fanout import FanOut, MessageQueue, QUEUE_CHECKED, STREAM_CLOSED

pytestmark = pytest.mark.timeout(120)
CHECKED = sys.version_info[:2] in QUEUE_CHECKED

async def _trace(make, seed, steps=400):
    "A random script of puts, gets, cancellations, task_done and join on one queue made by `make(maxsize)`; what every step saw."
    rnd, out = random.Random(seed), []
    q = make(rnd.choice([0, 1, 3]))
    getters, putters, joins, n = [], [], [], 0
    def note(*what): out.append(what)
    for step in range(steps):
        op = rnd.choice(['put_nowait', 'put_nowait', 'get_nowait', 'get', 'get', 'put', 'cancel_get', 'cancel_put',
                         'task_done', 'join', 'turn', 'turn'])
        if op == 'put_nowait':
            n += 1
            try: q.put_nowait(n); note(op, n)
            except asyncio.QueueFull: note(op, n, 'full')
        elif op == 'get_nowait':
            try: note(op, q.get_nowait())
            except asyncio.QueueEmpty: note(op, 'empty')
        elif op == 'get': getters.append(asyncio.ensure_future(q.get()))
        elif op == 'put': n += 1; putters.append(asyncio.ensure_future(q.put(n)))
        elif op in ('cancel_get', 'cancel_put'):
            live = [t for t in (getters if op == 'cancel_get' else putters) if not t.done()]
            if live: rnd.choice(live).cancel()  # also right after a put woke it, before it ran
        elif op == 'task_done':
            try: q.task_done(); note(op)
            except ValueError: note(op, 'too many')
        elif op == 'join': joins.append(asyncio.ensure_future(q.join()))
        else: await asyncio.sleep(0)
        note('state', q.qsize(), q.empty(), q.full(), [t.done() for t in getters], [t.done() for t in putters], [t.done() for t in joins])
    for _ in range(5): await asyncio.sleep(0)
    note('gets', [('cancelled',) if t.cancelled() else t.result() if t.done() else 'waiting' for t in getters])
    note('puts', ['cancelled' if t.cancelled() else t.done() for t in putters], 'joins', [t.done() for t in joins])
    note('left', [q.get_nowait() for _ in range(q.qsize())])
    for t in getters + putters + joins: t.cancel()
    await asyncio.gather(*getters, *putters, *joins, return_exceptions=True)
    return out

@pytest.mark.parametrize('seed', range(12))
def test_a_message_queue_sees_what_an_asyncio_queue_sees_step_by_step(seed):
    "The same random script (bounded and unbounded, parked and cancelled gets and puts, task_done, join) on both: every step the same."
    async def go(): return await _trace(asyncio.Queue, seed), await _trace(MessageQueue, seed)
    want, got = run(go(), 60)
    diff = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), None)
    assert got == want, f'seed {seed}: first difference at step {diff}: asyncio.Queue {want[diff] if diff is not None else None}, MessageQueue {got[diff] if diff is not None else None}'

def test_a_cancelled_get_that_was_handed_an_item_passes_it_on():
    "Two parked gets, one put, the woken get cancelled before it runs: the other get has the item, and nothing is left counted as waiting."
    async def go():
        q = MessageQueue()
        a, b = asyncio.ensure_future(q.get()), asyncio.ensure_future(q.get())
        await asyncio.sleep(0)
        q.put_nowait('x'); a.cancel()
        got = await asyncio.wait_for(b, 5)
        return a.cancelled(), got, q.qsize(), len(q._getters), getattr(q, '_waiting', 0)
    assert run(go(), 30) == (True, 'x', 0, 0, 0)

@pytest.mark.skipif(not CHECKED, reason='only the checked Python versions have the inlined put')
def test_publish_puts_on_register_queues_without_a_call_per_queue(monkeypatch):
    "With `MessageQueue.put_nowait` broken, a broadcast still reaches 300 register() queues whole and in order: the fan-out's loop does the put itself."
    def broken(self, item): raise AssertionError('publish called MessageQueue.put_nowait for a register() queue')
    async def go():
        m = BroadcastManager(max_queue_size=10)
        qs = [(await m.register())[1] for _ in range(300)]
        monkeypatch.setattr(MessageQueue, 'put_nowait', broken)
        parked = asyncio.ensure_future(qs[0].get()); await asyncio.sleep(0)  # a waiting get is woken by the loop too
        sent = [await m.broadcast('tick', {'i': i}) for i in range(3)]
        first = await asyncio.wait_for(parked, 5)
        monkeypatch.undo()
        return sent, first.data['i'], [[qs[0].get_nowait().data['i'] for _ in range(2)]] + [[q.get_nowait().data['i'] for _ in range(3)] for q in qs[1:]]
    sent, first, got = run(go(), 60)
    assert sent == [300] * 3, sent
    assert first == 0 and got == [[1, 2]] + [[0, 1, 2]] * 299, (first, got[:3])

def test_publish_to_queues_honours_channels_exclude_target_and_full_queues():
    "Plain MessageQueues, an asyncio.Queue and a MessageQueue subclass on one hub: each gets exactly its messages, in order; a full one is dropped once."
    class Sub(MessageQueue):
        def put_nowait(self, item): self.calls = getattr(self, 'calls', 0) + 1; super().put_nowait(item)
    async def go():
        hub, drops = FanOut(), []
        qs = {'a': MessageQueue(), 'b': asyncio.Queue(), 'c': Sub(), 'news': MessageQueue(), 'small': MessageQueue(2)}
        for sid, q in qs.items(): hub.subscribe_queue(q, ['news'] if sid == 'news' else (), sid, drops.append)
        sent = [hub.publish(1), hub.publish(2, channel='news'), hub.publish(3, exclude=['a', 'news']), hub.publish(4, target='c'),
                hub.publish(5, target='news', channel='news'), hub.publish(6), hub.publish(7, exclude=['nobody'])]
        got = {sid: [q.get_nowait() for _ in range(q.qsize())] for sid, q in qs.items()}
        joined = asyncio.ensure_future(qs['a'].join()); await asyncio.sleep(0)
        pending = not joined.done()  # each put counts as unfinished, as asyncio.Queue's does
        for _ in range(3): qs['a'].task_done()
        await asyncio.wait_for(joined, 5)
        with pytest.raises(ValueError): qs['a'].task_done()
        return sent, got, [s.id for s in drops], qs['c'].calls, hub.reach(), hub.queue_drops, pending
    sent, got, drops, calls, reach, n_drops, pending = run(go(), 30)
    assert pending, 'join() returned before task_done() was called for the published items'
    assert got == {'a': [1, 6, 7], 'b': [1, 3, 6, 7], 'c': [1, 3, 4, 6, 7], 'news': [1, 2, 5, 6, 7], 'small': [STREAM_CLOSED]}, got
    assert sent == [5, 1, 3, 1, 1, 4, 4] and drops == ['small'] and n_drops == 1 and reach == 4, (sent, drops, n_drops, reach)
    assert calls == 5  # a subclass keeps its own put_nowait

def test_queue_index_follows_subscribe_and_end():
    "An ended queue gets nothing more, on any channel, and a new one with the same id gets only what comes after it."
    async def go():
        hub = FanOut()
        q1, q2 = MessageQueue(), MessageQueue()
        s1 = hub.subscribe_queue(q1, ['x', 'y'], 'q')
        first = q1.get_nowait() if hub.publish('before', channel='x') else None; s1.end()
        hub.publish('after end', channel='y'); hub.publish('after end')
        hub.subscribe_queue(q2, ['y'], 'q')
        hub.publish('new', channel='y'); hub.publish('not x', channel='x')
        return first, [q1.get_nowait() for _ in range(q1.qsize())], [q2.get_nowait() for _ in range(q2.qsize())], hub.channel_counts()
    first, old, new, counts = run(go(), 30)
    assert first == 'before' and old == [STREAM_CLOSED] and new == ['new'] and counts == {'y': 1}, (old, new, counts)
