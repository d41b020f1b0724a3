"Shared helpers for the integration tests: finding programs, free ports, and running a real uvicorn server."
import os, shutil, pytest

REQUIRE_ALL = os.environ.get('CJM_SSE_REQUIRE_ALL') == '1'

def require_program(name, install_hint):
    "Path of program `name`; skip the test (fail under CJM_SSE_REQUIRE_ALL=1) with `install_hint` when it is missing."
    path = shutil.which(name)
    if path: return path
    msg = f"{name} is not installed; install it with: {install_hint}"
    if REQUIRE_ALL: pytest.fail(msg + " (CJM_SSE_REQUIRE_ALL=1 turns this skip into a failure)")
    pytest.skip(msg)

import contextlib, socket, subprocess, sys, time
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
def running(args, port, env=None):
    "Run `python *args` from the repo root (with tests/ importable) until the block ends; yield the base URL."
    import os
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT / 'tests'), str(ROOT)]), **(env or {})}
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env)
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
