"""In-process fan-out worker: `python inproc.py SIDE`, driven by run.py over stdin/stdout (one JSON object a line).

Each side puts one message on N parked consumers the way that library does it, and each consumer turns it
into the bytes its HTTP stream would write. The asyncio event loop is the standard library's."""
import asyncio, gc, json, os, sys, traceback
from time import perf_counter
from common import median, payload, send_json

MAX_QUEUE = 100  # the default queue size of both cjm versions

class _Manager:
    "Ours and the original share an API: `BroadcastManager.register/broadcast/unregister`."
    def __init__(self):
        import cjm_fasthtml_sse
        from cjm_fasthtml_sse.core import broadcast as b
        self.version, self.where = cjm_fasthtml_sse.__version__, os.path.dirname(cjm_fasthtml_sse.__file__)
        self.b, self.m = b, b.BroadcastManager(max_queue_size=MAX_QUEUE)
    async def add(self): return await self.m.register()
    async def remove(self, h): await self.m.unregister(h[0])
    async def publish(self, seq): return await self.m.broadcast('tick', payload(seq))
    def stall(self, h):
        "Leave connection `h` with a full queue, as a client that stopped reading does."
        q = h[1]
        while not q.full(): q.put_nowait(None)
    def is_connected(self, h): return self.m.connections.get(h[0]) is h[1]
    def drain(self, h):
        while not h[1].empty(): h[1].get_nowait()

class Ours(_Manager):
    def __init__(self):
        super().__init__()
        self.encode = getattr(self.b, 'wire_bytes', None) or getattr(self.b, '_encoded', None)  # what the stream's pump calls for every queued message
        self.note = '' if self.encode else 'ours has no wire_bytes(): consumers encode with to_sse()'
        self.closed = getattr(self.b, 'STREAM_CLOSED', object())
    async def consume(self, h, hit):
        q, encode, closed = h[1], self.encode, self.closed
        while True:
            msg = await q.get()
            if msg is closed: return
            if encode is not None: encode(msg)
            else: msg.to_sse().encode()
            hit()

class Original(_Manager):
    note = ''
    async def consume(self, h, hit):
        q = h[1]
        while True:
            msg = await q.get()
            msg.to_sse().encode()  # its stream yields to_sse() and Starlette encodes each chunk
            hit()

class SseStarlette:
    "broadcaster's memory backend; each consumer encodes the event as sse-starlette's response does for a yielded dict."
    note = 'publish() only queues the event; a listener task does the fan-out after it returns'
    def __init__(self):
        from broadcaster import Broadcast
        from sse_starlette import ServerSentEvent
        from importlib.metadata import version
        self.version = f"sse-starlette {version('sse-starlette')}, broadcaster {version('broadcaster')}"
        self.where, self.bc, self.SSE, self.started = '', Broadcast('memory://'), ServerSentEvent, False
    async def add(self):
        if not self.started: await self.bc.connect(); self.started = True
        cm = self.bc.subscribe('ch')
        return cm, await cm.__aenter__()
    async def remove(self, h): await h[0].__aexit__(None, None, None)
    async def stop(self):
        if self.started: await self.bc.disconnect(); self.started = False
    async def publish(self, seq): await self.bc.publish('ch', json.dumps(payload(seq)))
    def stall(self, h): pass  # its queues are unbounded: a stalled subscriber just keeps growing
    def is_connected(self, h): return True
    def drain(self, h):
        q = h[1]._queue
        while not q.empty(): q.get_nowait()
    async def consume(self, h, hit):
        sub, SSE = h[1], self.SSE
        while True:
            ev = await sub.get()
            SSE(data=ev.message, event='message').encode()
            hit()

class Ideal:
    "The plainest code: encode once, `put_nowait` on every queue, skip the full ones."
    note, version, where = '', 'stdlib asyncio', ''
    def __init__(self): self.queues, self.next = {}, 0
    async def add(self):
        self.next += 1
        q = self.queues[self.next] = asyncio.Queue(MAX_QUEUE)
        return self.next, q
    async def remove(self, h): self.queues.pop(h[0], None)
    async def publish(self, seq):
        wire = ('data: ' + json.dumps(payload(seq)) + '\n\n').encode()
        for q in self.queues.values():
            try: q.put_nowait(wire)
            except asyncio.QueueFull: pass
    def stall(self, h):
        while not h[1].full(): h[1].put_nowait(b'')
    def is_connected(self, h): return self.queues.get(h[0]) is h[1]
    def drain(self, h):
        while not h[1].empty(): h[1].get_nowait()
    async def consume(self, h, hit):
        q = h[1]
        while True:
            await q.get()
            hit()

SIDE_CLASSES = {'ours': Ours, 'original': Original, 'sse-starlette': SseStarlette, 'ideal': Ideal}

