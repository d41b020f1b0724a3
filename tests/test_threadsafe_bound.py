"`broadcast_threadsafe` pushes back: a producer thread waits while `threadsafe_limit` calls are pending, so memory stays bounded (issue 18)."
import subprocess, sys, textwrap
from helpers import ROOT

SCRIPT = textwrap.dedent('''
    import asyncio, gc, sys, threading
    from cjm_fasthtml_sse.core.broadcast import BroadcastManager
    def rss_mb():
        for line in open('/proc/self/status'):
            if line.startswith('VmRSS:'): return int(line.split()[1]) / 1024
    async def main(threads, calls):
        manager = BroadcastManager()  # the default limit
        ran, lock, submitted, most, peak = [], threading.Lock(), [0], [0], [0.0]
        manager.on_broadcast(lambda m: ran.append(1))
        await manager.start()
        await manager.broadcast('warm', {})
        gc.collect(); before = rss_mb()
        def produce(t):
            for i in range(calls):
                manager.broadcast_threadsafe('row', {'thread': t, 'i': i, 'pad': 'x' * 200})
                with lock:
                    submitted[0] += 1
                    most[0] = max(most[0], submitted[0] - len(ran))  # submitted, and not yet run
                if i % 1000 == 0: peak[0] = max(peak[0], rss_mb())
        await asyncio.gather(*[asyncio.to_thread(produce, t) for t in range(threads)])
        while len(ran) < 1 + threads * calls: await asyncio.sleep(0.01)
        print(most[0], peak[0] - before, len(ran) - 1)
    asyncio.run(main(*map(int, sys.argv[1:])))
''')

def test_two_fast_producer_threads_are_held_to_the_limit():
    "Two threads making 30,000 calls each: never more than the default 1,000 pending (plus the calls in flight), and RSS stays flat."
    threads, calls = 2, 30_000
    r = subprocess.run([sys.executable, '-c', SCRIPT, str(threads), str(calls)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                       env={'PYTHONPATH': str(ROOT), 'PATH': '/usr/bin:/bin'})
    assert r.returncode == 0, r.stderr
    most, grown, delivered = r.stdout.split()
    most, grown, delivered = int(most), float(grown), int(delivered)
    assert delivered == threads * calls, f"{delivered} of {threads * calls} broadcasts ran"
    # each thread may have one call between the check and its count: the limit plus one per thread
    assert most <= 1000 + threads, f"{most} broadcast_threadsafe calls were pending at once: nothing held the producers back"
    assert grown < 60, f"RSS grew {grown:.0f} MB while the producers ran: the pending calls are not bounded"
