"""Issue 21's goal table in one command: ours (the `fast_app()` app of `app_cjm.py`) against "direct" (`app_direct.py`).

    python benchmarks/goals21.py             # full run, about 15 minutes on a quiet 2-core machine (20 at most); writes benchmarks/.results-goals21.md
    python benchmarks/goals21.py --quick     # smoke run (small sizes, 1 repetition, every profile), about 2 minutes
    python benchmarks/goals21.py --only rss,burst --reps 1   # some measures only: steady10, steady30, rss, burst, loop
    python benchmarks/run.py --only goals21  # the same as the first (with --quick, the second)

Every measure runs its sides in 3 alternating repetitions (the order rotates each repetition) and reports the medians and
the ratio of the medians, next to the issue's goal. For every goal that is missed, one extra repetition of ours is profiled:
py-spy (sampling, attached to the server for the publishing window only) for time, with a 1 ms ticker in the server that
shows how long the loop was held (`looplag.py`); tracemalloc by file, in ours and in direct, for memory.
`--no-profile` skips them; `--profile-all` profiles every measure. No timing is asserted: the exit status is non-zero
only when something could not run."""
import argparse, asyncio, collections, contextlib, datetime, os, re, shutil, signal, subprocess, sys, tempfile, time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run, route_rss  # noqa: E402
from run import log, fail, failures, fmt_x, median, nan  # noqa: E402

# Sizes. Every CPU figure of the full run rests on at least 100,000 deliveries per repetition.
FULL = dict(reps=3, c=1000, steady_msgs=200, rss_n=1000, loop_c=10_000, loop_msgs=30, burst_c=200, burst_n=1000, burst_steady=500)
QUICK = dict(reps=1, c=200, steady_msgs=40, rss_n=200, loop_c=500, loop_msgs=6, burst_c=50, burst_n=200, burst_steady=100)
LOOP_RATE, PING_RATE, BURST_RATE = 2, 20, 30
MEASURES = ('steady10', 'steady30', 'rss', 'burst', 'loop')

