"The metrics route on real uvicorn processes, one alone and two sharing a real redis-server; every page is parsed strictly as Prometheus text."
import json, re
import httpx, pytest
from cjm_fasthtml_sse.testing import SSEClient
from helpers import free_port, poll, redis_server, run, uvicorn_app

pytestmark = pytest.mark.timeout(120)
AUTH = {'authorization': 'Bearer test-token'}
NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
VALUE = r'[+-]?(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|Inf|NaN)'

def _label_value(s, i):
    "Read an escaped label value that starts after the opening quote at `s[i]`; return (value, index after the closing quote)."
    out = []
    while True:
        c = s[i]
        if c == '"': return ''.join(out), i + 1
        if c == '\\':
            nxt = s[i + 1]
            if nxt not in '\\"n': raise ValueError(f"bad escape \\{nxt} in {s!r}")
            out.append({'\\': '\\', '"': '"', 'n': '\n'}[nxt]); i += 2
        else: out.append(c); i += 1

def parse(text):
    "Parse a Prometheus text page strictly; `{family: {'type', 'help', 'samples': {labels: value}}}`."
    assert text.endswith('\n'), 'the page must end with a line feed'
    families, current = {}, None
    for line in text[:-1].split('\n'):
        if m := re.fullmatch(rf'# HELP ({NAME}) (.*)', line):
            name, help_ = m.groups()
            assert name not in families, f'family {name} declared twice'
            assert '\\' not in re.sub(r'\\[\\n]', '', help_), f'bad escape in help {help_!r}'
            families[name] = current = {'help': help_, 'type': None, 'samples': {}}
            current['name'] = name
        elif m := re.fullmatch(rf'# TYPE ({NAME}) (counter|gauge|untyped)', line):
            assert current is not None and current['name'] == m[1] and current['type'] is None, f'TYPE without its HELP: {line!r}'
            current['type'] = m[2]
        else:
            m = re.match(rf'({NAME})(\{{)?', line)
            assert m and current is not None and current['type'] and m[1] == current['name'], f'sample outside its family: {line!r}'
            i, labels = m.end(), []
            if m[2]:
                while line[i] != '}':
                    lm = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="').match(line, i)
                    assert lm, f'bad label at {i} in {line!r}'
                    value, i = _label_value(line, lm.end())
                    labels.append((lm[1], value))
                    if line[i] == ',': i += 1
                i += 1
            rest = line[i:]
            assert re.fullmatch(rf' {VALUE}', rest), f'bad value {rest!r} in {line!r}'
            key = tuple(sorted(labels))
            assert key not in current['samples'], f'duplicate sample {line!r}'
            current['samples'][key] = float(rest)
    for f in families.values(): assert f['type'], f"{f['name']} has no TYPE"
    return families

def value(page, name, **labels): return page[name]['samples'][tuple(sorted(labels.items()))]

def test_the_parser_is_strict():
    good = '# HELP a_total x \\\\ y\n# TYPE a_total counter\na_total{k="q\\"\\\\\\n"} 3\n'
    assert value(parse(good), 'a_total', k='q"\\\n') == 3
    for bad in ['# HELP a x\na 1\n', '# HELP a x\n# TYPE a gauge\na{k="q"q"} 1\n', '# HELP a x\n# TYPE a gauge\na 1',
                '# HELP 1a x\n# TYPE 1a gauge\n1a 1\n', '# HELP a x\n# TYPE a gauge\nb 1\n', '# HELP a x\n# TYPE a gauge\na{k="\\t"} 1\n',
                '# HELP a x\n# TYPE a gauge\na one\n', '# HELP a x \\t\n# TYPE a gauge\na 1\n', '# HELP a x\n# TYPE a gauge\na 1\na 2\n']:
        with pytest.raises((AssertionError, ValueError, IndexError)): parse(bad)

async def scrape(http, url):
    r = await http.get(f'{url}/metrics', headers=AUTH)
    assert r.status_code == 200 and r.headers['content-type'] == 'text/plain; version=0.0.4; charset=utf-8'
    return parse(r.text)

async def until_page(http, url, cond, timeout=10): return await poll(lambda: scrape(http, url), cond, timeout, 'metrics page')

