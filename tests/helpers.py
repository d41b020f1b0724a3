"Shared helpers for the integration tests: finding programs, free ports, and running a real uvicorn server."
import os, shutil, pytest

REQUIRE_ALL = os.environ.get('CJM_SSE_REQUIRE_ALL') == '1'

def require_program(name, install_hint=None):
    """Path of program `name`; else skip the test (fail under CJM_SSE_REQUIRE_ALL=1), naming every program this machine
    lacks and how to install them all on Debian, Ubuntu and macOS (`install_hint` is used for programs `provision` doesn't know)."""
    path = shutil.which(name)
    if path: return path
    import provision
    gone = provision.missing() if name in provision.PROGRAMS else [name]
    if name not in gone: gone = [name, *gone]
    also = f" (this machine lacks all of: {', '.join(gone)})" if len(gone) > 1 else ''
    hint = provision.install_hints(gone) if name in provision.PROGRAMS else install_hint
    msg = f"{name} is not installed{also}; install with: {hint}"
    if REQUIRE_ALL: pytest.fail(msg + " (CJM_SSE_REQUIRE_ALL=1 turns this skip into a failure)")
    pytest.skip(msg)

import asyncio, contextlib, json, socket, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def free_port():
    "A TCP port on 127.0.0.1 that nothing listens on right now."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

def wait_for_port(port, proc, timeout=20):
    "Wait until something accepts connections on `port`; fail early if `proc` exits."
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None: raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(('127.0.0.1', port), timeout=0.2): return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")

@contextlib.contextmanager
def running(args, port, env=None, procs=None):
    """Run `python *args` from the repo root (with tests/ importable) until the block ends; yield the base URL.
    The process is appended to the list `procs` when one is given, for a test that signals it."""
    import os
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT / 'tests'), str(ROOT)]), **(env or {})}
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env)
    if procs is not None: procs.append(proc)
    try:
        wait_for_port(port, proc)
        yield f'http://127.0.0.1:{port}'
    finally:
        proc.terminate()
        try: proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

def uvicorn_app(module_app, port, env=None):
    "Run an ASGI app (`module:attr`) under a real uvicorn process on 127.0.0.1:`port`."
    return running(['-m', 'uvicorn', module_app, '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning'], port, env)


# Client-side helpers for talking to tests/server_app.py
from cjm_fasthtml_sse.testing import SSEClient, start_redis

def run(coro, timeout=120): return asyncio.run(asyncio.wait_for(coro, timeout))

async def state(http, url): return (await http.get(f'{url}/_test/state')).json()

async def poll(fetch, cond, timeout=5, what='server state'):
    "Await `fetch()` until `cond` holds for what it returns, for at most `timeout` seconds; that value, or an AssertionError showing the last one."
    deadline = time.monotonic() + timeout
    while not cond(s := await fetch()):
        if time.monotonic() > deadline: raise AssertionError(f'{what} never matched: {s}')
        await asyncio.sleep(0.02)
    return s

async def until(http, url, cond, timeout=10):
    "Poll the server state (`/_test/state`) until `cond(state)` holds."
    return await poll(lambda: state(http, url), cond, timeout)

@contextlib.contextmanager
def engine_server(kind='httptools', redis=None, procs=None, **kw):
    """tests/engine_app.py under a real server: uvicorn (httptools or h11), uvicorn behind a transport-hiding middleware (`hidden`), or
    hypercorn; its manager takes `kw`, and `redis` is a Redis URL for a `RedisBackend`. Yields the URL; the process goes into `procs`."""
    port = free_port()
    if kind == 'hypercorn': args = ['-m', 'hypercorn', 'engine_app:app', '--bind', f'127.0.0.1:{port}', '--graceful-timeout', '1']
    else: args = ['-m', 'uvicorn', 'engine_app:hidden' if kind == 'hidden' else 'engine_app:app', '--host', '127.0.0.1', '--port', str(port),
                  '--log-level', 'warning', '--http', 'h11' if kind == 'h11' else 'httptools', '--loop', 'uvloop']
    env = {'SSE_ENGINE_KW': json.dumps(kw), **({'SSE_ENGINE_REDIS': redis} if redis else {})}
    with running(args, port, env, procs) as url: yield url

