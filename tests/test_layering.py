"""Issue 20: modules talk through public, documented calls, and nothing lower imports anything higher.

Read from the generated modules' source (AST), not by importing them:
- no module imports a `_private` name from another module of the package;
- no module reads or calls `obj._name` where `_name` is an attribute or method that only another package module defines;
- every import within the package goes down the layering (README, "The modules"); a module's `__getattr__` may load a higher
  module on first use, which is how `core.streaming` keeps the classic names importable without importing `core.classic`."""
import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT/'cjm_fasthtml_sse'
# lowest first: a module may import only the ones before it (README "The modules": the layers, then what is built on them, then around them)
LAYERS = ['core.streaming', 'core.ids', 'core.classic', 'core.messages', 'core.positions', 'core.connections', 'core.fanout', 'core.backends',
          'core.stream', 'core.broadcast', 'core.updates', 'core.jobs', 'core.tasks', 'core.metrics', 'core.app', 'testing', 'demo']
SKIP = {'_modidx', '__init__', 'core.__init__'}  # the index nbdev writes, and the package facades that re-export the API

def _private(name): return name.startswith('_') and not (name.startswith('__') and name.endswith('__'))

def modules(pkg=PKG):
    "Map of dotted module name (relative to the package) -> parsed AST, for every module of the package."
    out = {}
    for p in sorted(Path(pkg).rglob('*.py')):
        name = '.'.join(p.relative_to(pkg).with_suffix('').parts)
        if name not in SKIP: out[name] = ast.parse(p.read_text(), str(p))
    return out

def _target(mod, node, pkg_name):
    "The package module (relative name) that an import node refers to, or None if it is outside the package."
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = mod.split('.')[:-node.level]
            return '.'.join(base + ([node.module] if node.module else []))
        if node.module and (node.module == pkg_name or node.module.startswith(pkg_name + '.')): return node.module[len(pkg_name) + 1:]
    return None

def _lazy(tree):
    "The nodes inside a module-level `__getattr__` (PEP 562): the classic names re-exported for old imports, loaded on first use."
    return {id(n) for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == '__getattr__' for n in ast.walk(f)}

def imports(mods, pkg_name='cjm_fasthtml_sse', lazy=True):
    "Yield (module, imported module, names, line) for every import of another package module, top level or inside a function (but, unless `lazy`, not in a module `__getattr__`)."
    for mod, tree in mods.items():
        skip = set() if lazy else _lazy(tree)
        for node in ast.walk(tree):
            if id(node) in skip: continue
            if isinstance(node, ast.ImportFrom) and (t := _target(mod, node, pkg_name)) is not None:
                if t in mods: yield mod, t, [a.name for a in node.names], node.lineno
                else: yield from ((mod, f'{t}.{a.name}', [], node.lineno) for a in node.names if f'{t}.{a.name}' in mods)  # from . import x
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith(pkg_name + '.') and (t := a.name[len(pkg_name) + 1:]) in mods: yield mod, t, [], node.lineno

def defined_attrs(tree):
    "The `_private` attribute names a module defines: methods and class attributes, `x._name = ...` targets, and `@patch` functions."
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for s in node.body:
                if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)): names.add(s.name)
                elif isinstance(s, ast.Assign): names.update(t.id for t in s.targets if isinstance(t, ast.Name))
                elif isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name): names.add(s.target.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any('patch' in ast.unparse(d) for d in node.decorator_list): names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store): names.add(node.attr)
    return {n for n in names if _private(n)}

def private_imports(mods):
    "`(module:line, name, from)` for each `_private` name imported from another package module."
    return [(f'{m}:{line}', n, t) for m, t, names, line in imports(mods) for n in names if _private(n)]

def private_attrs(mods):
    "`(module:line, .name, defined in)` for each read or call of `obj._name` that only other package modules define."
    defs = {m: defined_attrs(t) for m, t in mods.items()}
    owners = defaultdict(set)
    for m, ns in defs.items():
        for n in ns: owners[n].add(m)
    return [(f'{m}:{node.lineno}', f'.{node.attr}', sorted(owners[node.attr])) for m, tree in mods.items() for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and _private(node.attr)
            and owners[node.attr] and node.attr not in defs[m]]

def upward_imports(mods, layers=LAYERS):
    "`(module:line, imports, layer problem)` for each import of a module not below the importer."
    rank = {m: i for i, m in enumerate(layers)}
    bad = [(m, 'is not in LAYERS: add it to tests/test_layering.py where the README lists it') for m in mods if m not in rank]
    return bad + [(f'{m}:{line}', t) for m, t, _, line in imports(mods, lazy=False) if m in rank and t in rank and rank[t] >= rank[m] and t != m]

# --- the checks, first on small made-up packages, so each can be seen to fail -----------------------------------
def _pkg(tmp_path, **files):
    for name, src in files.items():
        p = tmp_path/'cjm_fasthtml_sse'/(name.replace('.', '/') + '.py')
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(src)
    return modules(tmp_path/'cjm_fasthtml_sse')

def test_checks_catch_what_they_look_for(tmp_path):
    mods = _pkg(tmp_path, **{'core.low': 'class Log:\n    def _head(self): pass\n    def __len__(self): return 0\n_RULE = 1\n',
                             'core.high': 'from .low import Log, _RULE\nfrom cjm_fasthtml_sse.core.low import _RULE as R\n'
                                          'def f(log):\n    return log._head(), log.__len__(), log._own\nclass A:\n    _own = 1\n',
                             'core.up': 'def g():\n    from .high import A\n    import cjm_fasthtml_sse.core.high\n    return A\n'
                                        'def __getattr__(name):\n    from cjm_fasthtml_sse.core import high\n    return getattr(high, name)'})
    assert sorted(private_imports(mods)) == [('core.high:1', '_RULE', 'core.low'), ('core.high:2', '_RULE', 'core.low')]
    assert private_attrs(mods) == [('core.high:4', '._head', ['core.low'])]  # not the dunder, not its own `_own`
    layers = ['core.low', 'core.up', 'core.high']
    assert sorted(upward_imports(mods, layers)) == [('core.up:2', 'core.high'), ('core.up:3', 'core.high')]
    assert upward_imports(mods, ['core.low', 'core.high']) == [('core.up', 'is not in LAYERS: add it to tests/test_layering.py where the README lists it')]

# --- the package ---------------------------------------------------------------------------------------------
def test_no_private_name_is_imported_across_modules():
    bad = private_imports(modules())
    assert not bad, "modules import private names from other modules; give the owner a public name or call for it:\n" + '\n'.join(map(str, bad))

def test_no_private_attribute_is_used_across_modules():
    bad = private_attrs(modules())
    assert not bad, "modules use private attributes that other modules define; make the owner's surface public:\n" + '\n'.join(map(str, bad))

def test_imports_go_down_the_layers():
    bad = upward_imports(modules())
    assert not bad, "imports that go up the layering (or modules missing from LAYERS):\n" + '\n'.join(map(str, bad))