class Bench:
    def __init__(self, side):
        self.side = SIDE_CLASSES[side]()
        self.live, self.stalled, self.tasks, self.seq = [], [], [], 0
        self.count = self.target = 0
        self.done = None

    def hit(self):
        self.count += 1
        if self.count >= self.target: self.done.set()

    async def setup(self, n, k=0, park=True):
        "Connect `n` clients; `k` of them never read; the others wait on their queue when `park`, else nobody reads them."
        self.park = park
        for i in range(n):
            h = await self.side.add()
            if i < k: self.stalled.append(h); self.side.stall(h)
            else:
                self.live.append(h)
                if park: self.tasks.append(asyncio.create_task(self.side.consume(h, self.hit)))
        await asyncio.sleep(0)
        for _ in range(2): await self.one()  # warm-up
        gc.collect()
        return {'ok': True}

    async def one(self, register=False):
        "One broadcast: (seconds in the call, seconds until every live consumer has its bytes, seconds a register() launched with it took)."
        self.seq += 1
        self.count, self.target, self.done = 0, len(self.live), asyncio.Event()
        timing = {}
        async def call():
            t = perf_counter()
            await self.side.publish(self.seq)
            timing['call'] = perf_counter() - t
        async def reg():
            h = await self.side.add()
            timing['register'] = perf_counter() - t0
            return h
        t0 = perf_counter()
        task = asyncio.create_task(call())
        rtask = asyncio.create_task(reg()) if register else None
        await task
        if self.park:
            await asyncio.wait_for(self.done.wait(), 60)
            timing['deliver'] = perf_counter() - t0
        else:
            for _ in range(3): await asyncio.sleep(0)  # let broadcaster's listener fan out
            for h in self.live: self.side.drain(h)
        if rtask is not None: await self.side.remove(await rtask)
        return timing

    async def samples(self, reps, register=False):
        out = {}
        for _ in range(reps):
            if self.stalled:  # put back the stalled clients a previous broadcast dropped
                for i, h in enumerate(self.stalled):
                    if not self.side.is_connected(h): self.stalled[i] = h = await self.side.add()
                    self.side.stall(h)
            for k, v in (await self.one(register)).items(): out.setdefault(k, []).append(v)
        return out

    async def teardown(self):
        for t in self.tasks: t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for h in self.live + self.stalled:
            try: await self.side.remove(h)
            except Exception: pass
        if hasattr(self.side, 'stop'): await self.side.stop()
        return {'ok': True}

def compare(n=10_000, rounds=3, reps=3, sides=('ours', 'original', 'ideal')):
    "`python inproc.py --compare [N] [ROUNDS]`: the fan-out to N parked queues, `sides` side by side in alternating rounds; prints the medians and ratios."
    from run import Worker, interleaved, ensure_venv, fmt_t
    ensure_venv()
    workers = {s: Worker(s) for s in sides}
    try:
        idle = interleaved(workers, {'n': n, 'park': False}, rounds, reps)
        parked = interleaved(workers, {'n': n}, rounds, reps)
    finally:
        for w in workers.values(): w.close()
    row = {s: {'idle': median(idle[s].get('call', [])), 'call': median(parked[s].get('call', [])),
               'deliver': median(parked[s].get('deliver', [])), 'samples': len(parked[s].get('call', []))} for s in sides}
    for s, v in row.items():
        print(f"{s:9} call {fmt_t(v['idle']):>9} (nobody waiting)  {fmt_t(v['call']):>9} (parked)  call+receive {fmt_t(v['deliver']):>9}  ({v['samples']} samples)")
    for m in ('idle', 'call', 'deliver'):
        print(f"{m:8} original/ours {row['original'][m] / row['ours'][m]:6.1f}x   ours/ideal {row['ours'][m] / row['ideal'][m]:5.2f}x")
    for s in sides:  # the spread of the idle call: the machine is shared, so one median says little alone
        v = sorted(idle[s].get('call', []))
        if v: print(f"{s:9} idle call spread: min {fmt_t(v[0])}, p25 {fmt_t(v[len(v) // 4])}, p75 {fmt_t(v[3 * len(v) // 4])}, max {fmt_t(v[-1])} ({len(v)} samples)")
    per = [median(idle['original']['call'][i:i + reps]) / median(idle['ours']['call'][i:i + reps]) for i in range(0, len(idle['ours'].get('call', [])), reps)]
    if per: print(f"idle original/ours per round: min {min(per):.1f}x, median {median(per):.1f}x, max {max(per):.1f}x ({len(per)} rounds)")
    return row

def main():
    if sys.argv[1] == '--compare': return compare(*map(int, sys.argv[2:4]))
    out = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the protocol
    side = sys.argv[1]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    bench = None
    try:
        probe = SIDE_CLASSES[side]()
        send_json(out, {'ready': True, 'version': probe.version, 'where': probe.where, 'note': probe.note,
                        'python': sys.version.split()[0], 'executable': sys.executable})
    except Exception:
        send_json(out, {'error': traceback.format_exc()}); return
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd['op'] == 'quit': break
            if cmd['op'] == 'setup':
                bench = Bench(side)
                res = loop.run_until_complete(bench.setup(cmd['n'], cmd.get('k', 0), cmd.get('park', True)))
            elif cmd['op'] == 'sample': res = loop.run_until_complete(bench.samples(cmd['reps'], cmd.get('register', False)))
            elif cmd['op'] == 'teardown': res = loop.run_until_complete(bench.teardown()); bench = None
            else: res = {'error': f"unknown op {cmd['op']}"}
        except Exception: res = {'error': traceback.format_exc()}
        send_json(out, res)

if __name__ == '__main__': main()
