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

def test_start_teaches_the_loop_and_calls_left_on_a_dead_loop_stop_counting():
    "After `await manager.start()` alone (what the app's startup runs), a thread may broadcast; calls left pending on an earlier loop don't hold the limit."
    import asyncio, warnings
    from cjm_fasthtml_sse.core.broadcast import BroadcastManager
    manager = BroadcastManager(threadsafe_limit=3)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(manager.broadcast('warm', {}))  # the manager learns this loop, which then stops running
    left = [manager.broadcast_threadsafe('left', {}) for _ in range(3)]  # submitted to a loop that will never run them
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)  # the coroutines the closed loop never ran
        loop.close()
    async def second_run():
        await manager.start()
        futures = await asyncio.to_thread(lambda: [manager.broadcast_threadsafe('row', {'i': i}, timeout=5) for i in range(6)])
        return [await asyncio.wrap_future(f) for f in futures], manager.threadsafe_pending
    reached, pending = asyncio.run(second_run())
    assert not any(f.done() for f in left), 'the first loop was not supposed to run them'
    assert (reached, pending) == ([0] * 6, 0)