class Goals:
    "The measures of issue 21, their repetitions, the noise during each, and the profiles of the missed goals."
    def __init__(self, size, logdir, profdir, loop_ideal):
        self.z, self.logdir, self.profdir = size, logdir, profdir
        self.loop_sides = ('ours', 'direct', 'ideal') if loop_ideal else ('ours', 'direct')
        self.runs = collections.defaultdict(list)  # (measure, side) -> one result dict per repetition
        self.noise, self.profiles, self.pids = {}, {}, ()  # pids: long-lived children (redis-server) whose CPU is this run's

    # --- one repetition ---------------------------------------------------------------------

    def drive(self, cfg, pids, prof=None, ports=()):
        "Run the load client on `cfg`; with `prof` (a name), py-spy records each server in `pids` while it publishes, and the loop lag of `ports` is read."
        timeout = 120 + cfg['clients'] / 100 + (cfg['messages'] / cfg['rate'] if cfg['mode'] == 'deliver' else 60)
        client, spies = run.load({**cfg, 'timeout': timeout, 'announce': bool(prof)}), []
        try:
            if prof:
                run.read_json(client, timeout)  # {"phase": "publishing"}: the streams are warm
                spies = [spy(pid, self.profdir / f'{prof}-{i}.txt') for i, pid in enumerate(pids)]
                time.sleep(1)  # attached
                for port in ports: get_json(port, '/lag?reset=1')
                client.stdin.write('go\n'); client.stdin.flush()
            res = run.read_json(client, timeout + 10)
            if prof and ports: res['lag'] = [get_json(port, '/lag') for port in ports]
            return res
        finally:
            for s in spies:
                with contextlib.suppress(ProcessLookupError): s.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            for s in spies:
                try: s.wait(30)
                except subprocess.TimeoutExpired: run.stop(s)
            run.stop(client)

    def one(self, side, cfg, prof=None):
        "One server of `side`, one load-client run on it (profiled: with the loop-lag ticker, ours only)."
        lag = bool(prof) and run.APP[side] == 'app_cjm'
        with run.server(side, self.logdir, {'BENCH_LAG': '1'} if lag else None) as (srv, port):
            cfg = {'port': port, 'server_pid': srv.pid, 'path': run.STREAM_PATH[side], 'mode': 'deliver', 'gc': run.APP[side] == 'app_cjm', **cfg}
            return self.drive(cfg, [srv.pid], prof, [port] if lag else ())

    def pair(self, redis, url, prefix, cfg, prof=None):
        "Two servers of ours on one Redis (`RedisBackend`), the clients split over both, every publish through the first."
        env = {'BENCH_REDIS': url, 'BENCH_PREFIX': prefix, **({'BENCH_LAG': '1'} if prof else {})}
        with run.server('ours', self.logdir, env) as (a, pa), run.server('ours', self.logdir, env) as (b, pb):
            cfg = {'targets': [{'port': pa, 'pid': a.pid}, {'port': pb, 'pid': b.pid}], 'extra_pids': [redis.pid],
                   'path': run.STREAM_PATH['ours'], 'mode': 'deliver', 'gc': True, **cfg}
            res = self.drive(cfg, [a.pid, b.pid], prof, [pa, pb] if prof else ())
        res['A_p99_ms'], res['B_p99_ms'] = (g['lat_p99_ms'] for g in res['groups'])  # the publisher's clients, the other's
        return res

    def rss(self, side, trace=False):
        "RSS per connected client as `route_rss.py` measures it (warm-up, then n clients that each read 5 broadcasts)."
        with run.server(side, self.logdir, {'BENCH_TRACE': '1'} if trace else None) as (srv, port):
            kb, held = asyncio.run(route_rss.measure(side, srv, f'http://127.0.0.1:{port}', self.z['rss_n'], trace))
        return {'rss_kb_per_client': kb, 'held': held}

    # --- the measures -------------------------------------------------------------------------

    def cfg(self, what):
        z = self.z
        return {'steady10': {'clients': z['c'], 'rate': 10, 'messages': z['steady_msgs']},
                'steady30': {'clients': z['c'], 'rate': 30, 'messages': z['steady_msgs']},
                'loop': {'clients': z['loop_c'], 'rate': LOOP_RATE, 'messages': z['loop_msgs'], 'ping': PING_RATE},
                'burst': {'clients': z['burst_c'], 'rate': 1, 'messages': z['burst_n'], 'mode': 'burst'},
                'burst_steady': {'clients': z['burst_c'], 'rate': BURST_RATE, 'messages': z['burst_steady']}}[what]

    def measure(self, name, sides, rep_fn, title):
        "Run `rep_fn(side)` for every side, in `reps` repetitions with the order rotating; note the noise while it ran."
        log(f'-- {title}: {", ".join(sides)}, {self.z["reps"]} repetition(s)')
        t0, busy0, own0 = time.monotonic(), run.busy_jiffies(), own_cpu(self.pids)
        for r in range(self.z['reps']):
            for side in run.rounds_order(r, sides):
                t = time.monotonic()
                try: res = rep_fn(side)
                except Exception as e: fail(f'{name}, {side}, repetition {r + 1}', repr(e)); continue
                self.runs[name, side].append(res)
                log(f'   rep {r + 1} {side:12} {brief(res)}  ({time.monotonic() - t:.0f} s)')
        elapsed = time.monotonic() - t0
        self.noise[name] = {'s': elapsed, 'others_cores': others(busy0, own0, elapsed, self.pids), 'load': os.getloadavg()}

    def run_all(self, redis, url, only=MEASURES):
        "Every measure in `only`, one after the other."
        self.pids, n, z = (redis.pid,) if redis else (), iter(range(1, 10**6)), self.z
        plan = {
            'steady10': (('ours', 'direct', 'redis2') if redis else ('ours', 'direct'), lambda s: self.pair(redis, url, f'g21-{next(n)}', self.cfg('steady10')) if s == 'redis2' else self.one(s, self.cfg('steady10')),
                         f'C={z["c"]:,} at 10/s, {z["steady_msgs"]} messages (CPU, p99; redis2 = 2 processes + Redis)'),
            'steady30': (('ours', 'direct'), lambda s: self.one(s, self.cfg('steady30')), f'C={z["c"]:,} at 30/s, {z["steady_msgs"]} messages (CPU)'),
            'rss': (('ours', 'direct'), self.rss, f'RSS per client, {z["rss_n"]:,} clients (as route_rss.py)'),
            'burst': (('burst', 'steady'), lambda s: self.one('ours', self.cfg('burst' if s == 'burst' else 'burst_steady')),
                      f'ours, C={z["burst_c"]}: a burst of {z["burst_n"]:,} broadcasts, and {z["burst_steady"]} at {BURST_RATE}/s'),
            'loop': (self.loop_sides, lambda s: self.one(s, self.cfg('loop')),
                     f'GET /ping at {PING_RATE}/s while C={z["loop_c"]:,} get {z["loop_msgs"]} broadcasts at {LOOP_RATE}/s')}
        for name in MEASURES:
            if name in only: self.measure(name, *plan[name])

    def profile(self, missed, redis, url, every):
        "One profiled repetition of ours for every missed goal (every goal with `every`)."
        todo = {}
        for key in (k for k, t in TABLE.items() if t['measure'] in self.noise and (every or missed.get(k)) and (redis or k != 'redis')):
            todo.setdefault(TABLE[key]['profile'], []).append(key)
        for what, keys in todo.items():
            log(f'-- profile: {what} (for {", ".join(keys)})')
            t = time.monotonic()
            try:
                if what == 'rss':  # ours, and direct for the floor
                    res, floor = self.rss('ours', trace=True), self.rss('direct', trace=True)
                    self.profiles[what] = {'keys': keys, 'held': res['held'], 'held_direct': floor['held'], 'res': res}
                else:
                    if what == 'redis2': res = self.pair(redis, url, 'g21-prof', self.cfg('steady10'), prof=what)
                    else: res = self.one('ours', self.cfg(what), prof=what)
                    files = sorted(self.profdir.glob(f'{what}-*.txt'))
                    self.profiles[what] = {'keys': keys, 'res': res, 'stacks': [read_stacks(f) for f in files], 'files': files}
                log(f'   {brief(res)}  ({time.monotonic() - t:.0f} s)')
            except Exception as e: fail(f'profile {what}', repr(e))

    # --- figures --------------------------------------------------------------------------------

    def med(self, name, side, key):
        return median([r[key] for r in self.runs[name, side] if key in r])

    def each(self, name, side, key):
        return [r.get(key, nan) for r in self.runs[name, side]]

