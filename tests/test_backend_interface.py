"The layers above the backends ask the backend (`lease`, `cluster_connections`), never which class it is (issue 20)."
import asyncio
from cjm_fasthtml_sse.core.backends import Backend, MemoryBackend
from cjm_fasthtml_sse.core.broadcast import BroadcastManager
from cjm_fasthtml_sse.core.metrics import manager_metrics
from cjm_fasthtml_sse.core.tasks import Periodic
from cjm_fasthtml_sse.testing import until

class _Follower:
    "A lease that another process always holds."
    def __init__(self): self.asked, self.released = 0, False
    async def hold(self, tick): self.asked += 1; return False, False
    async def release(self): self.released = True

class _Shared(MemoryBackend):
    "A backend of one's own that is shared elsewhere: it never leads, and it counts 7 streams across the cluster."
    def __init__(self): super().__init__(); self.leases = {}
    def lease(self, name, ttl): return self.leases.setdefault(name, _Follower())
    async def cluster_connections(self): return 7

def test_the_base_backend_leads_alone_and_claims_each_tick_once():
    async def go():
        lease = Backend().lease('t', 1.0)
        got = [await lease.hold(t) for t in (3, 3, None, 4)]
        await lease.release()
        return got
    assert asyncio.run(go()) == [(True, True), (True, False), (True, False), (True, True)]
    assert asyncio.run(MemoryBackend().cluster_connections()) is None

def test_a_periodic_task_uses_the_lease_its_backend_gives():
    async def go():
        backend, runs = _Shared(), []
        task = Periodic(BroadcastManager(backend=backend), 0.05, lambda: runs.append(1), name='follower')
        await task.start()
        await until(lambda: 'follower' in backend.leases and backend.leases['follower'].asked >= 3, 10, "the task asks its backend's lease")
        await task.stop()
        return runs, task.leading, backend.leases['follower'].released
    runs, leading, released = asyncio.run(go())
    assert runs == [] and leading is False, f"a task whose backend's lease never leads ran {len(runs)} times (leading={leading})"
    assert released, "stop() did not release the backend's lease"

def test_metrics_report_the_cluster_count_any_backend_gives():
    page = asyncio.run(manager_metrics(BroadcastManager(backend=_Shared())))
    assert 'cjm_sse_cluster_connections 7' in page, f"the backend's cluster_connections() is not on the metrics page:\n{page}"
    assert 'cjm_sse_cluster_connections' not in asyncio.run(manager_metrics(BroadcastManager())), 'a backend that is not shared has no cluster count'
