"""Benchmarks of cjm-fasthtml-sse against the original 0.0.12, sse-starlette + broadcaster, and the ideal code.

    python benchmarks/run.py            # the full suite (about 12 minutes); writes benchmarks/RESULTS.md
    python benchmarks/run.py --quick    # a smoke run (about 1 minute); writes benchmarks/.results-quick.md

Every measurement runs all sides in the same run, in alternating rounds, and reports medians and ratios.
The original and sse-starlette are installed by this script into `benchmarks/.venv-anchors` (same interpreter,
same uvicorn/starlette/fasthtml versions as this environment) and always run in subprocesses. No timing is asserted:
the exit status is non-zero only when a benchmark could not run."""
import argparse, contextlib, datetime, json, os, platform, resource, shutil, signal, socket, subprocess, sys, tempfile, time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from common import SIDES, median  # noqa: E402

VENV = HERE / '.venv-anchors'
ANCHOR_PINS = ['cjm-fasthtml-sse==0.0.12', 'sse-starlette==3.7.0', 'broadcaster==0.3.1']
SHARED = ['python-fasthtml', 'starlette', 'uvicorn', 'uvloop', 'httptools']  # pinned to this environment's versions
STREAM_PATH = {'ours': '/sse/broadcast', 'ours+gc': '/sse/broadcast', 'original': '/sse/broadcast', 'sse-starlette': '/sse', 'ideal': '/sse',
               'direct': '/sse', 'engine': '/sse'}
APP = {'ours': 'app_cjm', 'ours+gc': 'app_cjm', 'original': 'app_cjm', 'sse-starlette': 'app_starlette', 'ideal': 'app_ideal',
       'direct': 'app_direct', 'engine': 'app_engine'}
# The engine part (issue 13): the new delivery engine as a raw ASGI app, next to the "direct" reference, the queue-per-client ideal and ours
ENGINE_SIDES = ('direct', 'engine', 'ideal', 'ours')
# HTTP-only extra side: ours with the collector tuned in the app (see README, "The garbage collector")
SIDE_ENV = {'ours+gc': {'BENCH_EXPECT': 'ours', 'BENCH_GC': 'threshold'}}
GC_SIDE = 'ours+gc'

failures = []

def log(*a): print(*a, flush=True)

def fail(what, detail=''):
    failures.append(what)
    log(f'!! {what}' + (f'\n{detail}' if detail else ''))

# --- environments -----------------------------------------------------------------

def pins():
    out = list(ANCHOR_PINS)
    for name in SHARED:
        try: out.append(f'{name}=={version(name)}')
        except Exception: pass
    return out

def venv_python(): return VENV / 'bin' / 'python'

def ensure_venv():
    "Create `.venv-anchors` with the anchors and this environment's server stack, unless it is already there as wanted."
    want = {'python': sys.version, 'pins': pins()}
    stamp = VENV / 'bench-stamp.json'
    if stamp.exists() and venv_python().exists():
        with contextlib.suppress(Exception):
            if json.loads(stamp.read_text()) == want: return
    log(f'creating {VENV.relative_to(ROOT)} with {" ".join(want["pins"])}')
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, '-m', 'venv', str(VENV)], check=True, timeout=300)
    spec = [p.replace('uvicorn==', 'uvicorn[standard]==') for p in want['pins']]
    pip = subprocess.run([str(venv_python()), '-m', 'pip', 'install', '-q', '--disable-pip-version-check', *spec],
                         timeout=600, capture_output=True, text=True)
    if pip.returncode: raise RuntimeError(f'pip install failed:\n{pip.stdout[-2000:]}\n{pip.stderr[-4000:]}')
    stamp.write_text(json.dumps(want))

def side_cmd(side):
    "The interpreter and environment a side runs with: ours and the ideal here, the anchors in their venv."
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV')}
    env['PYTHONUNBUFFERED'] = '1'
    if side in ('ideal', 'direct', 'engine') or side.startswith('ours'):
        env['PYTHONPATH'] = str(ROOT)  # ours is the working tree, installed or not
        return sys.executable, env
    return str(venv_python()), env

def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError): resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]

def _die_with_parent():
    "In a child, before exec: get SIGKILL if run.py dies, so that no server outlives a crashed run (Linux)."
    with contextlib.suppress(Exception):
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

def stop(proc, grace=5):
    "End a process we started: SIGTERM, then SIGKILL after `grace` seconds."
    if proc is None or proc.poll() is not None: return
    with contextlib.suppress(ProcessLookupError): proc.terminate()
    try: proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError): proc.kill()
        proc.wait(10)

# --- in-process workers --------------------------------------------------------

class Worker:
    "One `inproc.py` process per side, kept for the whole in-process part."
    def __init__(self, side):
        python, env = side_cmd(side)
        self.side = side
        self.proc = subprocess.Popen([python, str(HERE / 'inproc.py'), side], cwd=HERE, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, preexec_fn=_die_with_parent)
        self.info = self.read(120)

    def read(self, timeout):
        import selectors
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout): raise TimeoutError(f'{self.side} worker gave no answer within {timeout} s')
        line = self.proc.stdout.readline()
        if not line: raise RuntimeError(f'{self.side} worker exited with {self.proc.wait(5)}')
        res = json.loads(line)
        if 'error' in res: raise RuntimeError(f'{self.side} worker: {res["error"]}')
        return res

    def __call__(self, timeout=300, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + '\n')
        self.proc.stdin.flush()
        return self.read(timeout)

    def close(self):
        with contextlib.suppress(Exception):
            self.proc.stdin.write('{"op": "quit"}\n'); self.proc.stdin.flush()
            self.proc.wait(10)
        stop(self.proc)

def rounds_order(r, sides=SIDES):
    "Side order of round `r`: the sides, rotated each round so that none is always first."
    sides = tuple(sides)
    return sides[r % len(sides):] + sides[:r % len(sides)]

def interleaved(workers, setup, rounds, reps, register=False, timeout=300):
    "Set every side up, run `rounds` rounds of `reps` samples per side in alternating order, tear down; samples by side."
    out = {s: {} for s in workers}
    live = {}
    for side, w in workers.items():
        try: w(op='setup', timeout=timeout, **setup); live[side] = w
        except Exception as e: fail(f'in-process {setup} setup, {side}', str(e))
    for r in range(rounds):
        for side in rounds_order(r):
            if side not in live: continue
            try:
                for k, v in live[side](op='sample', reps=reps, register=register, timeout=timeout).items():
                    out[side].setdefault(k, []).extend(v)
            except Exception as e:
                fail(f'in-process {setup}, {side}', str(e)); live.pop(side)
    for side, w in live.items():
        try: w(op='teardown', timeout=timeout)
        except Exception as e: fail(f'in-process {setup} teardown, {side}', str(e))
    return out

