"README.md is generated from nbs/index.ipynb by tools/make_readme.py; check that it is up to date and opens with the quick start."
import importlib.util, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = 'python3 -m venv .venv && . .venv/bin/activate && '
QUICK_START = [VENV + 'pip install -e . && python -m cjm_fasthtml_sse.demo', VENV + 'pip install -e ".[dev]" && python -m pytest']

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

def quick_start():
    "The two commands of the README's Quick start block."
    text = (ROOT/'README.md').read_text()
    block = text.split('## Quick start', 1)[1].split('```sh\n', 1)[1].split('```', 1)[0]
    return [l for l in block.splitlines() if l.strip()]

def test_quick_start_makes_a_venv_before_any_pip():
    "PEP 668: on Debian and Ubuntu, bare `pip` and `python` don't exist or are refused outside a venv."
    for cmd in quick_start():
        steps = cmd.split(' && ')
        assert steps[:2] == ['python3 -m venv .venv', '. .venv/bin/activate'], cmd
        assert all(not s.startswith(('pip', 'python ')) for s in steps[:2]), cmd

def test_ci_runs_the_readme_test_command():
    ci = (ROOT/'.ci'/'run').read_text()
    pytest_part = quick_start()[1].split(' && ')[-1]
    assert pytest_part == 'python -m pytest'
    assert [l.strip() for l in ci.splitlines() if l.strip() == pytest_part] == [pytest_part], "CI must run the README's test command as is"
    assert 'export CJM_SSE_REQUIRE_ALL=1' in ci and 'pip install -e ".[dev]"' in ci

def test_github_runs_the_same_ci_script():
    wf = (ROOT/'.github'/'workflows'/'test.yaml').read_text()
    assert 'run: bash .ci/run' in wf and 'CI: "true"' in wf, wf
    assert 'pytest' not in wf, "GitHub must run what .ci/run runs, not a command of its own"

def test_every_install_line_has_the_0_1_floor():
    "PyPI's 0.0.x releases are another API: an install line without the floor installs 0.0.24."
    import re
    text = (ROOT/'README.md').read_text()
    lines = re.findall(r'pip install [^`\n]*cjm-fasthtml-sse[^`\n]*', text)
    assert len(lines) >= 2, lines
    for l in lines: assert re.search(r'"cjm-fasthtml-sse(\[[\w,]+\])?>=0\.1"', l), l