# The table: measure -> where its two figures come from, its goal, and which profile explains a miss.
TABLE = {
    'cpu10': dict(what='server CPU per delivery, C={c:,} at 10/s', unit='µs', measure='steady10', key='cpu_us_per_delivery',
                  ours='ours', ref='direct', goal='≤ 1.10× direct', ok=lambda o, r, x: x <= 1.10, profile='steady10'),
    'cpu30': dict(what='server CPU per delivery, C={c:,} at 30/s', unit='µs', measure='steady30', key='cpu_us_per_delivery',
                  ours='ours', ref='direct', goal='≤ 1.10× direct', ok=lambda o, r, x: x <= 1.10, profile='steady30'),
    'rss': dict(what='RSS per connected client, {rss_n:,} clients', unit='KB', measure='rss', key='rss_kb_per_client',
                ours='ours', ref='direct', goal='≤ 1.2× direct and ≤ 12 KB', ok=lambda o, r, x: x <= 1.2 and o <= 12, profile='rss'),
    'p99': dict(what='p99 latency, C={c:,} at 10/s', unit='ms', measure='steady10', key='lat_p99_ms',
                ours='ours', ref='direct', goal='≤ 1.1× direct', ok=lambda o, r, x: x <= 1.1, profile='steady10'),
    'ping': dict(what='p99 of `GET /ping` at 20/s during 2/s broadcasts to C={loop_c:,}', unit='ms', measure='loop', key='ping_p99_ms',
                 ours='ours', ref='direct', goal="≤ 10 ms and ≤ direct's", ok=lambda o, r, x: o <= 10 and o <= r, profile='loop'),
    'redis': dict(what='cross-process p99, C={c:,} at 10/s: 2 processes + Redis against 1 process', unit='ms', measure='steady10',
                  key='lat_p99_ms', ours='redis2', ref='ours', goal='≤ 1.5× one process', ok=lambda o, r, x: x <= 1.5, profile='redis2'),
    'burst': dict(what='burst of {burst_n:,} broadcasts to {burst_c} clients: CPU per delivered event, against steady', unit='µs', measure='burst',
                  key='cpu_us_per_delivery', ours='burst', ref='steady', goal='≤ 0.5× steady', ok=lambda o, r, x: x <= 0.5, profile='burst'),
}

