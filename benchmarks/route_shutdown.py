# Run from the repository root: PYTHONPATH=$PWD python benchmarks/route_shutdown.py [ROUNDS]
"""SIGTERM to a uvicorn worker serving the built-in route (tests/engine_app.py) with 200 reading streams, 5 of them with full
sockets at that moment (they read only after the signal), and 5 clients that stopped reading: the time to exit, and how
many of the 200 got their clean end. One JSON line per round, then one with the medians (issue 18: exit within 2 s)."""
import asyncio, json, signal, statistics, sys, threading, time
sys.path.insert(0, 'tests')
import httpx
from test_engine import serve, until, mute_socket
from cjm_fasthtml_sse.testing import SSEClient

async def go(url, port, proc):
    async with httpx.AsyncClient(timeout=60) as http:
        readers = [await SSEClient.connect(f'{url}/sse/broadcast') for _ in range(195)]
        behind = [await SSEClient.connect(f'{url}/chan/broadcast?channel=big') for _ in range(5)]
        stalled = [mute_socket(port, '/chan/broadcast?channel=big') for _ in range(5)]
        await until(http, url, lambda s: s['connections'] == 205, 30)
        reading = [asyncio.create_task(c.read_until_end(60)) for c in readers]
        await http.post(f'{url}/_test/burst', json={'n': 5})
        await http.post(f'{url}/_test/burst', json={'n': 8, 'pad': 900_000, 'start': 5, 'channel': 'big'})
        paused = (await until(http, url, lambda s: s['paused'] >= 10, 20))['paused']
    exit_at = []
    waiter = threading.Thread(target=lambda: (proc.wait(30), exit_at.append(time.monotonic())), daemon=True)
    waiter.start()
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    reading += [asyncio.create_task(c.read_until_end(60)) for c in behind]
    await asyncio.gather(*reading, return_exceptions=True)
    await asyncio.to_thread(waiter.join, 35)
    for c in readers + behind: await c.close()
    for s in stalled: s.close()
    return {'exit_s': exit_at[0] - t0 if exit_at else None, 'clean_ends': sum(c.complete for c in readers + behind),
            'clean_ends_of_full': sum(c.complete for c in behind), 'paused_at_sigterm': paused}

rounds, out = int(sys.argv[1]) if len(sys.argv) > 1 else 3, []
for _ in range(rounds):
    with serve() as url:
        out.append(asyncio.run(go(url, int(url.rsplit(':', 1)[1]), serve.proc)))
    print(json.dumps(out[-1]), flush=True)
exits = [r['exit_s'] for r in out if r['exit_s'] is not None]
print(json.dumps({'rounds': rounds, 'exit_s_median': statistics.median(exits) if exits else None, 'exit_s_each': [r['exit_s'] for r in out],
                  'clean_ends_each': [r['clean_ends'] for r in out], 'exited_each': [r['exit_s'] is not None for r in out]}), flush=True)
