"""The README's two Quick start lines, taken literally, on a fresh clone of this checkout's HEAD in a fresh venv.

Line 1 runs in bash in the background until the demo answers on localhost, then gets Ctrl+C (SIGINT to its process
group, as a terminal sends it) and must exit cleanly. Line 2 runs as is, with `CJM_SSE_QUICKSTART_SMOKE=1` so that the
inner `python -m pytest` runs a small subset (tests/conftest.py): the whole suite inside the suite would take minutes,
and the full run is what CI does. Both share the user's pip cache. Only committed work is tested (it clones HEAD)."""
import os, shutil, signal, subprocess, time, urllib.request
from pathlib import Path
import pytest
from helpers import REQUIRE_ALL, ROOT, free_port

pytestmark = pytest.mark.timeout(600)

def _quick_start():
    text = (ROOT/'README.md').read_text()
    block = text.split('## Quick start', 1)[1].split('```sh\n', 1)[1].split('```', 1)[0]
    return [l for l in block.splitlines() if l.strip()]

@pytest.fixture(scope='module')
def clone(tmp_path_factory):
    git = shutil.which('git')
    if git is None:
        msg = 'git is not installed, so the Quick start test cannot clone this checkout; install it with: sudo apt-get install -y git (macOS: xcode-select --install)'
        if REQUIRE_ALL: pytest.fail(msg + ' (CJM_SSE_REQUIRE_ALL=1 turns this skip into a failure)')
        pytest.skip(msg)
    head = subprocess.run([git, 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    dest = tmp_path_factory.mktemp('quickstart') / 'cjm-fasthtml-sse'
    subprocess.run([git, 'clone', '--quiet', str(ROOT), str(dest)], check=True, timeout=120)
    subprocess.run([git, 'checkout', '--quiet', '--detach', head], cwd=dest, check=True, timeout=60)
    return dest

def _env(**extra):
    "The user's environment, minus anything that would leak this run's Python or settings into the fresh venv."
    drop = ('PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'CJM_SSE_REQUIRE_ALL', 'PYTEST_ADDOPTS', 'PYTEST_CURRENT_TEST')
    return {**{k: v for k, v in os.environ.items() if k not in drop}, 'PIP_DISABLE_PIP_VERSION_CHECK': '1', **extra}

def _get(url, timeout):
    with urllib.request.urlopen(url, timeout=timeout) as r: return r.status, r.read().decode()

def test_line_1_serves_the_demo_and_stops_on_ctrl_c(clone):
    line = _quick_start()[0]
    port = free_port()
    proc = subprocess.Popen(['bash', '-c', line], cwd=clone, env=_env(CJM_SSE_DEMO_PORT=str(port)), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, page, err = time.monotonic() + 240, None, None
        while page is None and time.monotonic() < deadline and proc.poll() is None:
            try: status, page = _get(f'http://127.0.0.1:{port}/', 2)
            except OSError as e: err = e; time.sleep(0.5)
        assert page is not None, f"the demo never answered on port {port} ({err!r}); exit {proc.poll()}"
        assert status == 200 and 'id="counter"' in page
        os.killpg(proc.pid, signal.SIGINT)
        out, errout = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            out, errout = proc.communicate(timeout=10)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out[-2000:]}\n{errout[-3000:]}"
    assert 'Traceback' not in errout, errout[-3000:]
    assert f'cjm-fasthtml-sse demo on http://127.0.0.1:{port}' in out, out[-2000:]

def test_line_2_installs_the_dev_tools_and_runs_the_tests(clone):
    line = _quick_start()[1]
    r = subprocess.run(['bash', '-c', line], cwd=clone, env=_env(CJM_SSE_QUICKSTART_SMOKE='1'),
                       capture_output=True, text=True, timeout=480)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-5000:]
    assert 'CJM_SSE_QUICKSTART_SMOKE=1, only tests/test_readme.py, tests/test_demo.py run' in r.stdout, r.stdout[-3000:]
    summary = [l for l in r.stdout.splitlines() if ' passed' in l and 'deselected' in l]
    assert summary and 'failed' not in summary[-1] and 'skipped' not in summary[-1], r.stdout[-3000:]
    assert 'python-fasthtml ' in r.stdout and 'NOT RUN' not in r.stdout, r.stdout[-3000:]
