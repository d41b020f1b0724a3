"Under hypercorn, a shutdown (SIGTERM or SIGINT to its main process, SIGTERM to every process of it, or a programmatic `shutdown_trigger`) ends every open stream cleanly and promptly."
import asyncio, os, signal, subprocess, sys, time
import httpx, pytest
from cjm_fasthtml_sse.testing import SSEClient
from helpers import ROOT, free_port, open_streams, wait_for_port

pytestmark = pytest.mark.timeout(120)
GRACE = 20  # hypercorn's --graceful-timeout: long, so that waiting it out can't be mistaken for a prompt exit

def _hypercorn(port, workers):
    "hypercorn serving tests/server_app.py, in a process group of its own, so that cleanup reaches its worker processes too."
    pytest.importorskip('hypercorn', reason='pip install hypercorn (a dev dependency)')
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT / 'tests'), str(ROOT)])}
    return subprocess.Popen([sys.executable, '-m', 'hypercorn', 'server_app:app', '--bind', f'127.0.0.1:{port}',
                             '--workers', str(workers), '--graceful-timeout', str(GRACE), '--log-level', 'warning'],
                            cwd=ROOT / 'tests', env=env, start_new_session=True)

def _kill_group(proc):
    "Kill what is left of `proc` and its workers (a test that failed may leave them running)."
    try: os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError: pass
    proc.wait(10)

async def _signal_and_watch(proc, url, sig, n=5, group=False):
    "Open `n` streams, send `sig` (to the process, or to its whole process group), and return the clients (read to their end) and the seconds until the process exited."
    clients = await open_streams(url, n)
    start = time.monotonic()
    if group: os.killpg(proc.pid, sig)
    else: proc.send_signal(sig)
    await asyncio.gather(*(c.read_until_end(GRACE + 10) for c in clients))
    while proc.poll() is None and time.monotonic() - start < GRACE + 10: await asyncio.sleep(0.05)
    exited = time.monotonic() - start
    for c in clients: await c.close()
    return clients, exited

# workers=1 is hypercorn's default: a worker process that polls a shutdown event set by the main process's signal handler;
# workers=0 serves in the main process, with hypercorn's own asyncio signal handlers.
@pytest.mark.parametrize('workers,sig', [(1, signal.SIGTERM), (0, signal.SIGTERM), (1, signal.SIGINT)],
                         ids=['SIGTERM-worker-process', 'SIGTERM-single-process', 'SIGINT-worker-process'])
def test_hypercorn_shutdown_ends_every_stream_cleanly(workers, sig):
    port = free_port()
    proc = _hypercorn(port, workers)
    try:
        wait_for_port(port, proc)
        clients, exited = asyncio.run(_signal_and_watch(proc, f'http://127.0.0.1:{port}', sig))
        assert proc.returncode is not None, f'hypercorn did not exit within {GRACE + 10} s'
        clean = sum(c.complete for c in clients)
        assert clean == len(clients), f'{len(clients) - clean} of {len(clients)} streams were cut rather than ended'
        # hypercorn waits for open responses up to its graceful timeout: an exit this far before it means the streams
        # ended on the shutdown signal, not because hypercorn gave up on them (no tighter timing bound: the machine is shared).
        assert exited < GRACE / 2, f'exit took {exited:.1f} s: hypercorn waited for the streams (graceful timeout {GRACE} s)'
    finally: _kill_group(proc)

def test_hypercorn_sigterm_to_every_process_ends_every_stream_cleanly():
    "systemd's default stop sends SIGTERM to every process of the service: a worker process that gets it itself still ends its streams first."
    port = free_port()
    proc = _hypercorn(port, 1)
    try:
        wait_for_port(port, proc)
        clients, exited = asyncio.run(_signal_and_watch(proc, f'http://127.0.0.1:{port}', signal.SIGTERM, group=True))
        assert proc.returncode is not None, f'hypercorn did not exit within {GRACE + 10} s'
        clean = sum(c.complete for c in clients)
        assert clean == len(clients), f'{len(clients) - clean} of {len(clients)} streams were cut rather than ended'
    finally: _kill_group(proc)

_TRIGGER_SCRIPT = '''
import asyncio, sys
from hypercorn.asyncio import serve
from hypercorn.config import Config
from server_app import app

async def main(port):
    config = Config()
    config.bind, config.graceful_timeout, config.loglevel = [f'127.0.0.1:{port}'], float(sys.argv[2]), 'WARNING'
    stop = asyncio.Event()
    async def watch_stdin():  # the app's own shutdown_trigger: a line on stdin
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        stop.set()
    asyncio.get_running_loop().create_task(watch_stdin())
    await serve(app, config, shutdown_trigger=stop.wait)

asyncio.run(main(int(sys.argv[1])))
'''

def test_hypercorn_serve_with_a_shutdown_trigger_ends_every_stream_cleanly(tmp_path):
    "`hypercorn.asyncio.serve(app, config, shutdown_trigger=...)`, hypercorn's documented way to embed it, with no signal at all."
    pytest.importorskip('hypercorn', reason='pip install hypercorn (a dev dependency)')
    (tmp_path / 'serve_it.py').write_text(_TRIGGER_SCRIPT)
    port = free_port()
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT / 'tests'), str(ROOT)])}
    proc = subprocess.Popen([sys.executable, str(tmp_path / 'serve_it.py'), str(port), str(GRACE)], cwd=ROOT / 'tests', env=env,
                            stdin=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, proc)
        async def go():
            clients = await open_streams(f'http://127.0.0.1:{port}', 5)
            start = time.monotonic()
            proc.stdin.write('stop\n'); proc.stdin.flush()
            await asyncio.gather(*(c.read_until_end(GRACE + 10) for c in clients))
            while proc.poll() is None and time.monotonic() - start < GRACE + 10: await asyncio.sleep(0.05)
            for c in clients: await c.close()
            return clients, time.monotonic() - start
        clients, exited = asyncio.run(go())
        assert proc.returncode == 0, f'serve() did not return cleanly (returncode {proc.returncode})'
        assert all(c.complete for c in clients), f'{sum(not c.complete for c in clients)} of 5 streams were cut rather than ended'
        assert exited < GRACE / 2, f'serve() returned after {exited:.1f} s: it waited for the streams (graceful timeout {GRACE} s)'
    finally:
        if proc.poll() is None: proc.kill(); proc.wait(10)
