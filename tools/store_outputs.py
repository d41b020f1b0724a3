"""Run notebooks and store the outputs of their examples, so the rendered pages show what each example returns.

    python tools/store_outputs.py nbs/core/connections.ipynb [more notebooks]

Only cells whose last statement shows something (a value or a `print`, see `shown`) get their outputs stored; every other
cell is left as it is, so tests, `show_doc` calls and log lines add nothing machine-specific to the notebook.
Run it from the repository root; the package is imported from this checkout.
"""
import ast, os, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def shown(src):
    "What a code cell's last statement shows when run: 'value', 'print', or None (a test, an await, an assignment...)."
    lines = [l for l in src.splitlines() if not l.startswith('#|')]
    if any(l.startswith(('#| export', '#| hide', '#| eval: false')) for l in src.splitlines()) or not ''.join(lines).strip(): return None
    if lines[-1].rstrip().endswith(';'): return None
    tree = compile('\n'.join(lines), '<cell>', 'exec', flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr): return None
    v = last.value
    if isinstance(v, ast.Call): return 'print' if isinstance(v.func, ast.Name) and v.func.id == 'print' else None
    return None if isinstance(v, ast.Await) else 'value'

def store_outputs(path):
    "Execute the notebook at `path` and write back the outputs of the cells that show something."
    from fastcore.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    path = Path(path).resolve()
    nb, ran = read_nb(path), read_nb(path)
    cwd = os.getcwd()
    os.chdir(path.parent)
    try: CaptureShell().run_all(ran, exc_stop=True)
    finally: os.chdir(cwd)
    for cell, done in zip(nb.cells, ran.cells):
        if cell.cell_type == 'code' and shown(cell.source):
            cell.outputs = [o for o in done.get('outputs', []) if o.get('name') != 'stderr']
            cell.execution_count = None
    write_nb(nb, path)

if __name__ == '__main__':
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault('IN_TEST', '1')
    for p in sys.argv[1:]: store_outputs(p)
