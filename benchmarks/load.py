"""SSE load client, run by run.py in a process of its own: `python load.py '{json config}'`.

It opens C streams to a server on 127.0.0.1 (or, with `targets`, splits them evenly over several servers; the first
one gets the publishes), waits until the servers have registered them all, then either
- `deliver`: publishes M messages at R per second through `POST /publish?seq=N` and measures delivery, latency
  (the server's clock is in each payload), the server's CPU (from /proc/PID/stat) and its RSS; or
- `hold`: prints `{"ready": ...}` and keeps reading until a line arrives on stdin, for the shutdown measurement; or
- `burst`: one `POST /burst?n=M` (the server broadcasts M messages in a tight loop) and measures the server's CPU until all
  are delivered.
With `ping` (a rate), `deliver` also runs `ping.py` while it publishes: `GET /ping` at that rate, its latency percentiles.
Streams are parsed just enough to find each payload, so that the client stays cheap next to the server.
With `gc`, it also reports the collector's runs in the (first) server during publishing (`GET /gc`, app_cjm only).
With `targets`, the output also has `groups`: delivery, latency and CPU per server, and `extra_cpu_s` for `extra_pids`.
With `announce`, `deliver` and `burst` print `{"phase": "publishing"}` once the streams are warm and wait for a line on stdin
before they start, so that a profiler can attach to the servers for just the publishing window (goals21.py)."""
import asyncio, json, os, re, resource, subprocess, sys, time
from common import TOKEN, cpu_seconds, median, pct, rss_bytes, send_json

WARMUP_BASE = 10**6  # warm-up messages carry seq >= this and are not counted

class Stream(asyncio.Protocol):
    "One SSE client connection."
    def __init__(self, request, stats, loop):
        self.request, self.stats = request, stats
        self.buf, self.head, self.got, self.warm = b'', True, 0, 0
        self.ready, self.closed, self.transport = loop.create_future(), False, None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        if self.head:
            self.buf += data
            i = self.buf.find(b'\r\n\r\n')
            if i < 0: return
            head, data, self.buf, self.head = self.buf[:i], self.buf[i + 4:], b'', False
            if not self.ready.done(): self.ready.set_result(int(head[9:12]))
        buf = self.buf + data if self.buf else data
        end = buf.rfind(b'\n')
        if end < 0: self.buf = buf; return
        now, stats = time.time(), self.stats
        for m in TOKEN.finditer(buf, 0, end):
            seq = int(m[1])
            if seq >= WARMUP_BASE: self.warm += 1; continue
            stats.latency.append(now - float(m[2]))
            self.got += 1
        self.buf = buf[end + 1:]

    def connection_lost(self, exc):
        self.closed = True
        self.stats.closed += 1
        if not self.ready.done(): self.ready.set_result(0)

class Stats:
    def __init__(self): self.latency, self.closed = [], 0

class Http:
    "A keep-alive HTTP/1.1 connection for the control requests; reopened when the server closed it (uvicorn's keep-alive is 5 s)."
    @classmethod
    async def open(cls, port):
        self = cls()
        self.port, self.writer = port, None
        await self._connect()
        return self
    async def _connect(self):
        if self.writer is not None: self.writer.close()
        self.reader, self.writer = await asyncio.open_connection('127.0.0.1', self.port)
    async def request(self, method, path, timeout=30):
        async with asyncio.timeout(timeout):
            for attempt in (0, 1):
                try:
                    self.writer.write(f'{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n'.encode())
                    head = await self.reader.readuntil(b'\r\n\r\n')
                    body = await self.reader.readexactly(int(re.search(rb'(?i)\r\ncontent-length: *(\d+)', head)[1]))
                    break
                except (asyncio.IncompleteReadError, ConnectionError):
                    if attempt: raise
                    await self._connect()
        status = int(head[9:12])
        if status != 200: raise RuntimeError(f'{method} {path} answered {status}: {body[:200]!r}')
        return json.loads(body)

async def connect_all(path, port, clients, stats, loop):
    "Open `clients` streams to `port`, at most 256 handshakes at a time; the ones that got 200."
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
    gate, streams = asyncio.Semaphore(256), []
    async def one():
        async with gate:
            for attempt in range(3):
                try:
                    _, s = await asyncio.wait_for(loop.create_connection(lambda: Stream(request, stats, loop), '127.0.0.1', port), 20)
                    if await asyncio.wait_for(s.ready, 20) == 200: streams.append(s); return
                    s.transport.close()
                except (OSError, asyncio.TimeoutError):
                    await asyncio.sleep(0.2 * (attempt + 1))
    await asyncio.gather(*(one() for _ in range(clients)))
    return streams

