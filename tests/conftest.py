"""Session set-up for the whole suite: provide the programs the tests need (tests/provision.py), say on the run's first and
last lines what could not run and the one command that fixes it, and print the FastHTML version under test.

`CJM_SSE_QUICKSTART_SMOKE=1` restricts a run to a small fast subset: tests/test_quickstart.py runs the README's test
command that way inside a fresh clone, since the full suite inside the suite would take too long. CI runs everything."""
import importlib.metadata, os, shutil, sys
import provision

SMOKE = ('tests/test_readme.py', 'tests/test_demo.py')
_state = {}

def _version(dist):
    try: return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError: return 'not installed'

def _not_run_line(gone):
    "One line naming the tests that can't run for lack of `gone`, and the command that fixes it."
    needs = '; '.join(f'{p} ({provision.NEEDED_BY[p]})' for p in gone)
    return (f"cjm-fasthtml-sse: NOT RUN on this machine, missing {', '.join(gone)}: {needs}. "
            f"Fix: {provision.fix_command(gone, provision.os_family()) or provision.install_hints(gone)}")

def _write(config, line, **markup):
    tr = config.pluginmanager.get_plugin('terminalreporter')
    if tr is not None: tr.write_line(line, **markup)
    else: print(line)

def pytest_sessionstart(session):
    if hasattr(session.config, 'workerinput'): return
    provided, gone, bin_dir = provision.provision(log=lambda m: _write(session.config, f'cjm-fasthtml-sse: {m}'))
    _state.update(provided=provided, gone=gone, bin_dir=bin_dir)
    if gone: _write(session.config, _not_run_line(gone), red=True, bold=True)

def pytest_report_header(config):
    lines = [f"cjm-fasthtml-sse: python-fasthtml {_version('python-fasthtml')}, starlette {_version('starlette')}, "
             f"uvicorn {_version('uvicorn')}, python {sys.version.split()[0]}"]
    found = ', '.join(f"{p} {shutil.which(p) or 'MISSING'}" + (f" (from {_state['provided'][p]})" if p in _state.get('provided', {}) else '')
                      for p in provision.PROGRAMS)
    lines.append(f'cjm-fasthtml-sse: programs: {found}')
    if os.environ.get('CJM_SSE_QUICKSTART_SMOKE') == '1': lines.append(f"cjm-fasthtml-sse: CJM_SSE_QUICKSTART_SMOKE=1, only {', '.join(SMOKE)} run")
    return lines

def pytest_collection_modifyitems(config, items):
    if os.environ.get('CJM_SSE_QUICKSTART_SMOKE') != '1': return
    keep = [i for i in items if i.nodeid.startswith(SMOKE)]
    config.hook.pytest_deselected(items=[i for i in items if not i.nodeid.startswith(SMOKE)])
    items[:] = keep

def pytest_terminal_summary(terminalreporter):
    skipped = [r for r in terminalreporter.stats.get('skipped', []) if 'is not installed' in str(r.longrepr)]
    _state['skipped'] = len(skipped)

def pytest_unconfigure(config):
    gone = _state.get('gone')
    if gone:
        n = _state.get('skipped')
        print(_not_run_line(gone) + (f' ({n} tests skipped for it in this run)' if n is not None else ''))
    if _state.get('bin_dir'): shutil.rmtree(_state['bin_dir'], ignore_errors=True)
