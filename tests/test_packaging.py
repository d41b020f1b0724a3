"Build the sdist and wheel with `python -m build` and check what they contain."
import importlib.util, subprocess, sys, tarfile, zipfile
from pathlib import Path
import pytest
from helpers import REQUIRE_ALL

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(120)  # an isolated build takes about 10-20 s

WHEEL_FILES = ['cjm_fasthtml_sse/__init__.py', 'cjm_fasthtml_sse/_modidx.py', 'cjm_fasthtml_sse/demo.py',
               'cjm_fasthtml_sse/core/__init__.py', 'cjm_fasthtml_sse/core/streaming.py',
               'cjm_fasthtml_sse/core/connections.py', 'cjm_fasthtml_sse/core/broadcast.py']

def require_module(name, install_hint):
    "Skip the test (fail under CJM_SSE_REQUIRE_ALL=1) with `install_hint` when module `name` can't be imported."
    if importlib.util.find_spec(name): return
    msg = f"the Python module {name!r} is not installed; install it with: {install_hint}"
    if REQUIRE_ALL: pytest.fail(msg + " (CJM_SSE_REQUIRE_ALL=1 turns this skip into a failure)")
    pytest.skip(msg)

@pytest.fixture(scope='module')
def dists(tmp_path_factory):
    "Paths of the (wheel, sdist) built from this checkout; the wheel is built from the sdist."
    require_module('build', 'pip install -e ".[dev]"')
    out = tmp_path_factory.mktemp('dist')
    r = subprocess.run([sys.executable, '-m', 'build', '--outdir', str(out), str(ROOT)],
                       cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert r.returncode == 0, f"python -m build failed\n--- stdout\n{r.stdout[-5000:]}\n--- stderr\n{r.stderr[-5000:]}"
    wheels, sdists = list(out.glob('*.whl')), list(out.glob('*.tar.gz'))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return wheels[0], sdists[0]

def test_wheel_contains_the_package(dists):
    names = set(zipfile.ZipFile(dists[0]).namelist())
    missing = [f for f in WHEEL_FILES if f not in names]
    assert not missing, f"missing from {dists[0].name}: {missing}\nit has: {sorted(names)}"

def test_wheel_has_the_nbdev_entry_point(dists):
    zf = zipfile.ZipFile(dists[0])
    ep = next(n for n in zf.namelist() if n.endswith('.dist-info/entry_points.txt'))
    assert 'cjm_fasthtml_sse._modidx:d' in zf.read(ep).decode()

def test_sdist_contains_readme_and_license(dists):
    names = {n.split('/', 1)[1] for n in tarfile.open(dists[1]).getnames() if '/' in n}
    for f in ['README.md', 'LICENSE', 'pyproject.toml', 'cjm_fasthtml_sse/__init__.py']: assert f in names, f

def test_twine_check(dists):
    require_module('twine', 'pip install -e ".[dev]"')
    r = subprocess.run([sys.executable, '-m', 'twine', 'check', '--strict', *map(str, dists)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"twine check failed\n{r.stdout}\n{r.stderr}"