async def wait_registered(ctl, n, timeout):
    "Poll `GET /count` until the server has registered `n` clients; its last answer."
    deadline = time.monotonic() + timeout
    while True:
        got = (await ctl.request('GET', '/count'))['n']
        if got >= n or time.monotonic() > deadline: return got
        await asyncio.sleep(0.05)

async def wait_quiet(cond, cap, still=5):
    "Wait until `cond()` holds; give up after `cap` s, or after `still` s in which the counter it returns did not move."
    deadline, last, since = time.monotonic() + cap, None, time.monotonic()
    while time.monotonic() < deadline:
        done, progress = cond()
        if done: return True
        if progress != last: last, since = progress, time.monotonic()
        elif time.monotonic() - since > still: return False
        await asyncio.sleep(0.02)
    return False

async def gc_stats(ctl, reset=False):
    "The server's collector statistics (`GET /gc`: app_cjm only, so asked for only with `cfg['gc']`)."
    return await ctl.request('GET', '/gc?reset=1' if reset else '/gc')

async def announce(cfg, loop):
    "With `announce`: say that the publishing is about to start, and wait for a line on stdin (a profiler is attaching)."
    if not cfg.get('announce'): return
    send_json(sys.stdout, {'phase': 'publishing'})
    await loop.run_in_executor(None, sys.stdin.readline)

class Group:
    "The streams of one server, with their own stats and control connection."
    def __init__(self, port, pid, clients): self.port, self.pid, self.clients, self.stats, self.streams = port, pid, clients, Stats(), []

