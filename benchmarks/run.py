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
STREAM_PATH = {'ours': '/sse/broadcast', 'original': '/sse/broadcast', 'sse-starlette': '/sse', 'ideal': '/sse'}
APP = {'ours': 'app_cjm', 'original': 'app_cjm', 'sse-starlette': 'app_starlette', 'ideal': 'app_ideal'}

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
    if side in ('ours', 'ideal'):
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

def rounds_order(r):
    "Side order of round `r`: the four sides, rotated each round so that none is always first."
    return SIDES[r % 4:] + SIDES[:r % 4]

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
def server(side, logdir):
    "uvicorn, one worker, on 127.0.0.1, serving `side`'s app; yields (process, port)."
    python, env = side_cmd(side)
    env['BENCH_EXPECT'] = side
    port = free_port()
    errlog = open(logdir / f'{side}-{port}.log', 'w+')
    proc = subprocess.Popen([python, '-m', 'uvicorn', f'{APP[side]}:app', '--host', '127.0.0.1', '--port', str(port),
                             '--log-level', 'warning', '--no-access-log'], cwd=HERE, env=env, stdout=errlog, stderr=errlog,
                            preexec_fn=_die_with_parent)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None: raise RuntimeError(f'{side} server exited with {proc.returncode}')
            with contextlib.suppress(OSError), socket.create_connection(('127.0.0.1', port), timeout=0.2): break
            if time.monotonic() > deadline: raise TimeoutError(f'{side} server did not listen within 30 s')
            time.sleep(0.05)
        yield proc, port
    except Exception:
        errlog.flush(); errlog.seek(0)
        log(errlog.read()[-3000:])
        raise
    finally:
        stop(proc)
        errlog.close()

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

def http_run(side, clients, rate, messages, logdir):
    with server(side, logdir) as (srv, port):
        cfg = {'port': port, 'path': STREAM_PATH[side], 'clients': clients, 'rate': rate, 'messages': messages,
               'server_pid': srv.pid, 'mode': 'deliver'}
        timeout = 120 + clients / 100 + messages / rate
        client = load({**cfg, 'timeout': timeout})
        try: return read_json(client, timeout + 10)
        finally: stop(client)

def http(quick, report, logdir):
    plan = [(100, 30, 30, 1)] if quick else [(100, 10, 200, 1), (100, 30, 200, 2), (1000, 10, 200, 1), (1000, 30, 200, 2)]
    if not quick: plan.append((10000, 2, 40, 1))
    report['http'] = {}
    for clients, rate, messages, reps in plan:
        log(f'-- over HTTP: C={clients}, {messages} messages at {rate}/s, {reps} round(s)')
        runs = {s: [] for s in SIDES}
        for r in range(reps):
            for side in rounds_order(r):
                try: runs[side].append(http_run(side, clients, rate, messages, logdir))
                except Exception as e: fail(f'HTTP C={clients} {rate}/s, {side}', str(e))
        row = report['http'][f'{clients}@{rate}'] = {}
        for side, rs in runs.items():
            if not rs: continue
            keys = [k for k, v in rs[0].items() if isinstance(v, (int, float))]
            v = row[side] = {k: median([r[k] for r in rs]) for k in keys}
            log(f'   {side:14} delivered {v["delivered"]:.0f}/{v["expected"]:.0f}  p50 {v["lat_p50_ms"]:.1f} ms  p99 {v["lat_p99_ms"]:.1f} ms'
                f'  CPU {v["cpu_us_per_delivery"]:.1f} µs/delivery  broadcast() {v["bcast_p50_ms"]:.3f} ms (max {v["bcast_max_ms"]:.1f})'
                f'  RSS {v["rss_kb_per_client"]:.1f} KB/client  (CPU use: server {v["server_cpu_pct"]:.0f}%, client {v["client_cpu_pct"]:.0f}%)')

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

def write_report(report, path, quick, elapsed):
    V = report.get('versions', {})
    L = [f'# Benchmark results{" (quick smoke run: few samples, not for comparison)" if quick else ""}', '',
         f'- Date: {report["date"]}', f'- Python: {sys.version.split()[0]} ({platform.python_implementation()}), the same interpreter for every side',
         f'- Machine: {machine()}', '- Server stack: ' + ', '.join(f'{n} {version(n)}' for n in SHARED if _has(n)),
         f'- Sides: ours = cjm-fasthtml-sse {V.get("ours", {}).get("version", "?")} (working tree at {tree_state()}); original = {V.get("original", {}).get("version", "?")} from PyPI;'
         f' sse-starlette = {V.get("sse-starlette", {}).get("version", "?")} (memory backend); ideal = the plainest code doing the same work',
         f'- Command: `python benchmarks/run.py{" --quick" if quick else ""}`, {elapsed / 60:.1f} minutes. Sides alternate within every measurement; figures are medians.', '']
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
    if 'shutdown' in report:
        sd = dict(report['shutdown']); cap = sd.pop('cap')
        L += ['## 5. Shutdown', '', f'Time from SIGTERM to process exit with open streams (uvicorn defaults; waits capped at {cap:g} s, then SIGKILL).', '',
              '| streams | ' + ' | '.join(SIDES) + ' |', '|---|' + '---|' * len(SIDES)]
        for n, row in sd.items():
            cells = [('n/a' if s not in row else f'> {cap:g} s' if row[s]['exit_s'] is None else f'{row[s]["exit_s"]:.2f} s') for s in SIDES]
            L.append(f'| {n:,} | ' + ' | '.join(cells) + ' |')
        L.append('')
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
def _has(n):
    try: version(n); return True
    except Exception: return False

def _sigterm(*_): raise KeyboardInterrupt('SIGTERM')

def main():
    signal.signal(signal.SIGTERM, _sigterm)  # so that the `finally` blocks stop every process we started
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='smoke run: fewer sizes and samples, under 2 minutes')
    ap.add_argument('--only', default='inprocess,http,shutdown', help='comma-separated parts to run: inprocess, http, shutdown')
    ap.add_argument('--out', help='where to write the report (default RESULTS.md, or .results-quick.md with --quick)')
    args = ap.parse_args()
    t0 = time.monotonic()
    out = Path(args.out) if args.out else HERE / ('.results-quick.md' if args.quick else 'RESULTS.md')
    report = {'date': datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}
    log(f'benchmarks: Python {sys.version.split()[0]}, {machine()}; open files limit {raise_nofile()}')
    try: ensure_venv()
    except Exception as e:
        fail('creating the anchors venv', str(e)); return 1
    parts = args.only.split(',')
    with tempfile.TemporaryDirectory(prefix='cjm-bench-') as tmp:
        logdir = Path(tmp)
        try:
            if 'inprocess' in parts: inprocess(args.quick, report)
            if 'http' in parts: http(args.quick, report, logdir)
            if 'shutdown' in parts: shutdown(args.quick, report, logdir)
        except Exception:
            import traceback; fail('benchmark run', traceback.format_exc())
    elapsed = time.monotonic() - t0
    write_report(report, out, args.quick, elapsed)
    log(f'report written to {out} after {elapsed:.0f} s' + (f'; {len(failures)} failure(s)' if failures else ''))
    return 1 if failures else 0

if __name__ == '__main__': sys.exit(main())