def fmt_t(s):
    if s != s: return 'n/a'
    if s >= 1: return f'{s:.3g} s'
    return f'{s * 1e3:.3g} ms' if s >= 1e-3 else f'{s * 1e6:.3g} µs'

def fmt_x(a, b):
    return 'n/a' if not (a == a and b == b and b > 0) else f'{a / b:.2f}×'

def inprocess(quick, report):
    workers = {}
    try:
        for side in SIDES:
            try: workers[side] = Worker(side)
            except Exception as e: fail(f'in-process worker {side}', str(e))
        report['versions'] = {s: w.info for s, w in workers.items()}
        for s, w in workers.items():
            if w.info.get('note'): log(f'   note ({s}): {w.info["note"]}')
        # 1. fan-out
        plan = [(100, 3, 20), (1000, 3, 6), (10000, 2, 2)] if quick else [(100, 7, 30), (1000, 7, 10), (10000, 5, 3)]
        report['fanout'] = {}
        for n, rounds, reps in plan:
            log(f'-- fan-out, N={n}: {rounds} rounds × {reps} broadcasts per side, first with no consumer waiting, then with all parked')
            idle = interleaved(workers, {'n': n, 'park': False}, rounds, reps)
            res = interleaved(workers, {'n': n}, rounds, reps)
            row = report['fanout'][n] = {s: {'idle': median(idle[s].get('call', [])), 'call': median(v.get('call', [])),
                                             'deliver': median(v.get('deliver', [])), 'samples': len(v.get('call', []))} for s, v in res.items()}
            for s, v in row.items():
                log(f'   {s:14} call {fmt_t(v["idle"]):>10} (nobody waiting), {fmt_t(v["call"]):>10} (consumers parked)'
                    f'  call+receive {fmt_t(v["deliver"]):>10}  ({v["samples"]} samples)')
        # 2. stalled clients
        ks = (0, 1, 10) if quick else (0, 1, 10, 100)
        report['stall'] = {}
        for k in ks:
            rounds, reps = (1 if quick else 3 if k >= 10 else 5), (1 if k >= 10 else 3)
            log(f'-- stalled clients: N=1000, K={k} never read: {rounds} rounds × {reps}')
            res = interleaved(workers, {'n': 1000, 'k': k}, rounds, reps, register=True, timeout=60 + 0.2 * k * reps)
            row = report['stall'][k] = {s: {m: median(v.get(m, [])) for m in ('call', 'deliver', 'register')} for s, v in res.items()}
            for s, v in row.items():
                log(f'   {s:14} call {fmt_t(v["call"]):>10}  register() during it {fmt_t(v["register"]):>10}  all live received {fmt_t(v["deliver"]):>10}')
    finally:
        for w in workers.values(): w.close()

# --- over HTTP ---------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

@contextlib.contextmanager
def _listening(cmd, name, port, logdir, timeout, **popen):
    "Run `cmd` until the block ends, once it listens on `port`; its output goes to a log that is shown if anything fails."
    errlog = open(logdir / f'{name}-{port}.log', 'w+')
    proc = subprocess.Popen(cmd, stdout=errlog, stderr=errlog, preexec_fn=_die_with_parent, **popen)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None: raise RuntimeError(f'{name} exited with {proc.returncode}')
            with contextlib.suppress(OSError), socket.create_connection(('127.0.0.1', port), timeout=0.2): break
            if time.monotonic() > deadline: raise TimeoutError(f'{name} did not listen within {timeout} s')
            time.sleep(0.05)
        yield proc
    except Exception:
        errlog.flush(); errlog.seek(0)
        log(errlog.read()[-3000:])
        raise
    finally:
        stop(proc)
        errlog.close()

@contextlib.contextmanager
def server(side, logdir, extra_env=None):
    "uvicorn, one worker, on 127.0.0.1, serving `side`'s app; yields (process, port)."
    python, env = side_cmd(side)
    env['BENCH_EXPECT'] = side
    env.update(SIDE_ENV.get(side, {}), **(extra_env or {}))
    port = free_port()
    cmd = [python, '-m', 'uvicorn', f'{APP[side]}:app', '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning', '--no-access-log']
    with _listening(cmd, side, port, logdir, 30, cwd=HERE, env=env) as proc: yield proc, port

def load(cfg, hold=False):
    "Start the load client; returns the process (JSON lines on its stdout)."
    return subprocess.Popen([sys.executable, str(HERE / 'load.py'), json.dumps(cfg)], cwd=HERE, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, preexec_fn=_die_with_parent)

def read_json(proc, timeout):
    import selectors
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout): raise TimeoutError(f'load client gave no answer within {timeout} s')
    line = proc.stdout.readline()
    if not line: raise RuntimeError(f'load client exited with {proc.wait(10)}')
    return json.loads(line)

def http_run(side, clients, rate, messages, logdir, **extra):
    "One load-client run against a fresh server of `side`; `extra` goes into the load client's config (`mode`, `ping`)."
    with server(side, logdir) as (srv, port):
        cfg = {'port': port, 'path': STREAM_PATH[side], 'clients': clients, 'rate': rate, 'messages': messages,
               'server_pid': srv.pid, 'mode': 'deliver', 'gc': APP[side] == 'app_cjm', **extra}
        timeout = 120 + clients / 100 + messages / rate
        client = load({**cfg, 'timeout': timeout})
        try: return read_json(client, timeout + 10)
        finally: stop(client)

