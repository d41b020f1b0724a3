# Run from the repository root: PYTHONPATH=$PWD python benchmarks/route_rss.py
"RSS per connected client of engine_app's /sse/broadcast (the library's route) with 1000 SSE clients."
import asyncio, sys, json, resource
sys.path.insert(0, 'tests')
import httpx
from test_engine import serve, until
from cjm_fasthtml_sse.testing import SSEClient
s, h = resource.getrlimit(resource.RLIMIT_NOFILE); resource.setrlimit(resource.RLIMIT_NOFILE, (h, h))
async def go(url, n=1000):
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(3): await http.post(f'{url}/_test/burst', json={'n': 1})
        r0 = (await http.get(f'{url}/_test/state')).json()['rss_kb']
        tabs = [await SSEClient.connect(f'{url}/sse/broadcast') for _ in range(n)]
        await until(http, url, lambda s: s['connections'] == n, 30)
        await http.post(f'{url}/_test/burst', json={'n': 5})
        for t in tabs: await t.events(5)
        r1 = (await http.get(f'{url}/_test/state')).json()['rss_kb']
        for t in tabs: await t.close()
        return (r1 - r0) / n
with serve() as url: print('RSS KB per client', round(asyncio.run(go(url)), 2))
