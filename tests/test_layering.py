"""Issue 20: modules talk through public, documented calls, and nothing lower imports anything higher.

Read from the generated modules' source (AST), not by importing them:
- no module imports a `_private` name from another module of the package;
- no module reads or calls `obj._name` where `_name` is an attribute or method that only another package module defines;
- no module names a `_private` attribute in a string (`getattr`, `setattr`, `hasattr`, `delattr`, or an object's `__dict__`:
  `.get`, `.pop`, `.setdefault`, `[...]`) that it doesn't define itself, a reach into another module's objects that the
  attribute check above can't see;
- no `_private` attribute set on another object than `self` (as `broadcast` once set `_exclude` on the `BroadcastMessage`
  that `messages` then read) is used by a second module: what two modules pass that way belongs in a declared field or argument;
- every import within the package goes down the layering (README, "The modules"); a module's `__getattr__` may load a higher
  module on first use, which is how `core.streaming` keeps the classic names importable without importing `core.classic`."""
import ast
from collections import defaultdict
from pathlib import Path
import pytest

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

_BY_NAME = {'getattr': False, 'hasattr': False, 'delattr': False, 'setattr': True}  # does the call write the attribute

def _literal(node):
    "The `_private` name that string constant `node` holds, else None."
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) and _private(node.value) else None

def _dict_owner(node):
    "The object whose `__dict__` expression `node` is, else None."
    return node.value if isinstance(node, ast.Attribute) and node.attr == '__dict__' else None

def named_attrs(tree):
    "Yield `(line, object, name, writes)` for each `_private` attribute named by a string: `getattr(obj, '_n')` and the like, or `obj.__dict__.get/pop/setdefault('_n')`, `obj.__dict__['_n']`."
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in _BY_NAME and len(node.args) >= 2 and (n := _literal(node.args[1])):
                yield node.lineno, node.args[0], n, _BY_NAME[f.id]
            elif (isinstance(f, ast.Attribute) and f.attr in ('get', 'pop', 'setdefault') and (obj := _dict_owner(f.value)) is not None
                  and node.args and (n := _literal(node.args[0]))):
                yield node.lineno, obj, n, f.attr == 'setdefault'
        elif isinstance(node, ast.Subscript) and (obj := _dict_owner(node.value)) is not None and (n := _literal(node.slice)):
            yield node.lineno, obj, n, isinstance(node.ctx, ast.Store)

def string_attrs(mods):
    "`(module:line, '_name', defined in)` for each `_private` attribute a module names in a string but never defines (as `defined_attrs` finds, or by writing it through a string)."
    own = {m: defined_attrs(t) | {n for *_, n, w in named_attrs(t) if w} for m, t in mods.items()}
    return [(f'{m}:{line}', repr(n), sorted(o for o, ns in own.items() if n in ns)) for m, t in mods.items()
            for line, _, n, _ in named_attrs(t) if n not in own[m]]

def _self(node): return isinstance(node, ast.Name) and node.id in ('self', 'cls')

def set_on_others(mods):
    "`(module:line, .name on object, also used in)` for each `_private` attribute set on an object other than `self` whose name another package module uses too."
    used = defaultdict(set)
    for m, t in mods.items():
        for node in ast.walk(t):
            if isinstance(node, ast.Attribute) and _private(node.attr): used[node.attr].add(m)
        for *_, n, _ in named_attrs(t): used[n].add(m)
    out = []
    for m, t in mods.items():
        sets = [(node.lineno, node.value, node.attr) for node in ast.walk(t) if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _private(node.attr)]
        sets += [(line, obj, n) for line, obj, n, w in named_attrs(t) if w]
        out += [(f'{m}:{line}', f'.{n} on {ast.unparse(obj)}', sorted(used[n] - {m})) for line, obj, n in sets if not _self(obj) and used[n] - {m}]
    return out

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

def test_string_and_foreign_checks_catch_what_they_look_for(tmp_path):
    mods = _pkg(tmp_path, **{'core.low': 'class Msg:\n    def render(self): return self.__dict__.setdefault("_cache", {}), getattr(self, "_route", None)\n'
                                         'def read(m): return m.__dict__.get("_key"), hasattr(m, "_hands")\n',
                             'core.high': 'def send(m, x):\n    m._route = x\n    setattr(m, "_sent", 1)\n    m.__dict__.pop("_cache", None)\n'
                                          '    m.__dict__["_key"] = 2\n    return getattr(m, "_sent"), getattr(x, "_own"), getattr(m, "_mine")\n'
                                          'class A:\n    _own = 1\n    def f(self): self._mine = 1\n'})
    # low names `_route`, `_key` and `_hands` without defining them; high pops low's `_cache`; high's `_sent`, `_own`, `_mine` are its own
    assert sorted(string_attrs(mods)) == [('core.high:4', "'_cache'", ['core.low']), ('core.low:2', "'_route'", ['core.high']),
                                          ('core.low:3', "'_hands'", []), ('core.low:3', "'_key'", ['core.high'])]
    # high sets `_route` and `_key` on its argument, which low reads; `_sent` stays in high, `self._mine` is high's own
    assert sorted(set_on_others(mods)) == [('core.high:2', '._route on m', ['core.low']), ('core.high:5', '._key on m', ['core.low'])]

# --- the package ---------------------------------------------------------------------------------------------
PACKAGE_CHECKS = {
    'private_imports': "modules import private names from other modules; give the owner a public name or call for it",
    'private_attrs': "modules use private attributes that other modules define; make the owner's surface public",
    'upward_imports': "imports that go up the layering (or modules missing from LAYERS)",
    'string_attrs': "modules name private attributes (getattr/setattr/__dict__ with a string) that they don't define; make the owner's surface public",
    'set_on_others': "private attributes set on objects other than self and used by another module; pass a declared field or argument instead",
}

@pytest.mark.parametrize('check', PACKAGE_CHECKS)
def test_the_package_keeps_its_module_lines(check):
    bad = globals()[check](modules())
    assert not bad, f"{PACKAGE_CHECKS[check]}:\n" + '\n'.join(map(str, bad))
