"mypy sees the public API: a small user app that calls every public method of every public class of the manager's modules (`BroadcastManager`, `HistoryView`, `Periodic`, `JobProgress`, `SSEElementUpdater`) and the main functions type-checks."
import ast, importlib, subprocess, sys, textwrap
import pytest
from helpers import REQUIRE_ALL, ROOT

APP = '''
import asyncio
from fasthtml.common import FastHTML, Span
import concurrent.futures
from cjm_fasthtml_sse import (BroadcastManager, BroadcastMessage, setup_broadcast_routes, create_broadcast_handler,
                              create_sse_element, sse_hdrs, sse_event, MemoryBackend, RedisBackend, SSEElementUpdater, JobProgress,
                              every, Periodic, setup_metrics_route)
from cjm_fasthtml_sse.core.broadcast import ConnectionRefused, validate_channel, STREAM_CLOSED
from cjm_fasthtml_sse.core.stream import RouteConfig

def builder(kind: str, data: dict) -> Span: return Span(data['value'])

async def main() -> None:
    manager = BroadcastManager(max_queue_size=10, history_limit=5, backend=MemoryBackend())
    app = FastHTML(hdrs=sse_hdrs())
    setup_broadcast_routes(app, manager, prefix='/sse', element_builder=builder, public_channels=['news'], identify=lambda request: None)
    handler = create_broadcast_handler(manager, builder)
    manager.add_renderer(builder)
    await manager.start()
    conn_id, queue = await manager.register(metadata={'user': 'ann'}, channels=['news'])
    n: int = await manager.broadcast('counter', {'value': 1}, channel='news', exclude={'x'}, key='#counter')
    later: concurrent.futures.Future = manager.broadcast_threadsafe('counter', {'value': 3}, timeout=5.0)
    manager.deliver(int(manager.newest_id) + 1, BroadcastMessage('t', {'a': 1}))
    dropped: int = manager.dropped_count
    timeouts: int = manager.send_timeouts
    ticker: Periodic = every(manager, 1.0)(lambda: None)
    await ticker.start()
    running: bool = ticker.running
    ticker()
    await ticker.stop(timeout=1.0)
    job = JobProgress(manager, 'job-1')
    moved: bool = await job.update(50, 'half way')
    await job.done('finished')
    job = JobProgress(manager, 'job-2')
    await job.fail('it broke')
    async with JobProgress(manager, 'job-3') as job3: await job3.update(10)
    shown = job.element()
    updater = SSEElementUpdater()
    updater.register('counter', lambda kind, data: Span(data['value']))
    updater.set_default_handler(None)
    handlers: list = updater.handlers_for('counter')
    rendered = updater('counter', {'value': 1})
    setup_metrics_route(app, manager, public_channels=['news'])
    reached: int = await manager.send_to_user('ann', 'counter', {'value': 4})
    online: set[str] = await manager.users_online()
    manager.on_user_online(lambda user: None)
    manager.on_user_offline(lambda user: None)
    ok: bool = await manager.send_to(conn_id, 'counter', {'value': 2})
    count: int = manager.get_connection_count()
    history: list[BroadcastMessage] = manager.get_history(3)
    hist = manager.history
    kept: int = len(hist) + hist.maxlen + hist.count(hist[-1]) + hist.index(hist[-1])
    newest_message: BroadcastMessage = manager.history[-1]
    stats: dict = manager.get_stats(detail=False)
    current: BroadcastMessage | None = manager.latest('#counter', channel='news')
    remembered: int = manager.latest_limit
    newest: str = manager.newest_id
    older: str = manager.last_event_id
    manager.on_connect(lambda cid, meta, channels: None)
    manager.on_disconnect(lambda cid, meta, channels: None)
    manager.on_broadcast(lambda message: None)
    item = queue.get_nowait()
    async def send(message: dict) -> None: pass
    sub, first = await manager.open_stream(send, RouteConfig(heartbeat_interval=5.0), channels=['news'], last_event_id=None, user='ann')
    opening: bytes = first
    manager.stream_ended(sub)
    position: str = manager.get_newest_id()
    await manager.unregister(conn_id)
    await manager.close(timeout=0.5)
    element = create_sse_element('/sse/broadcast', element_id='feed')
    wire: str = sse_event('hi', event='message', id='1')
    message = BroadcastMessage('t', {'a': 1})
    text: str = message.to_sse()
    print(n, current, remembered, running, moved, shown, handlers, rendered, opening, position, kept, newest_message, reached, online, later, dropped, timeouts, ticker, ok, count, history, stats, newest, older, item, element, wire, text, handler, validate_channel('news'),
          ConnectionRefused, STREAM_CLOSED, RedisBackend, SSEElementUpdater, JobProgress)

asyncio.run(main())
'''

