"The routes and the manager meet through documented public methods: no other module of the package reaches into a manager's private names (issue 20)."
import ast
from helpers import ROOT

def _private_manager_uses(path):
    "`(line, name)` of every `manager._x` or `<...>.manager._x` in the file at `path` (dunders aside)."
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr.startswith('_') and not node.attr.startswith('__'):
            v = node.value
            if (isinstance(v, ast.Name) and v.id == 'manager') or (isinstance(v, ast.Attribute) and v.attr == 'manager'): out.append((node.lineno, node.attr))
    return out

def test_no_module_but_broadcast_uses_a_private_name_of_the_manager():
    pkg = ROOT / 'cjm_fasthtml_sse'
    found = {str(p.relative_to(ROOT)): uses for p in sorted(pkg.rglob('*.py'))
             if p.name not in ('broadcast.py', '_modidx.py') and (uses := _private_manager_uses(p))}
    assert not found, f"private names of the manager used outside core/broadcast.py (add a documented public method instead): {found}"

def test_the_route_defaults_live_in_route_config():
    "create_broadcast_handler and setup_broadcast_routes take their heartbeat and retry defaults from RouteConfig, the one place that sets them."
    import inspect
    from cjm_fasthtml_sse.core.broadcast import create_broadcast_handler, setup_broadcast_routes
    from cjm_fasthtml_sse.core.stream import RouteConfig
    src = (ROOT / 'cjm_fasthtml_sse/core/broadcast.py').read_text()
    assert 'heartbeat_interval:float=15' not in src and 'retry_ms:int=2000' not in src, 'a route default is written again in broadcast.py'
    for fn in (create_broadcast_handler, setup_broadcast_routes):
        ps = inspect.signature(fn).parameters
        assert (ps['heartbeat_interval'].default, ps['retry_ms'].default) == (RouteConfig.heartbeat_interval, RouteConfig.retry_ms), fn.__name__