def get_json(port, path):
    "GET `path` from a server on 127.0.0.1:`port`, JSON."
    import json, urllib.request
    with urllib.request.urlopen(f'http://127.0.0.1:{port}{path}', timeout=30) as r: return json.loads(r.read())

def own_cpu(pids=()):
    "CPU seconds used by this run so far: this process, the children it has waited for, and the running children `pids`."
    import resource
    from common import cpu_seconds
    done = sum(getattr(resource.getrusage(w), k) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for k in ('ru_utime', 'ru_stime'))
    return done + sum(cpu_seconds(p) for p in pids)

def others(busy0, own0, elapsed, pids=()):
    "Cores used on average by processes outside this run since `busy0` (machine) and `own0` (this run, with `pids`)."
    from common import CLK_TCK
    return max(0.0, (run.busy_jiffies() - busy0) / CLK_TCK - (own_cpu(pids) - own0)) / elapsed if elapsed > 0 else nan

def brief(res):
    "One line for the log about one repetition's result."
    bits = [f'{k} {res[k]:.2f}' for k in ('cpu_us_per_delivery', 'lat_p99_ms', 'ping_p99_ms', 'rss_kb_per_client') if isinstance(res.get(k), (int, float))]
    if 'delivered' in res: bits.append(f'delivered {res["delivered"]:,.0f}/{res["expected"]:,.0f}')
    return ', '.join(bits)

# --- profiles ---------------------------------------------------------------------------------

GROUPS = (('library', ('cjm_fasthtml_sse/',)), ('uvicorn', ('uvicorn/', 'httptools', 'h11/')),
          ('FastHTML/Starlette', ('fasthtml/', 'starlette/', 'fastcore/', 'itsdangerous/', 'anyio/')), ('redis client', ('redis/',)),
          ('asyncio/uvloop, threads', ('asyncio/', 'uvloop/', 'concurrent/', 'threading.py', 'selectors.py')), ('benchmark app', ('benchmarks/',)))

def group(where):
    "Which part of the stack a file (or a py-spy frame naming one) belongs to."
    return next((g for g, marks in GROUPS if any(m in where for m in marks)), 'other (stdlib, json, gc, ...)')

def py_spy():
    "The py-spy executable: on PATH, or installed on demand into `benchmarks/.venv-tools` (as profile_http.py does)."
    exe = shutil.which('py-spy')
    if exe: return exe
    import profile_http
    return profile_http.py_spy()

def spy(pid, out):
    "Start py-spy recording process `pid` (all threads, on-CPU samples, by function) until it gets SIGINT; raw stacks to `out`."
    return subprocess.Popen([py_spy(), 'record', '--pid', str(pid), '--rate', '500', '--function', '--nonblocking', '--format', 'raw', '-o', str(out)],
                            stdout=subprocess.DEVNULL, stderr=open(str(out) + '.log', 'w'), preexec_fn=run._die_with_parent)

def read_stacks(path):
    "py-spy's raw output: samples by stack (a tuple of frames, outermost first)."
    stacks = collections.Counter()
    if not path.exists(): raise RuntimeError(f'py-spy wrote nothing: {Path(str(path) + ".log").read_text()[-1000:]}')
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(' ')
        if n.isdigit(): stacks[tuple(stack.split(';'))] += int(n)
    return stacks

CALLEE_GROUPS = ('asyncio/uvloop, threads', 'other (stdlib, json, gc, ...)')

def charged(stack):
    "The part of the stack that a sample's time is charged to: its innermost frame outside asyncio and the standard library."
    if stack[-1].startswith(('Runner.run ', 'BaseEventLoop.run_forever ', 'BaseEventLoop._run_once ')): return 'the event loop (polling, dispatch)'
    return next((g for g in map(group, reversed(stack)) if g not in CALLEE_GROUPS), group(stack[-1]))

def short_path(path):
    "A file's path from its package: `.../site-packages/uvicorn/x.py` -> `uvicorn/x.py`, `/usr/lib/python3.11/asyncio/x.py` -> `asyncio/x.py`."
    path = path.split('site-packages/')[-1]
    if 'cjm_fasthtml_sse/' in path: return path[path.index('cjm_fasthtml_sse/'):]
    return re.sub(r'^.*/lib/python3\.\d+/', '', path).replace(str(run.ROOT) + '/', '')

