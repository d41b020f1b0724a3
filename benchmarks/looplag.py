"""How long the event loop is held, seen from inside a benchmark server (goals21.py's profiles).

With `BENCH_LAG=1`, `start()` (called at the app's startup) runs a task that sleeps 1 ms at a time and records how late each
wake-up was: a wake-up late by 8 ms means something held the loop for about 8 ms. `GET /lag` answers the percentiles of the
lateness since the last `GET /lag?reset=1`, and how many wake-ups were more than 5 ms late (the issue's bound on one hold)."""
import asyncio, os, time
from starlette.responses import JSONResponse

_late, _task = [], None

async def _tick():
    while True:
        t = time.perf_counter()
        await asyncio.sleep(0.001)
        _late.append(time.perf_counter() - t - 0.001)

async def start():
    "Start the ticker when `BENCH_LAG=1` (an app's startup handler)."
    global _task
    if os.environ.get('BENCH_LAG') and _task is None: _task = asyncio.get_running_loop().create_task(_tick())

async def lag(request):
    "Lateness percentiles (ms) of the ticker's wake-ups since the last reset; `?reset=1` resets."
    xs = sorted(_late)
    if request.query_params.get('reset'): _late.clear()
    pick = lambda p: round(xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1e3, 2) if xs else None
    return JSONResponse({'ticks': len(xs), 'p50_ms': pick(50), 'p99_ms': pick(99), 'max_ms': pick(100),
                         'over_5ms': sum(x > 0.005 for x in xs), 'held_s': round(sum(xs), 3)})
