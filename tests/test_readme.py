"README.md is generated from nbs/index.ipynb by tools/make_readme.py; check that it is up to date and opens with the quick start."
import importlib.util, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICK_START = ['pip install -e . && python -m cjm_fasthtml_sse.demo', 'pip install -e ".[dev]" && python -m pytest']

def _make_readme():
    spec = importlib.util.spec_from_file_location('make_readme', ROOT/'tools'/'make_readme.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

def test_readme_is_up_to_date():
    msg = _make_readme().check()
    assert msg is None, msg

def test_check_command_exits_nonzero_when_stale(tmp_path):
    mod = _make_readme()
    stale = tmp_path/'README.md'
    stale.write_text(mod.render().replace('Quick start', 'Quick stop'))
    msg = mod.check(readme=stale)
    assert msg and 'python tools/make_readme.py' in msg and 'Quick stop' in msg
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'make_readme.py'), '--check'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

def test_readme_opens_with_title_and_quick_start():
    text = (ROOT/'README.md').read_text()
    assert text.startswith('# cjm-fasthtml-sse\n')
    head = text[:1200]
    for cmd in QUICK_START: assert cmd in head, f"quick start command missing from the top of README.md: {cmd}"
    block = head.split('```')[1]
    assert [l for l in block.splitlines()[1:] if l.strip()] == QUICK_START, "the quick start block should hold exactly the two commands"

def test_ci_runs_the_readme_test_command():
    ci = (ROOT/'.ci'/'run').read_text()
    assert QUICK_START[1].split(' && ')[1] in ci
    assert 'CJM_SSE_REQUIRE_ALL=1' in ci