def short_frame(frame):
    "`func (/long/path/site-packages/pkg/mod.py:12)` -> `func (pkg/mod.py:12)`."
    name, _, where = frame.partition(' (')
    return f'{name} ({short_path(where)}' if where else frame

def cpu_profile_md(p, top=12):
    "Markdown for one py-spy profile: own time by part of the stack, then the top functions."
    res, L = p['res'], []
    for i, stacks in enumerate(p['stacks']):
        own, by_group, by_caller = collections.Counter(), collections.Counter(), collections.Counter()
        for st, n in stacks.items(): own[st[-1]] += n; by_group[group(st[-1])] += n; by_caller[charged(st)] += n
        total = sum(own.values())
        if not total: L += ['(no samples)', '']; continue
        if 'groups' in res:
            g = res['groups'][i]
            per, name = g['cpu_us_per_delivery'], f'process {"AB"[i]} ({"publisher" if i == 0 else "reader"})'
        else: per, name = res.get('cpu_us_per_delivery', nan), 'the server'
        lag = (res.get('lag') or [None] * (i + 1))[i]
        L += [f'{name}: {total:,} on-CPU samples at 500/s; that run: {per:.2f} µs CPU per delivery. "µs/delivery" splits it by the samples\' shares.'
              ' "Charged to" moves the time of asyncio and stdlib functions to the nearest caller outside them.'
              + (f' The loop was held (a 1 ms ticker\'s lateness, `looplag.py`): p50 {lag["p50_ms"]} ms, p99 {lag["p99_ms"]} ms, max {lag["max_ms"]} ms;'
                 f' {lag["over_5ms"]:,} of {lag["ticks"]:,} wake-ups more than 5 ms late; {lag["held_s"]} s late in all (on a busy machine, waiting for a CPU counts too).'
                 f' The ticker itself took {sum(n for st, n in stacks.items() if any("looplag.py" in f for f in st)) / total * 100:.1f}% of the samples.'
                 if lag and lag.get('ticks') else ''), '',
              '| part of the stack | own time | µs/delivery | charged to it | µs/delivery |', '|---|---|---|---|---|']
        L += [f'| {g} | {by_group[g] / total * 100:.1f}% | {per * by_group[g] / total:.2f} | {by_caller[g] / total * 100:.1f}% | {per * by_caller[g] / total:.2f} |'
              for g, _ in (by_group + by_caller).most_common()]
        L += ['', f'| top {top} functions by own time | part | own time | µs/delivery |', '|---|---|---|---|']
        L += [f'| `{short_frame(f)}` | {group(f)} | {n / total * 100:.1f}% | {per * n / total:.2f} |' for f, n in own.most_common(top)]
        L.append('')
    return L

def mem_profile_md(p, top=12):
    "Markdown for the tracemalloc profiles: Python allocations held per open stream, ours and direct, by part of the stack and by file."
    held, floor = p['held'] or {}, p.get('held_direct') or {}
    if 'by_file' not in held: return [f'tracemalloc gave no answer: {held}', '']
    files = {side: {short_path(f): kb for f, kb in h.get('by_file', [])} for side, h in (('ours', held), ('direct', floor))}
    groups = {side: collections.Counter() for side in files}
    for side, fs in files.items():
        for f, kb in fs.items(): groups[side][group(f)] += kb
    L = [f'tracemalloc in the server (`BENCH_TRACE=1`, `memtrace.py`, which slows it and adds to its RSS: {p["res"]["rss_kb_per_client"]:.2f} KB per client'
         f' for ours in that run): Python allocations held per open stream, {held["total_kb"]} KB for ours and {floor.get("total_kb", nan)} KB for direct'
         ' (the 15 largest files of each).', '', '| part of the stack | ours, KB per client | direct | ours − direct |', '|---|---|---|---|']
    L += [f'| {g} | {kb:.2f} | {groups["direct"][g]:.2f} | {kb - groups["direct"][g]:+.2f} |' for g, kb in groups['ours'].most_common()]
    L += ['', '| file | part | ours, KB per client | direct | ours − direct |', '|---|---|---|---|---|']
    L += [f'| `{f}` | {group(f)} | {kb:.2f} | {files["direct"].get(f, 0):.2f} | {kb - files["direct"].get(f, 0):+.2f} |'
          for f, kb in sorted(files['ours'].items(), key=lambda x: -x[1])[:top]]
    return L + ['']

