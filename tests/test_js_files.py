"""The page's own scripts are cached files (issues 19 and 20): each served under a name that holds the hash of its bytes, with
a one-year immutable cache header, and `common.js` on a page once, sharing on or off: the README tour, the demo, setup_sse."""
import hashlib, os, re, shutil, subprocess, sys
import httpx, pytest
from helpers import ROOT, free_port, readme_tour, running

pytestmark = pytest.mark.timeout(120)
COMMON = 'var cjmSSE = self.cjmSSE ||'  # the first line of common.js's code: one per inline copy

def own_scripts(page):
    "The library's scripts that `page` loads as files: the `src` of every script element that carries `data-cjm-sse`."
    tags = re.findall(r'<script\b[^>]*>', page)
    return [re.search(r'src="([^"]+)"', t).group(1) for t in tags if 'data-cjm-sse=' in t and 'src=' in t]

def inline_js(page):
    "The code of every inline script element of `page`."
    return [body for attrs, body in re.findall(r'<script\b([^>]*)>(.*?)</script>', page, flags=re.S) if 'src=' not in attrs]

def check_page(page, what):
    "`page` carries no inline copy of common.js, loads it once as a file, and loads its page script as a file."
    srcs = own_scripts(page)
    assert page.count(COMMON) == 0, f'{page.count(COMMON)} inline copies of common.js on {what}'
    commons = [s for s in srcs if re.search(r'/common\.[0-9a-f]{12}\.js$', s)]
    assert len(commons) == 1, f'{what} should load common.js once, as a file: {srcs}'
    assert any(re.search(r'/page\.[0-9a-f]{12}\.js$', s) for s in srcs), f'{what} loads no page script file: {srcs}'
    assert not any('cjmSSE' in body or 'cjmPage' in body for body in inline_js(page)), f'{what} still inlines library code'
    return srcs

def check_served(http, srcs):
    "Each script answers 200 as JavaScript, cached for a year, immutable, named by the SHA-256 of its bytes, and 304 to its ETag."
    for src in srcs:
        r = http.get(src)
        assert r.status_code == 200, (src, r.status_code)
        assert r.headers['content-type'] == 'text/javascript; charset=utf-8', (src, r.headers['content-type'])
        assert r.headers['cache-control'] == 'public, max-age=31536000, immutable', (src, r.headers['cache-control'])
        name_hash = re.search(r'\.([0-9a-f]{12})\.js$', src).group(1)
        assert hashlib.sha256(r.content).hexdigest()[:12] == name_hash, f'{src}: the name does not hold the hash of the bytes served'
        again = http.get(src, headers={'if-none-match': r.headers['etag']})
        assert again.status_code == 304 and again.content == b'', (src, again.status_code)

def test_the_readme_tour_page_loads_its_scripts_as_cached_files(tmp_path):
    with readme_tour(tmp_path, free_port()) as url, httpx.Client(base_url=url, timeout=10) as http:
        page = http.get('/').text
        srcs = check_page(page, 'the README tour page')
        assert any('/monitor.' in s for s in srcs), f'the tour has indicator=True: {srcs}'
        check_served(http, srcs)

def test_a_setup_sse_page_with_sharing_on_has_common_js_once():
    from fasthtml.common import fast_app, Titled
    from starlette.testclient import TestClient
    from cjm_fasthtml_sse import BroadcastManager, setup_sse
    app, rt = fast_app()
    sse = setup_sse(app, BroadcastManager(), share=True, indicator=True)
    @rt('/')
    def index(): return Titled('Count', sse())
    http = TestClient(app)
    srcs = check_page(http.get('/').text, 'a setup_sse(share=True) page')
    assert [s.split('/')[-1].split('.')[0] for s in srcs] == ['common', 'shared', 'page', 'monitor'], srcs
    check_served(http, srcs)
    worker = http.get('/sse/shared-worker.js').text
    assert worker.count(COMMON) == 1 and worker.startswith(http.get(srcs[0]).text), 'the worker and the page should run the same common.js'

@pytest.mark.parametrize('htmx', [2, 4])
def test_the_demo_page_with_sharing_has_common_js_once(htmx):
    port = free_port()
    args = ['-m', 'cjm_fasthtml_sse.demo', '--port', str(port)] + (['--htmx', '4'] if htmx == 4 else [])
    with running(args, port) as url, httpx.Client(base_url=url, timeout=10) as http:
        page = http.get('/').text
        srcs = check_page(page, f'the demo page (htmx {htmx})')
        assert any('/shared.' in s for s in srcs), f'the demo shares its stream by default: {srcs}'
        check_served(http, srcs)

def test_the_name_changes_when_the_bytes_change(tmp_path):
    "A copy of the package whose page.js differs by one comment serves page.js under another name; common.js keeps its name."
    copy = tmp_path / 'cjm_fasthtml_sse'
    shutil.copytree(ROOT / 'cjm_fasthtml_sse', copy, ignore=shutil.ignore_patterns('__pycache__'))
    with open(copy / 'js' / 'page.js', 'a', encoding='utf-8') as f: f.write('// one more line\n')
    show = "from cjm_fasthtml_sse.core.connections import sse_hdrs; print(' '.join(s.attrs['src'] for s in sse_hdrs(include_htmx=False) if 'data-cjm-sse' in s.attrs))"
    def names(path):
        out = subprocess.run([sys.executable, '-c', show], cwd=path, env={**os.environ, 'PYTHONPATH': str(path)}, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.split()
    before, after = names(ROOT), names(tmp_path)
    assert len(before) == 2 and len(after) == 2, (before, after)
    assert before[0] == after[0], f'common.js did not change, so neither should its name: {before[0]} {after[0]}'
    assert before[1] != after[1] and after[1].startswith('/sse/js/page.'), f'page.js changed, so its name should: {before[1]} {after[1]}'
    from starlette.testclient import TestClient
    from fasthtml.common import FastHTML
    from cjm_fasthtml_sse.core.connections import add_sse_js_route
    app = FastHTML()
    add_sse_js_route(app)
    assert TestClient(app).get(after[1]).status_code == 404, 'a name from another release should not be served'

def test_unknown_names_and_other_paths_are_not_served():
    from fasthtml.common import fast_app
    from starlette.testclient import TestClient
    from cjm_fasthtml_sse import BroadcastManager, setup_broadcast_routes
    app, _ = fast_app()
    setup_broadcast_routes(app, BroadcastManager(), prefix='/live')
    http = TestClient(app)
    r = http.get('/sse/js/page.0123456789ab.js')
    assert r.status_code == 404 and 'another release' in r.text, (r.status_code, r.text)
    assert http.get('/sse/js/../connections.py').status_code == 404
