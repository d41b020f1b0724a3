__version__ = "0.1.0"

# The names most apps need, importable from the package itself. Each one still lives in (and is documented with) its module.
from .core.streaming import sse_event
from .core.classic import SSEStream, StreamConfig, OOBStreamBuilder
from .core.connections import create_sse_element, sse_hdrs, serve_sse_assets, create_shared_connection_script
from .core.broadcast import BroadcastManager, BroadcastMessage, create_broadcast_handler, setup_broadcast_routes
from .core.backends import Backend, MemoryBackend, RedisBackend
from .core.updates import SSEElementUpdater
from .core.jobs import JobProgress
from .core.tasks import every, Periodic
from .core.metrics import setup_metrics_route
from .core.app import setup_sse

__all__ = ['sse_event', 'SSEStream', 'StreamConfig', 'OOBStreamBuilder',
           'create_sse_element', 'sse_hdrs', 'serve_sse_assets', 'create_shared_connection_script',
           'BroadcastManager', 'BroadcastMessage', 'create_broadcast_handler', 'setup_broadcast_routes',
           'Backend', 'MemoryBackend', 'RedisBackend', 'SSEElementUpdater', 'JobProgress',
           'every', 'Periodic', 'setup_metrics_route', 'setup_sse']