# --- the report ---------------------------------------------------------------------------------

def fmt(v, unit):
    return 'n/a' if v != v else f'{v:.1f} {unit}' if unit == 'ms' or v >= 100 else f'{v:.2f} {unit}'

def evaluate(g):
    "Each row of the table: ours, the reference, their ratio and whether the goal is met (None when a figure is missing)."
    out = {}
    for key, t in TABLE.items():
        o, r = g.med(t['measure'], t['ours'], t['key']), g.med(t['measure'], t['ref'], t['key'])
        x = o / r if (o == o and r == r and r > 0) else nan
        out[key] = {'ours': o, 'ref': r, 'ratio': x, 'met': None if x != x else bool(t['ok'](o - 1e-9, r, x - 1e-9))}  # a ratio exactly on the goal meets it
    return out

def versions():
    out = [f'Python {sys.version.split()[0]}']
    for n in ('cjm-fasthtml-sse', *run.SHARED, 'redis', 'py-spy'):
        with contextlib.suppress(Exception): out.append(f'{n} {version(n)}')
    with contextlib.suppress(Exception):
        import cjm_fasthtml_sse; out[1:2] = [f'cjm_fasthtml_sse {cjm_fasthtml_sse.__version__} (from {Path(cjm_fasthtml_sse.__file__).parent.parent})']
    with contextlib.suppress(Exception):
        out.append(subprocess.run(['redis-server', '--version'], capture_output=True, text=True, timeout=10).stdout.split(' sha=')[0])
    return ', '.join(out)