def test_metrics_on_one_process():
    port = free_port()
    with uvicorn_app('tasks_app:app', port, {'SSE_TEST_TICK': '0.1'}) as url:
        async def go():
            async with httpx.AsyncClient() as http:
                refused = await http.get(f'{url}/metrics')
                tabs = [await SSEClient.connect(f'{url}/sse/broadcast?channel={c}') for c in ('lobby', 'lobby', 'room:private-7')]
                first = await until_page(http, url, lambda p: value(p, 'cjm_sse_connections') == 3)
                seen = await tabs[0].next_event()
                back = await SSEClient.connect(f'{url}/sse/broadcast', headers={'Last-Event-ID': seen.id})
                lost = await SSEClient.connect(f'{url}/sse/broadcast', headers={'Last-Event-ID': 'not-a-number'})
                later = await until_page(http, url, lambda p: value(p, 'cjm_sse_connections') == 5 and value(p, 'cjm_sse_task_runs_total', task='ticker') >= 5)
                for c in (*tabs, back, lost): await c.close()
                text = (await http.get(f'{url}/metrics', headers=AUTH)).text
                return refused, first, later, text
        refused, first, later, text = run(go())
    assert refused.status_code == 403
    assert value(first, 'cjm_sse_channel_connections', channel='lobby') == 2 and value(first, 'cjm_sse_channel_connections', channel='help') == 0
    assert 'private' not in text and len(first['cjm_sse_channel_connections']['samples']) == 2
    assert value(later, 'cjm_sse_resumes_total') == 1 and value(later, 'cjm_sse_resets_total') == 1
    assert value(later, 'cjm_sse_backend_healthy') == 1 and value(later, 'cjm_sse_task_leading', task='ticker') == 1
    assert value(later, 'cjm_sse_messages_broadcast_total') >= value(later, 'cjm_sse_task_runs_total', task='ticker') - 1 >= 4
    assert 'cjm_sse_cluster_connections' not in later
    for name in ('cjm_sse_dropped_total', 'cjm_sse_send_timeouts_total', 'cjm_sse_resumes_total', 'cjm_sse_messages_broadcast_total'):
        assert later[name]['type'] == 'counter' and name.endswith('_total')

def test_metrics_on_two_processes_sharing_redis():
    with redis_server() as (redis_url, procs, _):
        env = {'SSE_TEST_REDIS': redis_url, 'SSE_TEST_TICK': '0.1'}
        a_port, b_port = free_port(), free_port()
        with uvicorn_app('tasks_app:app', a_port, env) as a, uvicorn_app('tasks_app:app', b_port, env) as b:
            async def go():
                async with httpx.AsyncClient() as http:
                    tabs = [await SSEClient.connect(f'{a}/sse/broadcast?channel=lobby')]
                    tabs += [await SSEClient.connect(f'{b}/sse/broadcast?channel={c}') for c in ('lobby', 'help')]
                    both = lambda p: p.get('cjm_sse_cluster_connections', {}).get('samples', {}).get(()) == 3
                    pa, pb = await until_page(http, a, both), await until_page(http, b, both)
                    ticks = await tabs[0].events(5, timeout=10)
                    pa2, pb2 = await scrape(http, a), await scrape(http, b)
                    for p in procs: p.kill(); p.wait(10)
                    down = lambda p: value(p, 'cjm_sse_backend_healthy') == 0
                    da, db = await until_page(http, a, down), await until_page(http, b, down)
                    for c in tabs: await c.close()
                    return pa, pb, pa2, pb2, ticks, da, db
            pa, pb, pa2, pb2, ticks, da, db = run(go())
    assert (value(pa, 'cjm_sse_connections'), value(pb, 'cjm_sse_connections')) == (1, 2)
    assert value(pa, 'cjm_sse_channel_connections', channel='lobby') == 1 and value(pb, 'cjm_sse_channel_connections', channel='lobby') == 1
    assert value(pb, 'cjm_sse_channel_connections', channel='help') == 1
    assert value(pa, 'cjm_sse_backend_healthy') == value(pb, 'cjm_sse_backend_healthy') == 1
    leading = [value(p, 'cjm_sse_task_leading', task='ticker') for p in (pa2, pb2)]
    assert sorted(leading) == [0, 1], f'exactly one process leads the ticker: {leading}'
    runs = [value(p, 'cjm_sse_task_runs_total', task='ticker') for p in (pa2, pb2)]
    assert min(runs) == 0 and max(runs) >= 5, runs
    assert len(ticks) == 5 and all(json.loads(t.data)['type'] == 'tick' for t in ticks)
    assert 'cjm_sse_cluster_connections' not in da and 'cjm_sse_cluster_connections' not in db

def test_metrics_are_closed_without_authorize():
    "Without `authorize=`, /metrics answers nobody (it used to answer anyone: user counts, task names), and the 403 says how to open it."
    from fasthtml.common import FastHTML
    from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
    from cjm_fasthtml_sse.core.metrics import setup_metrics_route
    from cjm_fasthtml_sse.testing import serve
    app, manager = FastHTML(), BroadcastManager()
    setup_broadcast_routes(app, manager)
    setup_metrics_route(app, manager)
    async def go():
        async with serve(app) as url, httpx.AsyncClient() as http: return await http.get(f'{url}/metrics')
    r = run(go())
    assert r.status_code == 403 and 'authorize=' in r.text and 'cjm_sse' not in r.text, r.text