def http(quick, report, logdir):
    plan = [(100, 30, 30, 1)] if quick else [(100, 10, 200, 1), (100, 30, 200, 2), (1000, 10, 200, 1), (1000, 30, 200, 2)]
    if not quick: plan.append((10000, 2, 40, 1))
    report['http'] = {}
    for clients, rate, messages, reps in plan:
        sides = SIDES + (GC_SIDE,) if quick or clients == 1000 else SIDES  # ours+gc where the collector shows: C=1,000
        log(f'-- over HTTP: C={clients}, {messages} messages at {rate}/s, {reps} round(s)')
        runs = {s: [] for s in sides}
        for r in range(reps):
            for side in rounds_order(r, sides):
                try: runs[side].append(http_run(side, clients, rate, messages, logdir))
                except Exception as e: fail(f'HTTP C={clients} {rate}/s, {side}', str(e))
        row = report['http'][f'{clients}@{rate}'] = {}
        for side, rs in runs.items():
            if not rs: continue
            keys = [k for k, v in rs[0].items() if isinstance(v, (int, float))]
            v = row[side] = {k: median([r[k] for r in rs]) for k in keys}
            log(f'   {side:14} delivered {v["delivered"]:.0f}/{v["expected"]:.0f}  p50 {v["lat_p50_ms"]:.1f} ms  p99 {v["lat_p99_ms"]:.1f} ms'
                f'  CPU {v["cpu_us_per_delivery"]:.1f} µs/delivery  broadcast() {v["bcast_p50_ms"]:.3f} ms (max {v["bcast_max_ms"]:.1f})'
                f'  RSS {v["rss_kb_per_client"]:.1f} KB/client  (CPU use: server {v["server_cpu_pct"]:.0f}%, client {v["client_cpu_pct"]:.0f}%)'
                + (f'  gc: {v["gc_full"]:.0f} full (max {v["gc_full_max_ms"]:.0f} ms), {v["gc_ms_total"]:.0f} ms in all' if 'gc_full' in v else ''))

def engine_part(quick, report, logdir):
    "The engine against the direct reference (and the ideal and ours), over HTTP, in alternating rounds."
    plan = [(100, 30, 30, 1)] if quick else [(1000, 10, 200, 2), (1000, 30, 200, 1), (10000, 2, 40, 1)]
    report['engine'] = {}
    for clients, rate, messages, reps in plan:
        log(f'-- engine vs direct: C={clients}, {messages} messages at {rate}/s, {reps} round(s)')
        sides = ENGINE_SIDES[:2] if quick or clients > 1000 else ENGINE_SIDES  # --quick, and C=10,000: direct and engine only
        runs = {s: [] for s in sides}
        for r in range(reps):
            for side in rounds_order(r, sides):
                try: runs[side].append(http_run(side, clients, rate, messages, logdir))
                except Exception as e: fail(f'engine part C={clients} {rate}/s, {side}', str(e))
        row = report['engine'][f'{clients}@{rate}'] = {}
        for side, rs in runs.items():
            if not rs: continue
            keys = [k for k, v in rs[0].items() if isinstance(v, (int, float))]
            v = row[side] = {k: median([r[k] for r in rs]) for k in keys}
            log(f'   {side:8} delivered {v["delivered"]:.0f}/{v["expected"]:.0f}  p50 {v["lat_p50_ms"]:.1f} ms  p99 {v["lat_p99_ms"]:.1f} ms'
                f'  CPU {v["cpu_us_per_delivery"]:.1f} µs/delivery  RSS {v["rss_kb_per_client"]:.1f} KB/client  publish {v["bcast_p50_ms"]:.3f} ms')

def engine_report(report):
    "Section 7: the engine next to the direct reference."
    if not report.get('engine'): return []
    L = ['## 7. The engine (issue 13): one shared log, direct writes', '',
         'Raw ASGI apps under uvicorn (1 worker, uvloop + httptools), measured as in 3–4. "direct": the publisher awaits each client\'s',
         '`send` in turn (no queue, no task). "engine": `core.fanout` (`FanOut.publish` writes straight to every live client through',
         'uvicorn\'s own `send`, stepped without a task). "ideal": a queue and a task per client. "ours": the library as it is today.', '',
         '| C | rate | side | delivered | p50 | p99 | CPU µs/delivery | RSS KB/client | publish p50 / max | engine / direct (CPU, RSS, p99) |',
         '|---|---|---|---|---|---|---|---|---|---|']
    for key, row in report['engine'].items():
        c, rate = key.split('@')
        d = row.get('direct', {})
        for s, v in row.items():
            ratio = ''
            if s == 'engine' and d:
                ratio = ' / '.join(fmt_x(v[k], d.get(k, nan)) for k in ('cpu_us_per_delivery', 'rss_kb_per_client', 'lat_p99_ms'))
            L.append(f'| {int(c):,} | {rate}/s | {s} | {v["delivered"]:,.0f}/{v["expected"]:,.0f} | {v["lat_p50_ms"]:.1f} ms | {v["lat_p99_ms"]:.1f} ms |'
                     f' {v["cpu_us_per_delivery"]:.1f} | {v["rss_kb_per_client"]:.1f} | {v["bcast_p50_ms"]:.3f} / {v["bcast_max_ms"]:.1f} ms | {ratio} |')
    return L + ['']

# --- the loop during a large fan-out, and bursts (issue 21) ------------------------------------

LOOP_SIDES = ('ours', 'direct', 'ideal')
PING_RATE = 20

def _medians(rs):
    "Median of every numeric field over the runs `rs`."
    keys = [k for k, v in rs[0].items() if isinstance(v, (int, float))]
    return {k: median([r[k] for r in rs]) for k in keys}

def loop_part(quick, report, logdir):
    "p99 of `GET /ping` at 20/s on the same worker while C clients receive broadcasts at 2/s: ours, direct and the ideal, alternating."
    clients, rate, messages, reps = (100, 2, 4, 1) if quick else (10_000, 2, 30, 3)
    sides = ('ours',) if quick else LOOP_SIDES
    log(f'-- the loop during a fan-out: GET /ping at {PING_RATE}/s while C={clients:,} receive {messages} broadcasts at {rate}/s, {reps} round(s)')
    runs = {s: [] for s in sides}
    for r in range(reps):
        for side in rounds_order(r, sides):
            try: runs[side].append(http_run(side, clients, rate, messages, logdir, ping=PING_RATE))
            except Exception as e: fail(f'loop part C={clients}, {side}', str(e))
    row = report['loop'] = {'clients': clients, 'rate': rate, 'messages': messages, 'reps': reps}
    for side, rs in runs.items():
        if not rs: continue
        v = row[side] = {**_medians(rs), 'ping_p99_each': [r['ping_p99_ms'] for r in rs]}
        log(f'   {side:8} GET /ping p50 {v["ping_p50_ms"]:.1f} ms  p99 {v["ping_p99_ms"]:.1f} ms (runs: {", ".join(f"{x:.1f}" for x in v["ping_p99_each"])})'
            f'  max {v["ping_max_ms"]:.1f} ms  ({v["pings"]:.0f} pings)  publish p50 {v["bcast_p50_ms"]:.1f} ms  delivered {v["delivered"]:,.0f}/{v["expected"]:,.0f}'
            f'  p99 delivery {v["lat_p99_ms"]:.1f} ms')