def report(g, res, args, meta):
    ref_name = lambda t: {'direct': 'direct', 'ours': 'ours, 1 process', 'steady': f'ours, steady {BURST_RATE}/s'}[t['ref']]
    L = [f'## The goals of issue 21{" (QUICK SMOKE RUN: small sizes, 1 repetition; not the goal figures)" if args.quick else ""}', '',
         f'- Command: `python benchmarks/goals21.py{meta["args"]}`, {meta["minutes"]:.1f} minutes, {meta["date"]}',
         f'- Commit: {run.tree_state()}', f'- Versions: {versions()}', f'- Machine: {run.machine()}',
         f'- Noise: load average (1/5/15 min) {fmt_load(meta["load0"])} at the start, {fmt_load(meta["load1"])} at the end; other processes used'
         f' {meta["others"]:.2f} of {os.cpu_count()} cores on average during the run' + (' (busy: compare the ratios, not the absolute figures)' if meta['others'] > 0.25 else ''),
         f'- Sides: "ours" is `benchmarks/app_cjm.py`, the `fast_app()` app a user writes with `setup_broadcast_routes` (session middleware, Beforeware'
         ' stack and all); "direct" is `benchmarks/app_direct.py`, raw ASGI whose publisher awaits each client\'s `send`, the floor. One uvicorn'
         ' worker per server (uvloop, httptools), 127.0.0.1, clients in a separate process (`load.py`).',
         f'- {g.z["reps"]} alternating repetitions per measure (the side order rotates), medians; the ratio is of the medians.', '',
         '| measure | ours | reference | ratio | goal | met |', '|---|---|---|---|---|---|']
    for key, t in TABLE.items():
        e = res[key]
        met = 'n/a' if e['met'] is None else 'yes' if e['met'] else '**no**'
        ratio = 'n/a' if e['ratio'] != e['ratio'] else f'{e["ratio"]:.3f}×'
        L.append(f'| {t["what"].format(**g.z)} | {fmt(e["ours"], t["unit"])} | {fmt(e["ref"], t["unit"])} ({ref_name(t)}) | {ratio} | {t["goal"]} | {met} |')
    loop_ideal = g.med('loop', 'ideal', 'ping_p99_ms')
    L += ['', f'How each is measured (sizes of this run):',
          f'- CPU per delivery: server user+system CPU (`/proc`) over the publishing window, over the deliveries; C={g.z["c"]:,}, {g.z["steady_msgs"]} messages'
          f' per repetition ({g.z["c"] * g.z["steady_msgs"]:,} deliveries). p99: client clock at receipt minus the server clock in the payload, same runs.',
          f'- RSS: `route_rss.py`\'s method on these two apps: the server\'s RSS with {g.z["rss_n"]:,} clients connected, each having read 5 broadcasts, minus its RSS after a warm-up, per client.',
          f'- `GET /ping`: `ping.py` at {PING_RATE}/s on one keep-alive connection to the same worker while C={g.z["loop_c"]:,} clients receive {g.z["loop_msgs"]} broadcasts at'
          f' {LOOP_RATE}/s; latency counted from when each ping was due.' + (f' The ideal (raw ASGI, a queue and a task per client): {fmt(loop_ideal, "ms")}.' if loop_ideal == loop_ideal else ''),
          f'- Cross-process: two uvicorn processes of ours (one worker each) on one redis-server (`RedisBackend`), C={g.z["c"]:,} clients split evenly,'
          ' every publish through the first; against ours on one process (in-memory backend) in the same repetitions as the CPU at 10/s.',
          f'- Burst: `POST /burst` makes {g.z["burst_n"]:,} `broadcast()` calls in a tight loop to C={g.z["burst_c"]} clients; server CPU from before the call until every'
          f' event is delivered, per delivered event ({g.z["burst_c"] * g.z["burst_n"]:,} events); against {g.z["burst_steady"]} messages at {BURST_RATE}/s to the same C on a'
          f' fresh server ({g.z["burst_c"] * g.z["burst_steady"]:,} deliveries). Against ours at C={g.z["c"]:,} and 10/s instead:'
          f' {fmt_x(res["burst"]["ours"], g.med("steady10", "ours", "cpu_us_per_delivery"))}.', '',
          '### Each repetition', '', '| measure | side | figure | each repetition (in run order) | median |', '|---|---|---|---|---|']
    rows = [('steady10', 'cpu_us_per_delivery', 'CPU µs/delivery'), ('steady10', 'lat_p99_ms', 'p99 ms'), ('steady10', 'A_p99_ms', 'p99 ms, process A (publisher)'),
            ('steady10', 'B_p99_ms', 'p99 ms, process B'), ('steady30', 'cpu_us_per_delivery', 'CPU µs/delivery'), ('steady30', 'lat_p99_ms', 'p99 ms'),
            ('rss', 'rss_kb_per_client', 'RSS KB/client'), ('burst', 'cpu_us_per_delivery', 'CPU µs/event'), ('loop', 'ping_p99_ms', 'GET /ping p99 ms'),
            ('loop', 'ping_p50_ms', 'GET /ping p50 ms'), ('loop', 'lat_p99_ms', 'delivery p99 ms'),
            *((m, 'gc_full', 'full collections (gc)') for m in MEASURES), *((m, 'delivered', 'delivered') for m in MEASURES)]
    for m, k, label in rows:
        for (mm, side), rs in g.runs.items():
            if mm != m or not any(k in r for r in rs): continue
            xs, f = g.each(m, side, k), ('{:,.0f}' if k in ('gc_full', 'delivered') else '{:,.2f}').format
            exp = f' of {median(g.each(m, side, "expected")):,.0f}' if k == 'delivered' else ''
            L.append(f'| {m} | {side} | {label} | {", ".join(map(f, xs))} | {f(median([x for x in xs if x == x]))}{exp} |')
    for key, t in TABLE.items():  # repetition r of ours against repetition r of the reference: they ran next to each other
        pairs = list(zip(g.each(t['measure'], t['ours'], t['key']), g.each(t['measure'], t['ref'], t['key'])))
        if pairs: L.append(f'| {t["measure"]} | {t["ours"]} / {t["ref"]} | ratio, {key} | {", ".join(fmt_x(o, r) for o, r in pairs)} | {fmt_x(res[key]["ours"], res[key]["ref"])} (of the medians) |')
    L += ['', '### Noise during each measure', '', '| measure | minutes | other processes\' cores (average) | load average at its end |', '|---|---|---|---|']
    L += [f'| {m} | {v["s"] / 60:.1f} | {v["others_cores"]:.2f} | {fmt_load(v["load"])} |' for m, v in g.noise.items()]
    L.append('')
    if g.profiles:
        L += ['### Profiles' + (' of the missed goals' if not args.profile_all else ' (every measure, --profile-all)'), '',
              'One extra repetition of ours per profile, after the measured ones. Time: py-spy attached to the server for the publishing window only'
              ' (on-CPU samples of all its threads, grouped by the innermost function: "own time"); py-spy costs CPU itself, so the profiled'
              ' run\'s figures are a little worse than the measured ones. A function\'s own time includes the C code it calls: uvloop\'s'
              ' `transport.write` and the `send` system call show under the library\'s `_write_now`, and `Runner.run` is the event loop itself'
              ' (uvloop\'s polling and dispatch, in C). Memory: tracemalloc in the server.', '']
        for what, p in g.profiles.items():
            L += [f'#### {what}: for {", ".join(TABLE[k]["what"].format(**g.z) for k in p["keys"])}', '']
            L += mem_profile_md(p) if what == 'rss' else cpu_profile_md(p)
    elif not args.no_profile and all(e['met'] for e in res.values() if e['met'] is not None): L += ['Every goal was met: no profile taken.', '']
    if failures: L += ['### Failures', ''] + [f'- {f}' for f in failures] + ['']
    return '\n'.join(L)

