"""RSS per connected SSE client: the library's route in a user's `fast_app()` app, against "direct" (`app_direct.py`, the
floor), in one run, sides alternating, the median of the repetitions reported.

Run from the repository root: `PYTHONPATH=$PWD python benchmarks/route_rss.py [--n 1000] [--reps 3] [--lib NAME=PATH ...] [--trace]`.
Each side is a uvicorn process (1 worker, httptools, uvloop). RSS per client: the server's RSS (from /proc) with `n` clients
connected and each having read 5 broadcasts, minus its RSS after a warm-up before any client connected, divided by `n`.
`--lib NAME=PATH` adds a side that serves this file's `app` with the library found at PATH (say, an export of main), so a
before and an after are measured in the same run. `--trace` runs each library side once more with `tracemalloc` in the server
and prints, per client, the Python allocations still held with the streams open, by file."""
import asyncio, json, os, resource, statistics, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# ---- the app a user writes (served by the library sides as `route_rss:app`) ----
if __name__ != '__main__':
    from fasthtml.common import fast_app
    from starlette.responses import JSONResponse
    from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
    import memtrace  # with BENCH_TRACE=1 it starts tracemalloc here: after the imports (tracing them is slow), before the app is built
    app, rt = fast_app(secret_key='benchmarks')
    manager = BroadcastManager()
    setup_broadcast_routes(app, manager, max_streams_per_client=None)  # every load client comes from 127.0.0.1

    @rt('/publish', methods=['post'])
    async def publish(seq:int): return JSONResponse({'sent': await manager.broadcast('tick', {'seq': seq, 'text': 'x' * 64})})

    @rt('/count')
    async def count(): return JSONResponse({'n': manager.get_connection_count()})

    app.router.add_route('/trace', memtrace.held, methods=['GET'])  # with BENCH_TRACE=1: what each stream holds, by file

# ---- the benchmark ----
def rss_kb(pid):
    with open(f'/proc/{pid}/status') as f: return next(int(line.split()[1]) for line in f if line.startswith('VmRSS:'))

def start(side, port, lib=None, trace=False):
    "Start one side's server on `port`; `lib`: where the library side imports cjm_fasthtml_sse from."
    if side == 'direct': target, path = 'app_direct:app', [str(HERE)]
    else: target, path = 'route_rss:app', [str(HERE), lib or str(ROOT)]
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(path), **({'BENCH_TRACE': '1'} if trace else {})}
    return subprocess.Popen([sys.executable, '-m', 'uvicorn', target, '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning',
                             '--http', 'httptools', '--loop', 'uvloop', '--workers', '1'], cwd=HERE, env=env)

async def measure(side, proc, url, n, trace=False):
    "RSS KB per client of the server `proc` at `url` with `n` clients (and, with `trace`, what tracemalloc saw held per client)."
    import httpx
    from cjm_fasthtml_sse.testing import SSEClient
    stream, count = ('/sse', '/count') if side == 'direct' else ('/sse/broadcast', '/count')
    async with httpx.AsyncClient(timeout=300) as http:
        for _ in range(50):
            try: await http.get(url + count); break
            except httpx.TransportError: await asyncio.sleep(0.2)
        for seq in range(3): await http.post(f'{url}/publish?seq={seq}')
        warm = [await SSEClient.connect(url + stream) for _ in range(20)]  # warm up the route's code paths and caches
        for t in warm: await t.close()
        await asyncio.sleep(0.5)
        if trace: await http.get(f'{url}/trace?mark=before')
        r0 = rss_kb(proc.pid)
        tabs = [await SSEClient.connect(url + stream) for _ in range(n)]
        for _ in range(600):
            if (await http.get(url + count)).json()['n'] >= n: break
            await asyncio.sleep(0.1)
        for seq in range(5): await http.post(f'{url}/publish?seq={10 + seq}')
        got = await asyncio.gather(*(t.events(5, timeout=60) for t in tabs))
        assert all(len(g) == 5 for g in got), 'a client missed a broadcast'
        r1 = rss_kb(proc.pid)
        held = (await http.get(f'{url}/trace?mark=after&n={n}')).json() if trace else None
        for t in tabs: await t.close()
    return (r1 - r0) / n, held

def run_side(side, n, lib=None, trace=False):
    import socket
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    proc = start(side, port, lib, trace)
    try: return asyncio.run(measure(side, proc, f'http://127.0.0.1:{port}', n, trace))
    finally:
        proc.terminate()
        try: proc.wait(10)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait(10)

def main():
    import argparse
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n', type=int, default=1000)
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('--lib', action='append', default=[], help='NAME=PATH: another library side, cjm_fasthtml_sse imported from PATH')
    p.add_argument('--trace', action='store_true')
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE); resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sides = [('ours', None)] + [tuple(x.split('=', 1)) for x in a.lib] + [('direct', None)]
    res = {name: [] for name, _ in sides}
    for rep in range(a.reps):
        for name, lib in (sides if rep % 2 == 0 else sides[::-1]):
            kb, _ = run_side('direct' if name == 'direct' else 'lib', a.n, lib)
            res[name].append(kb); print(f'rep {rep + 1} {name}: {kb:.2f} KB/client', flush=True)
    floor = statistics.median(res['direct'])
    print(f'\nRSS per client, C={a.n}, median of {a.reps} (runs):')
    for name, xs in res.items():
        print(f'  {name:>8}: {statistics.median(xs):6.2f} KB  ({", ".join(f"{x:.2f}" for x in xs)})  {statistics.median(xs) / floor:.2f}x direct')
    if a.trace:
        for name, lib in sides:
            if name == 'direct': continue
            _, held = run_side('lib', a.n, lib, trace=True)
            print(f'\ntracemalloc, {name}: {held["total_kb"]} KB per client held by Python allocations; by file:')
            for f, kb in held['by_file']: print(f'  {kb:6.2f} KB  {f}')

if __name__ == '__main__': main()