def burst_part(quick, report, logdir):
    "Server CPU per delivered event: a tight loop of broadcasts to C clients, next to a steady rate, alternating (ours and direct)."
    clients, n, rate, steady, reps = (50, 100, 10, 10, 1) if quick else (200, 1000, 10, 100, 3)
    sides = ('ours',) if quick else ('ours', 'direct')
    log(f'-- bursts: {n:,} broadcasts in a tight loop to C={clients}, next to {steady} at {rate}/s, {reps} round(s)')
    runs = {(s, m): [] for s in sides for m in ('steady', 'burst')}
    for r in range(reps):
        for side in rounds_order(r, sides):
            for mode in (('steady', 'burst') if r % 2 == 0 else ('burst', 'steady')):
                try: runs[side, mode].append(http_run(side, clients, rate, steady, logdir) if mode == 'steady' else
                                             http_run(side, clients, 1, n, logdir, mode='burst'))
                except Exception as e: fail(f'burst part C={clients}, {side} {mode}', str(e))
    row = report['burst'] = {'clients': clients, 'n': n, 'rate': rate, 'steady': steady, 'reps': reps}
    for (side, mode), rs in runs.items():
        if not rs: continue
        v = row.setdefault(side, {})[mode] = {**_medians(rs), 'cpu_each': [r['cpu_us_per_delivery'] for r in rs]}
        log(f'   {side:8} {mode:7} CPU {v["cpu_us_per_delivery"]:.2f} µs per delivered event (runs: {", ".join(f"{x:.2f}" for x in v["cpu_each"])})'
            f'  delivered {v["delivered"]:,.0f}/{v["expected"]:,.0f}  p99 {v["lat_p99_ms"]:.1f} ms' + (f'  the loop of broadcasts {v["burst_call_ms"]:.0f} ms' if 'burst_call_ms' in v else ''))