async def connect(url, n=1, path='/sse/broadcast', **params):
    query = '&'.join(f'{k}={v}' for k, v in params.items())
    return [await SSEClient.connect(f'{url}{path}' + (f'?{query}' if query else '')) for _ in range(n)]

async def broadcast(http, url, type_, data, exclude=(), channel=None):
    return (await http.post(f'{url}/_test/broadcast', json={'type': type_, 'data': data, 'exclude': list(exclude), 'channel': channel})).json()

async def hang_up(http, url, clients):
    for c in clients: await c.close()
    await until(http, url, lambda s: not s['connections'])

def stalled_socket(port, path):
    "A client that asks for the stream at `path` and then never reads a byte."
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(('127.0.0.1', port))
    s.sendall(f'GET {path} HTTP/1.1\r\nHost: x\r\n\r\n'.encode())
    return s

@contextlib.contextmanager
def redis_server():
    "A throwaway redis-server on a free 127.0.0.1 port with no persistence; yields `(url, processes, start)`: `start()` starts it again on the same port."
    require_program('redis-server', 'apt-get install redis-server')
    port = free_port()
    procs = []
    def start():
        p, _ = start_redis(port)
        procs.append(p)
        return p
    start()
    try: yield f'redis://127.0.0.1:{port}/0', procs, start
    finally:
        for p in procs:
            if p.poll() is None: p.kill(); p.wait(10)

async def opening(client, timeout=5):
    "Read `client`'s stream until the greeting comment has arrived; events dispatched meanwhile stay queued on the client."
    async with asyncio.timeout(timeout):
        while not any(c.startswith('Connected') for c in client.parser.comments):
            data = await client.read_body()
            if not data and client.ended: break
            client._events += client.parser.feed(data)
    return client._events

def readme_tour_code():
    "The python code blocks of the README's tour, joined in order: the app exactly as the README shows it, `serve()` last."
    import re
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    tour = readme.split('## A 5-minute tour', 1)[1].split('\n## ', 1)[0]
    blocks = re.findall(r'```python\n(.*?)```', tour, flags=re.S)
    assert blocks and any('create_sse_element' in b or 'setup_sse(' in b for b in blocks), 'the README tour has no app code any more'
    assert blocks[-1].strip() == 'serve()', "the README tour no longer ends with serve()"
    return '\n'.join(blocks)

def readme_tour(folder, port):
    "Run the README's tour as the README says (`python main.py`, FastHTML's `serve()` with its reloader) on `port`; yields the base URL."
    (Path(folder) / 'main.py').write_text(readme_tour_code(), encoding='utf-8')
    env = {**os.environ, 'PORT': str(port), 'PYTHONPATH': str(ROOT)}
    @contextlib.contextmanager
    def run():
        proc = subprocess.Popen([sys.executable, 'main.py'], cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            wait_for_port(port, proc, timeout=30)
            yield f'http://127.0.0.1:{port}'
        finally:
            import signal
            with contextlib.suppress(ProcessLookupError): os.killpg(proc.pid, signal.SIGTERM)
            try: proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL); proc.wait(10)
    return run()

async def open_streams(url, n):
    "Open `n` streams on `url`'s `/sse/broadcast` and wait until its status counts them all; the clients."
    import httpx
    clients = [await SSEClient.connect(f'{url}/sse/broadcast') for _ in range(n)]
    async with httpx.AsyncClient() as http:
        for _ in range(500):
            if (await http.get(f'{url}/sse/status')).json()['connections'] == n: return clients
            await asyncio.sleep(0.02)
    raise AssertionError(f'{n} streams never registered')
