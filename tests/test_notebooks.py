"Run every notebook under nbs/ through nbdev-test, one pytest test per notebook."
import os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT/'nbs').glob('**/*.ipynb')
                   if not any(part.startswith(('_', '.')) for part in p.relative_to(ROOT/'nbs').parts))
TIMEOUT = 300

def _nbdev_test():
    "The nbdev-test script of this interpreter's environment, else the one on PATH."
    exe = shutil.which('nbdev-test', path=str(Path(sys.executable).parent)) or shutil.which('nbdev-test')
    if not exe: pytest.fail('nbdev-test not found; install the dev extra: pip install -e ".[dev]"')
    return exe

@pytest.mark.timeout(TIMEOUT + 30)
@pytest.mark.parametrize('nb', NOTEBOOKS)
def test_notebook(nb):
    try: r = subprocess.run([_nbdev_test(), nb], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"nbdev-test {nb} took more than {TIMEOUT} s\n{e.stdout or ''}\n{e.stderr or ''}")
    assert r.returncode == 0, f"nbdev-test {nb} failed (exit {r.returncode})\n--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}"
    assert 'No files were eligible' not in r.stdout, f"nbdev-test skipped {nb}: {r.stdout}"

def test_found_the_notebooks():
    assert 'nbs/index.ipynb' in NOTEBOOKS
