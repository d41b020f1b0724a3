"""Export cell sizes across the notebooks: how many code lines each `#| export` / `#| exports` cell holds.

    python tools/cell_stats.py [--limit 60] [nbs]

Counts the code lines of every cell carrying `#| export` or `#| exports` (directive lines left out; blank and comment lines
count, as a reader sees them),
then prints the median, the p90, the max and every cell over the limit. Issue 20 asks for a median of at most 8
lines and no cell over 60; `tests/test_cell_stats.py` holds the package to that.
"""
import json, re, statistics, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPORT = re.compile(r'^#\|\s*exports?\b')

def is_export(src):
    "Whether a cell's source carries an `#| export` or `#| exports` directive."
    return any(EXPORT.match(l) for l in src.splitlines())

def code_lines(src):
    "The number of lines in `src` that are not directives (`#|`), trailing blank lines left out."
    return len([l for l in src.rstrip().splitlines() if not l.lstrip().startswith('#|')])

def export_cells(nbs=ROOT/'nbs'):
    "Yield (notebook, cell index, code lines) for every export cell of the notebooks under `nbs`."
    for nb in sorted(Path(nbs).rglob('*.ipynb')):
        if '.ipynb_checkpoints' in nb.parts: continue
        for i, c in enumerate(json.loads(nb.read_text())['cells']):
            src = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
            if c['cell_type'] == 'code' and is_export(src): yield nb.relative_to(ROOT) if nb.is_relative_to(ROOT) else nb, i, code_lines(src)

def percentile(xs, p):
    "The `p`th percentile of `xs` (nearest rank)."
    xs = sorted(xs)
    return xs[max(0, -(-len(xs)*p//100) - 1)]

def stats(nbs=ROOT/'nbs', limit=60):
    "A dict of count, median, p90, max and the cells over `limit` (notebook, cell index, lines)."
    cells = list(export_cells(nbs))
    sizes = [n for *_, n in cells]
    return dict(count=len(sizes), median=statistics.median(sizes), p90=percentile(sizes, 90), max=max(sizes),
                over=[(str(nb), i, n) for nb, i, n in cells if n > limit])

if __name__ == '__main__':
    args = sys.argv[1:]
    limit = 60
    if '--limit' in args:
        k = args.index('--limit'); limit = int(args[k+1]); del args[k:k+2]
    s = stats(args[0] if args else ROOT/'nbs', limit)
    print(f"export cells: {s['count']}  median: {s['median']}  p90: {s['p90']}  max: {s['max']}")
    for nb, i, n in s['over']: print(f"over {limit}: {nb} cell {i}: {n} lines")
