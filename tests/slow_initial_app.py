"The app tests/test_initial_position.py runs: `initial=` reads the state the way a database does (a snapshot that arrives 5 ms later), while a task commits updates."
import asyncio
from fasthtml.common import FastHTML, Span
from starlette.responses import JSONResponse
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes

manager = BroadcastManager()
app = FastHTML(secret_key='initial-position-tests')
state, tasks = {'value': 0, 'done': False}, set()

async def read_state(request):
    "The counter as a database read returns it: the snapshot is taken when the read starts, and arrives 5 ms later."
    value = state['value']
    await asyncio.sleep(0.005)
    return Span(value, id='counter', hx_swap_oob='true')

setup_broadcast_routes(app, manager, initial=read_state)

@app.post('/_test/updates')
async def updates(n:int):
    "Start committing `n` updates, about one every 2 ms: change the state, then broadcast the new value."
    async def commit():
        for _ in range(n):
            state['value'] += 1
            await manager.broadcast('counter', {'i': state['value']})
            await asyncio.sleep(0.002)
        state['done'] = True
    task = asyncio.create_task(commit())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return 'started'

@app.get('/_test/progress')
async def progress(): return JSONResponse(state)
