"""A fresh virtual environment that installs only the built wheel (pip fetches python-fasthtml and the rest of the
dependencies) can import every module of the package and serve the demo."""
import json, os, subprocess, sys, time, urllib.request, zipfile
from pathlib import Path
import pytest
from helpers import REQUIRE_ALL, free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(300)

def _run(args, timeout, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, args))} failed (exit {r.returncode})\n--- stdout\n{r.stdout[-4000:]}\n--- stderr\n{r.stderr[-4000:]}"
    return r.stdout

def _skip_or_fail(msg):
    if REQUIRE_ALL: pytest.fail(msg + " (CJM_SSE_REQUIRE_ALL=1 turns this skip into a failure)")
    pytest.skip(msg)

@pytest.fixture(scope='module')
def venv(tmp_path_factory):
    "(python of a fresh venv with only the wheel installed, the wheel's path, a working folder outside the repo)."
    tmp = tmp_path_factory.mktemp('wheel_venv')
    import importlib.util
    if not importlib.util.find_spec('build'): _skip_or_fail('the Python module build is not installed; install it with: pip install -e ".[dev]"')
    _run([sys.executable, '-m', 'build', '--wheel', '--outdir', str(tmp/'dist'), str(ROOT)], timeout=150, cwd=ROOT)
    wheel, = (tmp/'dist').glob('*.whl')
    r = subprocess.run([sys.executable, '-m', 'venv', str(tmp/'venv')], capture_output=True, text=True, timeout=120)
    py = tmp/'venv'/'bin'/'python'
    if r.returncode != 0 or not py.exists():
        _skip_or_fail(f"can't create a virtual environment ({r.stderr.strip()[-300:]}); "
                      "install the venv module with: apt-get install python3-venv")
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV')}
    _run([str(py), '-m', 'pip', 'install', '--quiet', str(wheel)], timeout=240, cwd=tmp, env=env)
    return py, wheel, tmp, env

def _modules(wheel):
    "Dotted names of every module in the wheel."
    names = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith('.py') and n.startswith('cjm_fasthtml_sse/')]
    return sorted(n[:-3].replace('/', '.').removesuffix('.__init__') for n in names)

def test_wheel_holds_every_module_of_the_source_tree(venv):
    _, wheel, _, _ = venv
    src = sorted(p.relative_to(ROOT).with_suffix('').as_posix().replace('/', '.').removesuffix('.__init__')
                 for p in (ROOT/'cjm_fasthtml_sse').glob('**/*.py'))
    assert _modules(wheel) == src

def test_venv_has_only_the_wheel_and_its_dependencies(venv):
    py, _, tmp, env = venv
    out = _run([str(py), '-m', 'pip', 'list', '--format', 'json'], timeout=60, cwd=tmp, env=env)
    pkgs = {p['name'].lower(): p for p in json.loads(out)}
    assert 'cjm-fasthtml-sse' in pkgs and 'python-fasthtml' in pkgs
    assert 'editable_project_location' not in pkgs['cjm-fasthtml-sse'], "the package should come from the wheel, not the checkout"
    for dev_only in ('nbdev', 'pytest', 'hypothesis', 'twine'): assert dev_only not in pkgs, f"{dev_only} should not be installed by the wheel"

def test_every_module_imports_from_the_venv(venv):
    py, wheel, tmp, env = venv
    mods = _modules(wheel)
    code = ("import importlib, json, sys\n"
            f"mods = {mods!r}\n"
            "files = {m: importlib.import_module(m).__file__ for m in mods}\n"
            "print(json.dumps({'files': files, 'version': importlib.import_module('cjm_fasthtml_sse').__version__}))")
    got = json.loads(_run([str(py), '-c', code], timeout=120, cwd=tmp, env=env).strip().splitlines()[-1])
    venv_dir = str(tmp/'venv')
    outside = {m: f for m, f in got['files'].items() if not f.startswith(venv_dir)}
    assert not outside, f"imported from outside the venv: {outside}"
    init = (ROOT/'cjm_fasthtml_sse'/'__init__.py').read_text()
    assert f'__version__ = "{got["version"]}"' in init, (got['version'], init)
    assert got['version'] in wheel.name

def test_demo_serves_from_the_venv(venv):
    py, _, tmp, env = venv
    port = free_port()
    proc = subprocess.Popen([str(py), '-m', 'cjm_fasthtml_sse.demo', '--port', str(port)], cwd=tmp, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, body, status, err = time.monotonic() + 30, None, None, None
        while time.monotonic() < deadline and body is None:
            if proc.poll() is not None: break
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{port}/', timeout=2) as r: status, body = r.status, r.read().decode()
            except OSError as e: err = e; time.sleep(0.2)
        if body is None:
            proc.kill()
            out, errout = proc.communicate(timeout=10)
            pytest.fail(f"the demo did not answer on port {port} ({err!r}); exit {proc.returncode}\n{out[-2000:]}\n{errout[-3000:]}")
        assert status == 200
        assert 'id="counter"' in body and 'sse-connect="/sse/broadcast?last_event_id=' in body
    finally:
        if proc.poll() is None:
            proc.terminate()
            try: proc.wait(10)
            except subprocess.TimeoutExpired: proc.kill(); proc.wait(10)
        for f in (proc.stdout, proc.stderr): f.close()