TYPO = '''
from cjm_fasthtml_sse import BroadcastManager
async def main() -> None:
    await BroadcastManager().brodcast('t', {})
'''

def _mypy(tmp_path, name, source):
    "Run mypy on `source`, written to `tmp_path/name`, against this checkout of the package; its exit code and output."
    (tmp_path / name).write_text(textwrap.dedent(source))
    env = {'MYPYPATH': str(ROOT), 'PATH': '/usr/bin:/bin'}
    r = subprocess.run([sys.executable, '-m', 'mypy', '--follow-imports=silent', '--ignore-missing-imports', '--no-incremental',
                        '--cache-dir', str(tmp_path / '.mypy_cache'), name], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return r.returncode, r.stdout + r.stderr

@pytest.fixture
def mypy_installed():
    try: import mypy  # noqa: F401
    except ImportError:
        msg = "mypy is not installed; install it with: pip install mypy"
        if REQUIRE_ALL: pytest.fail(msg + " (CJM_SSE_REQUIRE_ALL=1 turns this skip into a failure)")
        pytest.skip(msg)

def test_mypy_sees_the_public_api(tmp_path, mypy_installed):
    code, out = _mypy(tmp_path, 'user_app.py', APP)
    assert 'has no attribute' not in out, out
    assert code == 0, out

# each public class of the manager's modules, and the name the app gives an instance of it
CLASSES = {'cjm_fasthtml_sse.core.broadcast.BroadcastManager': 'manager', 'cjm_fasthtml_sse.core.broadcast.HistoryView': 'hist',
           'cjm_fasthtml_sse.core.tasks.Periodic': 'ticker', 'cjm_fasthtml_sse.core.jobs.JobProgress': 'job',
           'cjm_fasthtml_sse.core.updates.SSEElementUpdater': 'updater'}
MODULES = ['broadcast', 'tasks', 'jobs', 'updates']

def _cls(path):
    module, name = path.rsplit('.', 1)
    return getattr(importlib.import_module(module), name)

def _public_names(cls):
    "The public methods and properties `cls` and its bases from this package define (not what `object` or `collections.abc` give)."
    own = [c for c in cls.__mro__ if c.__module__.startswith('cjm_fasthtml_sse')]
    return sorted({n for c in own for n in vars(c) if not n.startswith('_')} | ({'__call__'} if any('__call__' in vars(c) for c in own) else set()))

def test_every_public_class_of_these_modules_is_listed():
    "A new public class in the manager's modules must be added to CLASSES (and so to the app)."
    import inspect
    found = {f'{c.__module__}.{c.__name__}' for m in MODULES for _, c in inspect.getmembers(importlib.import_module(f'cjm_fasthtml_sse.core.{m}'), inspect.isclass)
             if c.__module__ == f'cjm_fasthtml_sse.core.{m}' and not c.__name__.startswith('_') and not issubclass(c, BaseException)}
    assert found <= set(CLASSES), f"add these classes to CLASSES and to the mypy app: {sorted(found - set(CLASSES))}"

def test_the_app_calls_every_public_method():
    "The app above must keep up with the classes: each public method or property appears in it, called on an instance."
    missing = []
    for path, var in CLASSES.items():
        names = _public_names(_cls(path))
        assert names, f'no public methods found on {path}'
        missing += [f'{var}.{n}' for n in names if n != '__call__' and f'{var}.{n}' not in APP]
        if '__call__' in names and f'{var}(' not in APP: missing.append(f'{var}(...)')
    assert not missing, f"add these to the mypy app: {missing}"

def test_no_public_method_is_added_with_patch():
    "mypy can't see a method that `@patch` adds after the class: every public one is written in its class body."
    patched = []
    for m in MODULES:
        path = ROOT / 'cjm_fasthtml_sse' / 'core' / f'{m}.py'
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith('_') and node.args.args:
                cls = ast.unparse(node.args.args[0].annotation) if node.args.args[0].annotation else ''
                if cls and not cls.startswith('_') and any('patch' in ast.unparse(d) for d in node.decorator_list): patched.append(f'{m}.py:{node.lineno} {cls}.{node.name}')
    assert not patched, f"public methods added with @patch, invisible to mypy; move them into their class: {patched}"

def test_mypy_reads_the_package(tmp_path, mypy_installed):
    "The control: a misspelt method is reported, so the check above really looks into the package rather than seeing `Any`."
    code, out = _mypy(tmp_path, 'typo_app.py', TYPO)
    assert code == 1 and '"BroadcastManager" has no attribute "brodcast"' in out, out
