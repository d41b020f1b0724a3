"""Issue 20: export cells stay small, as in fastcore and fasthtml: a median of at most 8 lines and none over 60.
Counted by `tools/cell_stats.py` over every notebook in `nbs/`."""
import importlib.util, json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location('cell_stats', ROOT/'tools'/'cell_stats.py')
cs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cs)

def test_counter_counts_only_export_cells_without_directives(tmp_path):
    "The counter itself: directives and non-export cells are left out, comments and inner blank lines count."
    cell = lambda src: dict(cell_type='code', source=src, metadata={}, outputs=[], execution_count=None)
    nb = dict(cells=[cell('#| export\ndef f(x):\n\n    # a comment\n    return x\n'), cell('#| exports\nclass A: pass'),
                     cell('f(1)\nf(2)\nf(3)'), cell('#| hide\nimport os'), dict(cell_type='markdown', source='#| export', metadata={})],
              metadata={}, nbformat=4, nbformat_minor=5)
    (tmp_path/'a.ipynb').write_text(json.dumps(nb))
    sizes = sorted(n for *_, n in cs.export_cells(tmp_path))
    assert sizes == [1, 4], sizes
    s = cs.stats(tmp_path, limit=3)
    assert (s['count'], s['median'], s['max']) == (2, 2.5, 4), s
    assert [n for *_, n in s['over']] == [4], s

def test_export_cells_are_small():
    "Median export cell <= 8 lines and no export cell over 60, across all notebooks (run as the script a developer runs)."
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'cell_stats.py')], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    s = cs.stats(ROOT/'nbs', limit=60)
    assert s['median'] <= 8, f"median export cell is {s['median']} lines (want <= 8)\n{r.stdout}"
    assert not s['over'], f"export cells over 60 lines (split them by job):\n{r.stdout}"
