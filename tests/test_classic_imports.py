"""The classic 0.0.x names live in core.classic and keep their original import paths, core.streaming (the stream API) and
core.connections (the client model), without either module importing a higher layer when it loads (issue 20)."""
import ast, subprocess, sys
import pytest
from helpers import ROOT

ORIGINAL = {'streaming': ['StreamConfig', 'SSEStream', 'OOBStreamBuilder'],
            'connections': ['ConnectionState', 'SSEConnection', 'ConnectionRegistry']}  # original module -> its classic names

def _run(code):
    r = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{code}\n--- stderr\n{r.stderr[-3000:]}"
    return r.stdout

@pytest.mark.parametrize('mod', ORIGINAL)
def test_classic_names_live_on_their_own_page(mod):
    from cjm_fasthtml_sse.core import classic
    for name in ORIGINAL[mod]: assert getattr(classic, name).__module__ == 'cjm_fasthtml_sse.core.classic', name

def _same_objects(names): return f"import cjm_fasthtml_sse.core.classic as c\nprint(*[globals()[n] is getattr(c, n) for n in {names!r}])"

@pytest.mark.parametrize('mod', ORIGINAL)
def test_the_original_imports_give_the_classic_objects(mod):
    out = _run(f"from cjm_fasthtml_sse.core.{mod} import {', '.join(ORIGINAL[mod])}\n" + _same_objects(ORIGINAL[mod]))
    assert out.split() == ['True'] * 3, f"the original import path core.{mod} gave other objects: {out!r}"

@pytest.mark.parametrize('mod,own', [('streaming', ['sse_event', 'SSEParser']),
                                     ('connections', ['create_sse_element', 'sse_hdrs', 'stream_position', 'register_stream_endpoint'])])
def test_import_star_brings_the_module_s_own_names_and_the_classic_ones(mod, own):
    out = _run(f"from cjm_fasthtml_sse.core.{mod} import *\nprint(*[n in globals() for n in {own!r}])\n" + _same_objects(ORIGINAL[mod]))
    assert out.split() == ['True'] * (len(own) + 3), f"`import *` from core.{mod} lost names: {out!r}"

def test_connections_gives_the_position_registry_of_core_positions():
    from cjm_fasthtml_sse.core import connections, positions
    assert connections.stream_position is positions.stream_position
    assert connections.register_stream_endpoint is positions.register_stream_endpoint

@pytest.mark.parametrize('mod', ORIGINAL)
def test_unknown_names_still_raise_attribute_error(mod):
    import importlib
    m = importlib.import_module(f'cjm_fasthtml_sse.core.{mod}')
    try: m.NoSuchName
    except AttributeError as e: assert 'NoSuchName' in str(e), e
    else: raise AssertionError(f'core.{mod}.NoSuchName did not raise AttributeError')

def _top_level_package_imports(path):
    "Names of the package modules that the file at `path` imports when it loads (function bodies aside)."
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or '').startswith('cjm_fasthtml_sse')):
            out.add((node.module or '').split('.')[-1] or '.')
    return out

@pytest.mark.parametrize('mod,allowed', [('streaming', set()), ('positions', set()), ('classic', {'streaming', 'ids'}),
                                         ('connections', {'streaming', 'ids', 'messages', 'positions'})])
def test_modules_import_only_lower_layers_when_they_load(mod, allowed):
    """The classic names come in lazily, through a module `__getattr__`, never at import time. (The package's `__init__`
    loads every module, so this reads the source rather than `sys.modules`.)"""
    found = _top_level_package_imports(ROOT/'cjm_fasthtml_sse'/'core'/f'{mod}.py')
    assert found <= allowed, f"core/{mod}.py imports {sorted(found - allowed)} when it loads; import higher layers lazily"
