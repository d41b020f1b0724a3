"The classic 0.0.x names live in core.classic and keep their original import path, core.streaming, without streaming importing a higher layer (issue 20)."
import ast, subprocess, sys
from helpers import ROOT

CLASSIC = ['StreamConfig', 'SSEStream', 'OOBStreamBuilder']

def _run(code):
    r = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{code}\n--- stderr\n{r.stderr[-3000:]}"
    return r.stdout

def test_classic_names_live_on_their_own_page():
    from cjm_fasthtml_sse.core import classic
    for name in CLASSIC: assert getattr(classic, name).__module__ == 'cjm_fasthtml_sse.core.classic', name

def test_the_original_imports_give_the_classic_objects():
    out = _run("from cjm_fasthtml_sse.core.streaming import SSEStream, StreamConfig, OOBStreamBuilder\n"
               "import cjm_fasthtml_sse.core.classic as c\n"
               "print(SSEStream is c.SSEStream, StreamConfig is c.StreamConfig, OOBStreamBuilder is c.OOBStreamBuilder)")
    assert out.split() == ['True'] * 3, f"the original import path gave other objects: {out!r}"

def test_import_star_from_streaming_brings_the_wire_format_and_the_classic_names():
    out = _run("from cjm_fasthtml_sse.core.streaming import *\n"
               "import cjm_fasthtml_sse.core.classic as c\n"
               "print(SSEStream is c.SSEStream, StreamConfig is c.StreamConfig, OOBStreamBuilder is c.OOBStreamBuilder, callable(sse_event), SSEParser.__name__)")
    assert out.split() == ['True'] * 4 + ['SSEParser'], f"`import *` from core.streaming lost names: {out!r}"

def test_unknown_names_still_raise_attribute_error():
    import cjm_fasthtml_sse.core.streaming as s
    try: s.NoSuchName
    except AttributeError as e: assert 'NoSuchName' in str(e), e
    else: raise AssertionError('core.streaming.NoSuchName did not raise AttributeError')

def _top_level_package_imports(path):
    "Names of the package modules that the file at `path` imports when it loads (function bodies aside)."
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or '').startswith('cjm_fasthtml_sse')):
            out.add((node.module or '').split('.')[-1] or '.')
    return out

def test_streaming_imports_nothing_of_the_package_when_it_loads():
    "The wire format is the bottom layer: the classic names come in lazily, through `__getattr__`, never at import time."
    found = _top_level_package_imports(ROOT/'cjm_fasthtml_sse'/'core'/'streaming.py')
    assert not found, f"core/streaming.py imports {sorted(found)} when it loads; import higher layers lazily"
    assert _top_level_package_imports(ROOT/'cjm_fasthtml_sse'/'core'/'classic.py') == {'streaming', 'ids'}

# --- the original's client model: core.classic, still importable from core.connections -------------------------
CLIENT = ['ConnectionState', 'SSEConnection', 'ConnectionRegistry']

def test_client_model_lives_on_the_classic_page():
    from cjm_fasthtml_sse.core import classic
    for name in CLIENT: assert getattr(classic, name).__module__ == 'cjm_fasthtml_sse.core.classic', name

def test_the_original_connections_imports_give_the_classic_objects():
    out = _run("from cjm_fasthtml_sse.core.connections import SSEConnection, ConnectionRegistry, ConnectionState\n"
               "import cjm_fasthtml_sse.core.classic as c\n"
               "print(SSEConnection is c.SSEConnection, ConnectionRegistry is c.ConnectionRegistry, ConnectionState is c.ConnectionState)")
    assert out.split() == ['True'] * 3, f"the original import path gave other objects: {out!r}"

def test_import_star_from_connections_brings_the_browser_side_and_the_client_model():
    out = _run("from cjm_fasthtml_sse.core.connections import *\n"
               "import cjm_fasthtml_sse.core.classic as c, cjm_fasthtml_sse.core.positions as p\n"
               "print(SSEConnection is c.SSEConnection, ConnectionRegistry is c.ConnectionRegistry, ConnectionState is c.ConnectionState,\n"
               "      stream_position is p.stream_position, register_stream_endpoint is p.register_stream_endpoint, callable(create_sse_element))")
    assert out.split() == ['True'] * 6, f"`import *` from core.connections lost names: {out!r}"

def test_connections_imports_only_lower_layers_when_it_loads():
    found = _top_level_package_imports(ROOT/'cjm_fasthtml_sse'/'core'/'connections.py')
    "The client model comes in lazily, through `__getattr__`: loading the browser side imports nothing above it (the package's own `__init__` loads everything, so this reads the source)."
    assert found <= {'streaming', 'ids', 'messages', 'positions'}, f"core/connections.py imports {sorted(found)} when it loads; import core.classic lazily"

def test_unknown_connections_names_still_raise_attribute_error():
    import cjm_fasthtml_sse.core.connections as m
    try: m.NoSuchName
    except AttributeError as e: assert 'NoSuchName' in str(e), e
    else: raise AssertionError('core.connections.NoSuchName did not raise AttributeError')
