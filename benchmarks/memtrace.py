"""tracemalloc in a benchmark server: the Python allocations each open stream holds, by file (route_rss.py, goals21.py).

Importing this with `BENCH_TRACE=1` in the environment starts tracemalloc (8 frames); import it after the heavy imports
(tracing them makes the server slow to start) and before the app is built.
`held` is a Starlette endpoint: `GET /trace?mark=before` takes a snapshot; `GET /trace?mark=after&n=N` answers what grew
since, per client (N clients), by file (`{"total_kb": ..., "by_file": [[file, KB], ...]}`), or with `&detail=D` by allocation
site, D frames deep."""
import gc, os, tracemalloc
from starlette.responses import JSONResponse

if os.environ.get('BENCH_TRACE'): tracemalloc.start(8)
_marks = {}

def _short(filename): return str(filename).split('site-packages/')[-1].split('/wt/')[-1]

async def held(request):
    "The snapshot (`mark=before`), or what grew since it per client (`mark=after&n=N`, `detail=D`)."
    if not tracemalloc.is_tracing(): return JSONResponse({'error': 'start the server with BENCH_TRACE=1'})
    q = request.query_params
    mark, n, detail = q.get('mark', ''), int(q.get('n', 1)), int(q.get('detail', 0))
    gc.collect()
    snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    if mark == 'before': _marks['before'] = snap; return JSONResponse({})
    if detail: return JSONResponse([[round(s.size_diff / n), s.count_diff / n, [f'{_short(f.filename)}:{f.lineno}' for f in list(s.traceback)[::-1][:detail]]]
                                    for s in snap.compare_to(_marks['before'], 'traceback')[:30]])
    stats = snap.compare_to(_marks['before'], 'filename')
    top = [(_short(s.traceback[0].filename), round(s.size_diff / n / 1024, 2)) for s in stats if s.size_diff > 0]
    return JSONResponse({'total_kb': round(sum(s.size_diff for s in stats) / n / 1024, 2), 'by_file': top[:15]})