def fmt_load(la): return ' / '.join(f'{x:.2f}' for x in la)

def main(argv=None):
    signal.signal(signal.SIGTERM, run._sigterm)  # so that the `finally` blocks stop every process we started
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='smoke run: small sizes, 1 repetition, every profile')
    ap.add_argument('--reps', type=int, help='repetitions per measure (default 3; 1 with --quick)')
    ap.add_argument('--no-profile', action='store_true', help='take no profile, even for a missed goal')
    ap.add_argument('--profile-all', action='store_true', help='profile every measure, met or not (the default with --quick)')
    ap.add_argument('--only', default=','.join(MEASURES), help=f'comma-separated measures to run (default all: {",".join(MEASURES)})')
    ap.add_argument('--no-ideal', action='store_true', help='leave the ideal out of the GET /ping measure (about 2 minutes less)')
    ap.add_argument('--out', help='where to write the report (default benchmarks/.results-goals21.md, or .results-goals21-quick.md)')
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)
    if args.quick and not args.no_profile: args.profile_all = True
    size = dict(QUICK if args.quick else FULL)
    if args.reps: size['reps'] = args.reps
    out = Path(args.out) if args.out else HERE / ('.results-goals21-quick.md' if args.quick else '.results-goals21.md')
    t0, busy0, own0, load0 = time.monotonic(), run.busy_jiffies(), own_cpu(), os.getloadavg()
    date = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    log(f'goals21: Python {sys.version.split()[0]}, {run.machine()}; open files limit {run.raise_nofile()}; commit {run.tree_state()}; load average {fmt_load(load0)}')
    profdir = out.parent / (out.name.rsplit('.md', 1)[0] + '-profiles')
    shutil.rmtree(profdir, ignore_errors=True); profdir.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix='cjm-goals21-') as tmp:
        g = Goals(size, Path(tmp), profdir, not args.no_ideal)
        try:
            with contextlib.ExitStack() as stack:
                try: redis, url = stack.enter_context(run.redis_server(Path(tmp)))
                except Exception as e: redis = url = None; fail('redis-server: the cross-process measure is left out', repr(e))
                g.run_all(redis, url, args.only.split(','))
                res = evaluate(g)
                if not args.no_profile:
                    g.profile({k: e['met'] is False for k, e in res.items()}, redis, url, args.profile_all)
        except Exception:
            import traceback; fail('goals21 run', traceback.format_exc())
        res = evaluate(g)
    elapsed = time.monotonic() - t0
    meta = {'args': ''.join(f' {x}' for i, x in enumerate(argv) if x != '--out' and not (i and argv[i - 1] == '--out')), 'minutes': elapsed / 60, 'date': date, 'load0': load0, 'load1': os.getloadavg(), 'others': others(busy0, own0, elapsed)}
    text = report(g, res, args, meta)
    out.write_text(text + '\n')
    print('\n' + text, flush=True)
    log(f'report written to {out} (py-spy stacks in {profdir}) after {elapsed:.0f} s' + (f'; {len(failures)} failure(s)' if failures else ''))
    return 1 if failures else 0

if __name__ == '__main__': sys.exit(main())
