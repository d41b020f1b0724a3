"`history` is a view of the shared log, so `log_max_bytes` bounds the memory that large broadcasts leave behind (issue 18)."
import subprocess, sys, textwrap
from helpers import ROOT

SCRIPT = textwrap.dedent('''
    import asyncio, gc, sys
    from cjm_fasthtml_sse.core.broadcast import BroadcastManager
    def rss_mb():
        for line in open('/proc/self/status'):
            if line.startswith('VmRSS:'): return int(line.split()[1]) / 1024
    async def main(n, size, log_mb):
        manager = BroadcastManager(log_max_bytes=log_mb * 2**20)
        await manager.broadcast('warm', {'x': 'y'})
        gc.collect(); before = rss_mb()
        for i in range(n): await manager.broadcast('big', {'blob': chr(97 + i % 26) * size})
        gc.collect()
        print(rss_mb() - before, len(manager.history), manager.get_stats()['log_bytes'], manager.history[-1].data['blob'][:1])
    asyncio.run(main(*map(int, sys.argv[1:])))
''')

def test_large_broadcasts_leave_at_most_about_log_max_bytes_behind():
    "200 broadcasts of 900 KB (each within max_message_bytes) with a 16 MiB log: growth stays near the log's bound, not 200 messages' worth."
    n, size, log_mb = 200, 900_000, 16
    r = subprocess.run([sys.executable, '-c', SCRIPT, str(n), str(size), str(log_mb)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={'PYTHONPATH': str(ROOT), 'PATH': '/usr/bin:/bin'})
    assert r.returncode == 0, r.stderr
    grown, held, log_bytes, newest = r.stdout.split()
    grown, held, log_bytes = float(grown), int(held), int(log_bytes)
    # the log holds each message twice over (the payload and its encoding); 200 messages' worth would be ~350 MB
    assert grown < 3 * log_mb + 24, f"RSS grew {grown:.0f} MB after gc for a {log_mb} MiB log: something other than the log keeps the messages"
    assert log_bytes <= log_mb * 2**20 + 2 * size, f"the log holds {log_bytes} bytes, well over log_max_bytes"
    assert 0 < held < n and newest == chr(97 + (n - 1) % 26), f"history lists {held} messages, newest {newest!r}: it must list what the log holds, newest last"
