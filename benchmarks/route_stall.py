# Run from the repository root: PYTHONPATH=$PWD python benchmarks/route_stall.py
"One broadcast() through the built-in route with 1,000 streams, 100 of them stalled (never read), against none stalled."
import asyncio, sys, json, resource, statistics, socket
sys.path.insert(0, 'tests')
import httpx
from test_engine import serve, until, mute_socket
from cjm_fasthtml_sse.testing import SSEClient
s, h = resource.getrlimit(resource.RLIMIT_NOFILE); resource.setrlimit(resource.RLIMIT_NOFILE, (h, h))
async def drain(t):
    while True:
        d = await t.read_body()
        if not d and t.ended: return
async def go(url, port):
    async with httpx.AsyncClient(timeout=60) as http:
        readers = [await SSEClient.connect(f'{url}/sse/broadcast') for _ in range(1000)]
        tasks = [asyncio.create_task(drain(t)) for t in readers]
        await until(http, url, lambda s: s['connections'] == 1000, 30)
        res = {}
        for label in ('0 stalled', '100 stalled'):
            if label == '100 stalled':
                for t in tasks[:100]: t.cancel()  # these 100 stop reading
                await http.post(f'{url}/_test/burst', json={'n': 40, 'pad': 200_000})  # fill their sockets
                await asyncio.sleep(1)
                st = (await http.get(f'{url}/_test/state')).json()
                print('lagged', st['lagged'], 'connections', st['connections'])
            took = []
            for _ in range(30):
                took += (await http.post(f'{url}/_test/burst', json={'n': 1})).json()['took_ms']
                await asyncio.sleep(0.1)
            res[label] = (statistics.median(took), max(took))
        print(json.dumps(res))
        for t in tasks: t.cancel()
with serve(send_timeout=120) as url: asyncio.run(go(url, int(url.rsplit(':', 1)[1])))