def stop_part(quick, report, logdir):
    "SIGTERM with 200 reading streams (5 of them with full sockets) and 5 stalled clients: time to exit, clean ends (issue 18). Not in --quick."
    if quick: log('-- shutdown with stalled clients: skipped in --quick'); return
    log('-- shutdown with stalled clients: 200 reading streams (5 with full sockets) + 5 that stopped reading, SIGTERM, 3 rounds')
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    try:
        p = subprocess.run([sys.executable, str(HERE / 'route_shutdown.py'), '3'], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        rows = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{')]
        if p.returncode or not rows: raise RuntimeError(f'route_shutdown.py exited with {p.returncode}: {p.stderr[-2000:]}')
    except Exception as e: fail('shutdown with stalled clients', str(e)); return
    v = report['stop'] = rows[-1]
    log(f'   ours     exit after SIGTERM: median {v["exit_s_median"]:.2f} s (each: {v["exit_s_each"]}); clean ends of 200: {v["clean_ends_each"]}')

def issue21_report(report):
    "Sections 8 and 9: the loop hold and bursts."
    L = []
    lp = report.get('loop')
    if lp:
        L += [f'## 8. The loop during a large fan-out (issue 21)', '',
              f'One uvicorn worker; C={lp["clients"]:,} clients receive {lp["messages"]} broadcasts at {lp["rate"]}/s while `ping.py`, a process of its own,',
              f'makes `GET /ping` at {PING_RATE}/s on one keep-alive connection to the same worker (latency counted from when each ping was due).',
              '"ours": the `fast_app()` app with `setup_broadcast_routes` and a `/ping` route (`app_cjm.py`); "direct": raw ASGI, the publisher',
              'awaits each client\'s `send`; "ideal": raw ASGI, a queue and a task per client. '
              f'{lp["reps"]} alternating rounds, medians.', '',
              '| side | GET /ping p50 | p99 (median) | p99 of each run | max | publish p50 | delivered | delivery p99 | ping p99 / direct |', '|---|---|---|---|---|---|---|---|---|']
        d = lp.get('direct', {})
        for s in LOOP_SIDES:
            v = lp.get(s)
            if not v: continue
            L.append(f'| {s} | {v["ping_p50_ms"]:.1f} ms | {v["ping_p99_ms"]:.1f} ms | {", ".join(f"{x:.1f}" for x in v["ping_p99_each"])} ms | {v["ping_max_ms"]:.1f} ms |'
                     f' {v["bcast_p50_ms"]:.1f} ms | {v["delivered"]:,.0f}/{v["expected"]:,.0f} | {v["lat_p99_ms"]:.1f} ms | {fmt_x(v["ping_p99_ms"], d.get("ping_p99_ms", nan))} |')
        L.append('')
    bu = report.get('burst')
    if bu:
        L += [f'## 9. Bursts (issue 21)', '',
              f'Server CPU per delivered event with C={bu["clients"]} clients: `POST /burst` broadcasts {bu["n"]:,} messages in a tight loop',
              f'(`for i in range(n): await manager.broadcast(...)`), against {bu["steady"]} messages at {bu["rate"]}/s ("steady") on a fresh server.',
              f'{bu["reps"]} alternating rounds, medians.', '',
              '| side | steady: CPU µs/event | burst: CPU µs/event | burst / steady | burst: delivered | burst: the loop of broadcasts | burst: delivery p99 |', '|---|---|---|---|---|---|---|']
        for s in ('ours', 'direct'):
            v = bu.get(s)
            if not v or 'steady' not in v or 'burst' not in v: continue
            st, b = v['steady'], v['burst']
            L.append(f'| {s} | {st["cpu_us_per_delivery"]:.2f} | {b["cpu_us_per_delivery"]:.2f} | {fmt_x(b["cpu_us_per_delivery"], st["cpu_us_per_delivery"])} |'
                     f' {b["delivered"]:,.0f}/{b["expected"]:,.0f} | {b["burst_call_ms"]:.0f} ms | {b["lat_p99_ms"]:.1f} ms |')
        L.append('')
    st = report.get('stop')
    if st:
        L += ['## 10. Shutdown with full and stalled sockets (issue 18)', '',
              '`benchmarks/route_shutdown.py`: one uvicorn worker serving the built-in route (`tests/engine_app.py`); 195 streams reading,',
              '5 whose sockets are full at SIGTERM (8 × 900 KB on their channel; they start reading after the signal) and 5 clients that',
              f'stopped reading. SIGTERM; the time until the process exits, and how many of the 200 readers got their clean end. {st["rounds"]} rounds.', '',
              '| exit after SIGTERM (median) | each round | clean ends (of 200), each round | goal |', '|---|---|---|---|',
              f'| {st["exit_s_median"]:.2f} s | {", ".join("killed" if x is None else f"{x:.2f} s" for x in st["exit_s_each"])} |'
              f' {", ".join(map(str, st["clean_ends_each"]))} | < 2 s, 200/200: {"met" if st["exit_s_median"] is not None and st["exit_s_median"] < 2 and min(st["clean_ends_each"]) == 200 else "**not met**"} |', '']
    return L

# --- across processes, through Redis ------------------------------------------------------

@contextlib.contextmanager
def redis_server(logdir):
    "A throwaway redis-server on a free 127.0.0.1 port, no persistence; yields (process, url)."
    exe = shutil.which('redis-server')
    if not exe: raise RuntimeError('redis-server is not installed (apt-get install redis-server)')
    port = free_port()
    cmd = [exe, '--port', str(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
    with _listening(cmd, 'redis-server', port, logdir, 20) as proc: yield proc, f'redis://127.0.0.1:{port}/0'

def redis_run(redis, url, prefix, clients, rate, messages, logdir):
    "Two uvicorn processes of ours on one Redis, clients split over both, every publish through the first (A)."
    env = {'BENCH_REDIS': url, 'BENCH_PREFIX': prefix}
    with server('ours', logdir, env) as (a, pa), server('ours', logdir, env) as (b, pb):
        cfg = {'targets': [{'port': pa, 'pid': a.pid}, {'port': pb, 'pid': b.pid}], 'extra_pids': [redis.pid],
               'path': STREAM_PATH['ours'], 'clients': clients, 'rate': rate, 'messages': messages, 'mode': 'deliver', 'gc': True}
        timeout = 120 + clients / 100 + messages / rate
        client = load({**cfg, 'timeout': timeout})
        try: return read_json(client, timeout + 10)
        finally: stop(client)

def redis_part(quick, report, logdir):
    "Cross-process latency with RedisBackend, next to one process with the in-memory backend (from the HTTP part when it ran)."
    plan = [(200, 30, 60, 1)] if quick else [(1000, 10, 200, 1), (1000, 30, 200, 2)]
    report['redis'] = {}
    with redis_server(logdir) as (redis, url):
        n = 0
        for clients, rate, messages, reps in plan:
            key = f'{clients}@{rate}'
            mem = report.get('http', {}).get(key, {}).get('ours')
            log(f'-- Redis, 2 processes: C={clients} split {clients - clients // 2}/{clients // 2}, {messages} messages at {rate}/s through A, {reps} round(s)'
                + ('; in-memory, 1 process: from the HTTP part' if mem else '; then in-memory, 1 process, alternating'))
            runs, mems = [], []
            for r in range(reps):
                order = ('redis',) if mem else ('redis', 'memory') if r % 2 == 0 else ('memory', 'redis')
                for what in order:
                    try:
                        if what == 'memory': mems.append(http_run('ours', clients, rate, messages, logdir))
                        else:
                            n += 1
                            runs.append(redis_run(redis, url, f'bench{n}', clients, rate, messages, logdir))
                    except Exception as e: fail(f'Redis C={clients} {rate}/s, {what}', str(e))
            if mems:
                keys = [k for k, v in mems[0].items() if isinstance(v, (int, float))]
                mem = {k: median([m[k] for m in mems]) for k in keys}
            if not runs: continue
            med = lambda rows, k: median([r[k] for r in rows])
            num = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
            row = {'all': {k: med(runs, k) for k in num}, 'memory': mem, 'messages': messages,
                   'redis_cpu_s': median([r['extra_cpu_s'][0] for r in runs])}
            for gi, name in enumerate(('A', 'B')):
                gs = [r['groups'][gi] for r in runs]
                row[name] = {k: med(gs, k) for k in gs[0]}
            report['redis'][key] = row
            v = row['all']
            log(f'   redis, both     delivered {v["delivered"]:.0f}/{v["expected"]:.0f}  p50 {v["lat_p50_ms"]:.1f} ms  p99 {v["lat_p99_ms"]:.1f} ms'
                f'  broadcast() {v["bcast_p50_ms"]:.3f} ms (p99 {v["bcast_p99_ms"]:.1f}, max {v["bcast_max_ms"]:.1f})'
                f'  redis-server CPU {row["redis_cpu_s"] / v["drained_s"] * 100:.0f}%  client CPU {v["client_cpu_pct"]:.0f}%')
            for name in ('A', 'B'):
                g = row[name]
                log(f'   redis, {name}        delivered {g["delivered"]:.0f}/{g["expected"]:.0f}  p50 {g["lat_p50_ms"]:.1f} ms  p99 {g["lat_p99_ms"]:.1f} ms'
                    f'  max {g["lat_max_ms"]:.1f} ms  CPU {g["cpu_us_per_delivery"]:.1f} µs/delivery ({g["server_cpu_pct"]:.0f}% of a core)')
            if mem:
                log(f'   memory, 1 proc  delivered {mem["delivered"]:.0f}/{mem["expected"]:.0f}  p50 {mem["lat_p50_ms"]:.1f} ms  p99 {mem["lat_p99_ms"]:.1f} ms'
                    f'  CPU {mem["cpu_us_per_delivery"]:.1f} µs/delivery  broadcast() {mem["bcast_p50_ms"]:.3f} ms (max {mem["bcast_max_ms"]:.1f})')

def shutdown(quick, report, logdir):
    sizes, cap = ((50,), 3.0) if quick else ((50, 1000), 10.0)
    report['shutdown'] = {'cap': cap}
    for n in sizes:
        log(f'-- shutdown: SIGTERM with {n} open streams (waits capped at {cap:g} s)')
        row = report['shutdown'][n] = {}
        for side in SIDES:
            try:
                with server(side, logdir) as (srv, port):
                    client = load({'port': port, 'path': STREAM_PATH[side], 'clients': n, 'server_pid': srv.pid,
                                   'mode': 'hold', 'timeout': 120})
                    try:
                        ready = read_json(client, 90)
                        if ready['registered'] < n: raise RuntimeError(f'only {ready["registered"]} of {n} streams registered')
                        t = time.monotonic()
                        srv.send_signal(signal.SIGTERM)
                        try: srv.wait(cap); took = time.monotonic() - t
                        except subprocess.TimeoutExpired: took = None
                        client.stdin.write('quit\n'); client.stdin.flush()
                        out = read_json(client, 30)
                    finally: stop(client)
                row[side] = {'exit_s': took, 'closed_by_server': out.get('closed_by_server')}
                log(f'   {side:14} ' + (f'exited after {took:.2f} s' if took is not None else f'still running after {cap:g} s (killed)'))
            except Exception as e: fail(f'shutdown with {n} streams, {side}', str(e))

# --- the report -------------------------------------------------------------------------

def tree_state():
    "The commit ours was measured at, and whether the package had uncommitted changes."
    try:
        head = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--', 'cjm_fasthtml_sse', 'nbs'], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        return f'{head or "?"}{" with uncommitted changes to the package" if dirty else ""}'
    except Exception: return 'unknown commit'

def machine():
    model = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor())
    return f'{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, Linux {platform.release()}'

def busy_jiffies():
    "CPU time (all cores, in clock ticks) the whole machine has spent busy since boot."
    with open('/proc/stat') as f: v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]  # all but idle and iowait

def others_cores(busy0, elapsed):
    "Cores used on average during the run by processes that are not this run (this one and its children, all waited for)."
    from common import CLK_TCK
    ours = sum(getattr(resource.getrusage(w), k) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for k in ('ru_utime', 'ru_stime'))
    return max(0.0, (busy_jiffies() - busy0) / CLK_TCK - ours) / elapsed if elapsed > 0 else nan

def write_report(report, path, quick, elapsed):
    V = report.get('versions', {})
    L = [f'# Benchmark results{" (quick smoke run: few samples, not for comparison)" if quick else ""}', '',
         f'- Date: {report["date"]}', f'- Python: {sys.version.split()[0]} ({platform.python_implementation()}), the same interpreter for every side',
         f'- Machine: {machine()}', '- Server stack: ' + ', '.join(f'{n} {version(n)}' for n in SHARED if _has(n)),
         f'- Sides: ours = cjm-fasthtml-sse {V.get("ours", {}).get("version", "?")} (working tree at {tree_state()}); original = {V.get("original", {}).get("version", "?")} from PyPI;'
         f' sse-starlette = {V.get("sse-starlette", {}).get("version", "?")} (memory backend); ideal = the plainest code doing the same work',
         f'- Command: `python benchmarks/run.py{_args()}`, {elapsed / 60:.1f} minutes. Sides alternate within every measurement; figures are medians.',
         f'- Other load on the machine: on average {report.get("others_cores", nan):.2f} of {os.cpu_count()} cores were used by processes outside this run'
         + (' (busy: absolute figures are inflated; compare the ratios within this run)' if report.get('others_cores', 0) > 0.25 else ''), '']
    if 'fanout' in report:
        L += ['## 1. In-process fan-out', '',
              'One `broadcast()` to N registered connections (stdlib asyncio loop). "call, idle" is the call alone while no consumer waits on',
              'its queue; "call, parked" is the call alone while every consumer waits on its queue (as in a server: each wake-up costs);',
              '"+receive" lasts from the call until every parked consumer holds the bytes its stream would write',
              '(ours: the cached encoding; original: `to_sse()` per consumer; sse-starlette: `ServerSentEvent.encode()` per consumer; ideal: the bytes encoded once).',
              'sse-starlette\'s `publish()` only queues the event: broadcaster\'s listener task fans it out afterwards, so compare it on "+receive".', '',
              '| N | side | call, idle | call, parked | +receive | vs ideal (idle / parked / +receive) | ours faster than original (idle / parked / +receive) |',
              '|---|---|---|---|---|---|---|']
        for n, row in report['fanout'].items():
            ideal, orig = row.get('ideal', {}), row.get('original', {})
            for s, v in row.items():
                ks = ('idle', 'call', 'deliver')
                vs_ideal = ' / '.join(fmt_x(v[k], ideal.get(k, nan)) for k in ks)
                vs_orig = ' / '.join(fmt_x(orig.get(k, nan), v[k]) for k in ks) if s == 'ours' else ''
                L.append(f'| {n:,} | {s} | {fmt_t(v["idle"])} | {fmt_t(v["call"])} | {fmt_t(v["deliver"])} | {vs_ideal} | {vs_orig} |')
        L.append('')
    if 'stall' in report:
        L += ['## 2. Stalled clients', '',
              '1,000 connections, K of which never read (their queues are full). "call" is the `broadcast()` that meets the full queues;',
              '"register()" is how long a `register()` launched together with that broadcast took to return (time from launch);',
              '"all live received" lasts until the 1,000 − K live consumers hold the message. K=0 is the baseline with no stalled client.',
              'sse-starlette\'s queues are unbounded, so nothing is ever full there: a stalled subscriber just grows.', '',
              '| K | side | call | register() | all live received |', '|---|---|---|---|---|']
        for k, row in report['stall'].items():
            for s, v in row.items():
                L.append(f'| {k} | {s} | {fmt_t(v["call"])} | {fmt_t(v["register"])} | {fmt_t(v["deliver"])} |')
        L.append('')
    if 'http' in report:
        L += ['## 3–4. End to end over HTTP', '',
              'uvicorn (1 worker, uvloop + httptools) on 127.0.0.1; C SSE clients in a separate process; one publisher sends',
              '`POST /publish` at the given rate. Latency: client clock at receipt minus the server clock in the payload.',
              'CPU: server user+system time from /proc/PID/stat over the publishing window, per delivered message. broadcast(): time of',
              'the library call inside the POST handler. RSS: server RSS after the run minus before any client connected, per client.',
              'CPU use: share of one core used by the server and by the load client while publishing (a client near 100% would make latencies its own).', '',
              '| C | rate | side | delivered | p50 | p99 | CPU µs/delivery | broadcast() p50 / max | RSS KB/client | CPU use server / client |',
              '|---|---|---|---|---|---|---|---|---|---|']
        for key, row in report['http'].items():
            c, rate = key.split('@')
            for s, v in row.items():
                L.append(f'| {int(c):,} | {rate}/s | {s} | {v["delivered"]:,.0f}/{v["expected"]:,.0f} | {v["lat_p50_ms"]:.1f} ms | {v["lat_p99_ms"]:.1f} ms |'
                         f' {v["cpu_us_per_delivery"]:.1f} | {v["bcast_p50_ms"]:.3f} / {v["bcast_max_ms"]:.1f} ms | {v["rss_kb_per_client"]:.1f} |'
                         f' {v["server_cpu_pct"]:.0f}% / {v["client_cpu_pct"]:.0f}% |')
        L.append('')
    if any(GC_SIDE in row for row in report.get('http', {}).values()):
        L += [f'"{GC_SIDE}" is ours with `gc.set_threshold(50_000, 20, 100)` in the app (README: "The garbage collector").', '']
        for key, row in report['http'].items():
            o, g = row.get('ours'), row.get(GC_SIDE)
            if not (o and g): continue
            c, rate = key.split('@')
            L.append(f'- C={int(c):,} at {rate}/s, ours → ours+gc: p99 {o["lat_p99_ms"]:.1f} → {g["lat_p99_ms"]:.1f} ms, max {o["lat_max_ms"]:.1f} → {g["lat_max_ms"]:.1f} ms,'
                     f' broadcast() max {o["bcast_max_ms"]:.1f} → {g["bcast_max_ms"]:.1f} ms, CPU {o["cpu_us_per_delivery"]:.1f} → {g["cpu_us_per_delivery"]:.1f} µs/delivery,'
                     f' RSS {o["rss_kb_per_client"]:.1f} → {g["rss_kb_per_client"]:.1f} KB/client; full collections while publishing'
                     f' {o.get("gc_full", nan):.0f} → {g.get("gc_full", nan):.0f} (longest {o.get("gc_full_max_ms", nan):.0f} → {g.get("gc_full_max_ms", nan):.0f} ms),'
                     f' time in the collector {o.get("gc_ms_total", nan):.0f} → {g.get("gc_ms_total", nan):.0f} ms')
        L.append('')
    if 'shutdown' in report:
        sd = dict(report['shutdown']); cap = sd.pop('cap')
        L += ['## 5. Shutdown', '', f'Time from SIGTERM to process exit with open streams (uvicorn defaults; waits capped at {cap:g} s, then SIGKILL).', '',
              '| streams | ' + ' | '.join(SIDES) + ' |', '|---|' + '---|' * len(SIDES)]
        for n, row in sd.items():
            cells = [('n/a' if s not in row else f'> {cap:g} s' if row[s]['exit_s'] is None else f'{row[s]["exit_s"]:.2f} s') for s in SIDES]
            L.append(f'| {n:,} | ' + ' | '.join(cells) + ' |')
        L.append('')
    if report.get('redis'):
        L += ['## 6. Across processes, through Redis', '',
              'One redis-server and two uvicorn processes (1 worker each) of ours with `RedisBackend` on it; C clients split evenly over',
              'A and B by one load-client process; every `POST /publish` goes to A, whose `broadcast()` appends to the Redis stream, and each',
              'process delivers to its own clients when it reads the stream back (A too). Latency, CPU and broadcast() as in 3–4, per process;',
              'CPU µs/delivery of a process is its CPU over the deliveries to its own clients (A also serves the publishes). "memory, 1 process"',
              'is ours with the in-memory backend and all C clients on one process, from part 3–4 of this run when it measured the same C and rate.',
              f'The machine has {os.cpu_count()} cores for 4 busy processes here (A, B, Redis, the load client).', '',
              '| C | rate | setup | clients | delivered | p50 | p99 | max | CPU µs/delivery | CPU use | broadcast() p50 / p99 / max |',
              '|---|---|---|---|---|---|---|---|---|---|---|']
        for key, row in report['redis'].items():
            c, rate = key.split('@')
            v = row['all']
            bc = f'{v["bcast_p50_ms"]:.3f} / {v["bcast_p99_ms"]:.1f} / {v["bcast_max_ms"]:.1f} ms'
            for name, label in (('A', 'Redis, process A (publisher)'), ('B', 'Redis, process B')):
                g = row[name]
                L.append(f'| {int(c):,} | {rate}/s | {label} | {g["connected"]:,.0f} | {g["delivered"]:,.0f}/{g["expected"]:,.0f} | {g["lat_p50_ms"]:.1f} ms |'
                         f' {g["lat_p99_ms"]:.1f} ms | {g["lat_max_ms"]:.1f} ms | {g["cpu_us_per_delivery"]:.1f} | {g["server_cpu_pct"]:.0f}% | {bc if name == "A" else "(A only)"} |')
            L.append(f'| {int(c):,} | {rate}/s | Redis, A + B | {v["connected"]:,.0f} | {v["delivered"]:,.0f}/{v["expected"]:,.0f} | {v["lat_p50_ms"]:.1f} ms |'
                     f' {v["lat_p99_ms"]:.1f} ms | {v["lat_max_ms"]:.1f} ms | {v["cpu_us_per_delivery"]:.1f} | {v["server_cpu_pct"]:.0f}% (redis-server {row["redis_cpu_s"] / v["drained_s"] * 100:.0f}%) | {bc} |')
            m = row.get('memory')
            if m:
                L.append(f'| {int(c):,} | {rate}/s | memory, 1 process | {m["connected"]:,.0f} | {m["delivered"]:,.0f}/{m["expected"]:,.0f} | {m["lat_p50_ms"]:.1f} ms |'
                         f' {m["lat_p99_ms"]:.1f} ms | {m["lat_max_ms"]:.1f} ms | {m["cpu_us_per_delivery"]:.1f} | {m["server_cpu_pct"]:.0f}% |'
                         f' {m["bcast_p50_ms"]:.3f} / {m.get("bcast_p99_ms", nan):.1f} / {m["bcast_max_ms"]:.1f} ms |')
        L.append('')
    L += engine_report(report)
    L += issue21_report(report)
    L += targets(report)
    if failures: L += ['## Failures', ''] + [f'- {f}' for f in failures] + ['']
    path.write_text('\n'.join(L))

nan = float('nan')

def targets(report):
    "Ours against the targets of issue 6, from this run's figures."
    rows = []
    def add(what, target, got, ok):
        rows.append(f'| {what} | {target} | {got} | {"n/a" if ok is None else "yes" if ok else "**no**"} |')
    fo = report.get('fanout', {})
    if fo:
        n = max(fo)
        o, i, g = fo[n].get('ours', {}), fo[n].get('ideal', {}), fo[n].get('original', {})
        for k, label in (('idle', 'call, idle'), ('call', 'call, parked'), ('deliver', 'call + receive')):
            r = o.get(k, nan) / i.get(k, nan) if i.get(k) else nan
            add(f'fan-out N={n:,}, {label}: ours / ideal', '≤ 1.5×', f'{r:.2f}× ({fmt_t(o.get(k, nan))} vs {fmt_t(i.get(k, nan))})', r <= 1.5 if r == r else None)
        for k, label in (('idle', 'call, idle'), ('call', 'call, parked')):
            r = g.get(k, nan) / o.get(k, nan) if o.get(k) else nan
            add(f'fan-out N={n:,}, {label}: original / ours', '≥ 30×', f'{r:.1f}×', r >= 30 if r == r else None)
    st = report.get('stall', {})
    if st:
        k = max(st)
        o, base, i = st[k].get('ours', {}), st.get(0, {}).get('ours', {}), st[k].get('ideal', {})
        c = o.get('call', nan)
        add(f'stalled K={k}: broadcast() call', '≤ 1 ms', f'{fmt_t(c)} (ideal {fmt_t(i.get("call", nan))}; K=0: {fmt_t(base.get("call", nan))})', c <= 1e-3 if c == c else None)
        reg = o.get('register', nan)
        add(f'stalled K={k}: register() not blocked', 'returns right after the call', f'{fmt_t(reg)} from launch (original: {fmt_t(st[k].get("original", {}).get("register", nan))})',
            reg <= c + 1e-3 if reg == reg else None)
    ht = report.get('http', {})
    key = '1000@30' if '1000@30' in ht else next(iter(ht), None)
    if key and 'ours' in ht[key]:
        v = ht[key]['ours']
        c, rate = key.split('@')
        p = f'HTTP C={int(c):,} at {rate}/s'
        add(f'{p}: delivered', 'all', f'{v["delivered"]:,.0f}/{v["expected"]:,.0f}', v['delivered'] >= v['expected'])
        add(f'{p}: server CPU per delivery', '≤ 15 µs', f'{v["cpu_us_per_delivery"]:.1f} µs (ideal {ht[key].get("ideal", {}).get("cpu_us_per_delivery", nan):.1f})', v['cpu_us_per_delivery'] <= 15)
        add(f'{p}: latency p99', '≤ 25 ms', f'{v["lat_p99_ms"]:.1f} ms (ideal {ht[key].get("ideal", {}).get("lat_p99_ms", nan):.1f})', v['lat_p99_ms'] <= 25)
        add(f'{p}: RSS per client', '≤ 20 KB', f'{v["rss_kb_per_client"]:.1f} KB (ideal {ht[key].get("ideal", {}).get("rss_kb_per_client", nan):.1f})', v['rss_kb_per_client'] <= 20)
        add(f'{p}: broadcast() call, median', '≤ 1 ms', f'{v["bcast_p50_ms"]:.2f} ms (max {v["bcast_max_ms"]:.1f}; ideal {ht[key].get("ideal", {}).get("bcast_p50_ms", nan):.2f})', v['bcast_p50_ms'] <= 1)
    big = next((k for k in ht if k.startswith('10000@')), None)
    if big and 'ours' in ht[big]:
        v = ht[big]['ours']
        add('HTTP C=10,000: delivered', 'all', f'{v["delivered"]:,.0f}/{v["expected"]:,.0f}', v['delivered'] >= v['expected'])
    sd = report.get('shutdown', {})
    for n, row in sd.items():
        if n == 'cap' or 'ours' not in row: continue
        e = row['ours']['exit_s']
        add(f'shutdown with {n:,} streams', 'prompt exit', 'killed after the cap' if e is None else f'{e:.2f} s', e is not None)
    if not rows: return []
    return ['## Ours against the targets of issue 6', '', '| measurement | target | ours | met |', '|---|---|---|---|', *rows, '']
def _args():
    "This run's command-line arguments, less `--out`, for the report."
    args, out = sys.argv[1:], []
    for i, a in enumerate(args):
        if a.startswith('--out') or (i and args[i - 1] == '--out'): continue
        out.append(' ' + a)
    return ''.join(out)

def _has(n):
    try: version(n); return True
    except Exception: return False

def _sigterm(*_): raise KeyboardInterrupt('SIGTERM')

def main():
    signal.signal(signal.SIGTERM, _sigterm)  # so that the `finally` blocks stop every process we started
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='smoke run: fewer sizes and samples, under 2 minutes')
    ap.add_argument('--only', default='inprocess,http,redis,shutdown,engine,loop,burst,stop', help='comma-separated parts to run: inprocess, http, redis, shutdown, engine, loop, burst, stop; or goals21 alone (goals21.py)')
    ap.add_argument('--out', help='where to write the report (default RESULTS.md, or .results-quick.md with --quick)')
    args = ap.parse_args()
    if 'goals21' in args.only.split(','):  # issue 21's goal table: a run and a report of its own (goals21.py)
        import goals21
        return goals21.main((['--quick'] if args.quick else []) + (['--out', args.out] if args.out else []))
    t0, busy0 = time.monotonic(), busy_jiffies()
    out = Path(args.out) if args.out else HERE / ('.results-quick.md' if args.quick else 'RESULTS.md')
    report = {'date': datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}
    log(f'benchmarks: Python {sys.version.split()[0]}, {machine()}; open files limit {raise_nofile()}')
    parts = args.only.split(',')
    if set(parts) & {'inprocess', 'http', 'shutdown'}:  # the parts that run the original and sse-starlette
        try: ensure_venv()
        except Exception as e:
            fail('creating the anchors venv', str(e)); return 1
    with tempfile.TemporaryDirectory(prefix='cjm-bench-') as tmp:
        logdir = Path(tmp)
        try:
            if 'inprocess' in parts: inprocess(args.quick, report)
            if 'http' in parts: http(args.quick, report, logdir)
            if 'redis' in parts: redis_part(args.quick, report, logdir)
            if 'shutdown' in parts: shutdown(args.quick, report, logdir)
            if 'engine' in parts: engine_part(args.quick, report, logdir)
            if 'loop' in parts: loop_part(args.quick, report, logdir)
            if 'burst' in parts: burst_part(args.quick, report, logdir)
            if 'stop' in parts: stop_part(args.quick, report, logdir)
        except Exception:
            import traceback; fail('benchmark run', traceback.format_exc())
    elapsed = time.monotonic() - t0
    report['others_cores'] = others_cores(busy0, elapsed)
    write_report(report, out, args.quick, elapsed)
    log(f'report written to {out} after {elapsed:.0f} s' + (f'; {len(failures)} failure(s)' if failures else ''))
    return 1 if failures else 0

if __name__ == '__main__': sys.exit(main())