async def main(cfg):
    loop = asyncio.get_running_loop()
    C = cfg['clients']
    targets = cfg.get('targets') or [{'port': cfg['port'], 'pid': cfg['server_pid']}]
    groups = [Group(t['port'], t['pid'], C // len(targets) + (i < C % len(targets))) for i, t in enumerate(targets)]
    pids = [g.pid for g in groups]
    extra = cfg.get('extra_pids', [])
    for g in groups: g.ctl = await Http.open(g.port)
    ctl = groups[0].ctl  # the publisher
    await ctl.request('POST', f'/publish?seq={WARMUP_BASE}')  # every route imported and warm, no client yet
    rss_idle = sum(rss_bytes(pid) for pid in pids)
    t = time.monotonic()
    for g in groups: g.streams = await connect_all(cfg['path'], g.port, g.clients, g.stats, loop)
    streams = [s for g in groups for s in g.streams]
    for g in groups: g.registered = await wait_registered(g.ctl, g.clients, 30 + C / 200)
    out = {'clients': C, 'connected': len(streams), 'registered': sum(g.registered for g in groups), 'connect_s': time.monotonic() - t}
    if cfg['mode'] == 'hold':
        send_json(sys.stdout, {'ready': True, **out})
        await loop.run_in_executor(None, sys.stdin.readline)
        out['closed_by_server'] = sum(g.stats.closed for g in groups)
    elif cfg['mode'] == 'burst':
        for w in range(1, 4): await ctl.request('POST', f'/publish?seq={WARMUP_BASE + w}')
        await wait_quiet(lambda: (all(s.warm >= 3 or s.closed for s in streams), sum(s.warm for s in streams)), 20)
        await announce(cfg, loop)
        M, expected, total = cfg['messages'], len(streams) * cfg['messages'], lambda: sum(s.got for s in streams)
        pid = pids[0]
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        call = (await ctl.request('POST', f'/burst?n={M}&seq=0', timeout=120))['dt']
        await wait_quiet(lambda: (total() >= expected, total()), 60)
        drained_s, cpu_s, delivered = time.monotonic() - t0, cpu_seconds(pid) - cpu0, total()
        lat = groups[0].stats.latency
        out.update(messages=M, expected=expected, delivered=delivered, drained_s=drained_s, cpu_s=cpu_s, burst_call_ms=call * 1e3,
                   cpu_us_per_delivery=cpu_s / delivered * 1e6 if delivered else float('nan'),
                   lat_p50_ms=pct(lat, 50) * 1e3, lat_p99_ms=pct(lat, 99) * 1e3, closed_by_server=groups[0].stats.closed)
    else:
        for w in range(1, 4):  # warm-up messages, not counted
            await ctl.request('POST', f'/publish?seq={WARMUP_BASE + w}')
        await wait_quiet(lambda: (all(s.warm >= 3 or s.closed for s in streams), sum(s.warm for s in streams)), 20)
        await announce(cfg, loop)
        M, rate = cfg['messages'], cfg['rate']
        rss_connected, own0 = sum(rss_bytes(pid) for pid in pids), cpu_seconds(os.getpid())
        if cfg.get('gc'):
            for g in groups: await gc_stats(g.ctl, reset=True)
        cpu0 = {pid: cpu_seconds(pid) for pid in pids + extra}
        pinger = None if not cfg.get('ping') else subprocess.Popen(
            [sys.executable, 'ping.py', str(groups[0].port), str(cfg['ping']), str(cfg['messages'] / cfg['rate'])], stdout=subprocess.PIPE, text=True)
        t0, dts, late = time.monotonic(), [], 0
        for i in range(M):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0: await asyncio.sleep(delay)
            else: late += 1
            dts.append((await ctl.request('POST', f'/publish?seq={i}'))['dt'])
        publish_s = time.monotonic() - t0
        if pinger is not None:
            line = (await loop.run_in_executor(None, pinger.communicate, None, 60))[0].strip().splitlines()
            if not line: raise RuntimeError(f'ping.py exited with {pinger.returncode} and no answer')
            out.update(json.loads(line[-1]))
        expected = len(streams) * M
        total = lambda: sum(s.got for s in streams)
        await wait_quiet(lambda: (total() >= expected, total()), 30)
        drained_s = time.monotonic() - t0
        cpu = {pid: cpu_seconds(pid) - c for pid, c in cpu0.items()}
        for g in groups: g.gc = await gc_stats(g.ctl) if cfg.get('gc') else None
        rss_after, own1 = sum(rss_bytes(pid) for pid in pids), cpu_seconds(os.getpid())
        delivered = total()
        lat = [x for g in groups for x in g.stats.latency]
        cpu_s = sum(cpu[pid] for pid in pids)
        out.update(messages=M, rate=rate, expected=C * M, delivered=delivered, publish_s=publish_s, drained_s=drained_s,
                   late_publishes=late, closed_by_server=sum(g.stats.closed for g in groups),
                   server_cpu_pct=cpu_s / drained_s * 100, client_cpu_pct=(own1 - own0) / drained_s * 100,
                   lat_p50_ms=pct(lat, 50) * 1e3, lat_p99_ms=pct(lat, 99) * 1e3, lat_max_ms=max(lat, default=float('nan')) * 1e3,
                   cpu_s=cpu_s, cpu_us_per_delivery=cpu_s / delivered * 1e6 if delivered else float('nan'),
                   bcast_p50_ms=median(dts) * 1e3, bcast_p99_ms=pct(dts, 99) * 1e3, bcast_max_ms=max(dts) * 1e3,
                   rss_idle_mb=rss_idle / 2**20, rss_kb_per_client=(rss_after - rss_idle) / max(1, len(streams)) / 1024,
                   rss_kb_per_client_connected=(rss_connected - rss_idle) / max(1, len(streams)) / 1024)
        if groups[0].gc:  # the collector during the publishing window, in the (first) server
            gs = groups[0].gc
            out.update(gc_gen0=gs['n'][0], gc_gen1=gs['n'][1], gc_full=gs['n'][2], gc_full_max_ms=gs['max_ms'][2],
                       gc_ms_total=sum(gs['ms']), gc_max_ms=max(gs['max_ms']))
        if cfg.get('targets'):
            out['groups'] = []
            for g in groups:
                got = sum(s.got for s in g.streams)
                gl = g.stats.latency
                out['groups'].append({'port': g.port, 'connected': len(g.streams), 'registered': g.registered, 'expected': len(g.streams) * M,
                                      'delivered': got, 'lat_p50_ms': pct(gl, 50) * 1e3, 'lat_p99_ms': pct(gl, 99) * 1e3,
                                      'lat_max_ms': max(gl, default=float('nan')) * 1e3, 'cpu_s': cpu[g.pid],
                                      'cpu_us_per_delivery': cpu[g.pid] / got * 1e6 if got else float('nan'),
                                      'server_cpu_pct': cpu[g.pid] / drained_s * 100})
            out['extra_cpu_s'] = [cpu[pid] for pid in extra]
    for s in streams:
        if s.transport is not None: s.transport.close()
    for g in groups: g.ctl.writer.close()
    await asyncio.sleep(0.2)
    send_json(sys.stdout, out)

if __name__ == '__main__':
    cfg = json.loads(sys.argv[1])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    job = asyncio.wait_for(main(cfg), cfg.get('timeout', 600))
    try: import uvloop
    except ImportError: asyncio.run(job)
    else: uvloop.run(job)
