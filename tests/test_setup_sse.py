"setup_sse wires a fast_app() app in one call: htmx once, the extension and page script, the routes (the shared worker's ahead of fast_app's static route), and the page element."
import re
import httpx, pytest
from helpers import run

pytestmark = pytest.mark.timeout(60)

def test_one_call_wires_a_fast_app_with_sharing_on():
    from fasthtml.common import fast_app, Span, Titled, P
    from cjm_fasthtml_sse import BroadcastManager, setup_sse
    from cjm_fasthtml_sse.testing import SSEClient, serve, until
    app, rt = fast_app()
    manager = BroadcastManager()
    sse = setup_sse(app, manager, element_builder=lambda kind, data: Span(data['n'], id='n', hx_swap_oob='true'), share=True)
    @rt('/')
    def index(): return Titled('Count', P(Span(0, id='n')), sse())
    async def go():
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
            page, worker = (await http.get('/')).text, await http.get('/sse/shared-worker.js')
            stream_url = re.search(r'sse-connect="([^"]+)"', page).group(1)
            tab = await SSEClient.connect(f'{url}{stream_url}')
            await until(lambda: manager.get_connection_count() == 1, timeout=5)
            await manager.broadcast('n', {'n': 7})
            event = await tab.next_event(5)
            await tab.close()
            return page, worker, stream_url, event
    page, worker, stream_url, event = run(go())
    srcs = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert len([s for s in srcs if re.search(r'/htmx(\.min)?\.js$', s)]) == 1, srcs  # fast_app's htmx, not a second copy
    assert any('htmx-ext-sse' in s for s in srcs) and 'data-cjm-sse="page"' in page and 'data-cjm-sse="shared"' in page
    assert worker.status_code == 200 and 'javascript' in worker.headers['content-type']  # not fast_app's static 404
    assert stream_url.startswith('/sse/broadcast?last_event_id=')
    assert event.data == '<span hx-swap-oob="true" id="n">7</span>'

def test_the_page_script_and_the_indicator_share_one_copy_of_the_common_helpers():
    from fasthtml.common import fast_app, Titled
    from cjm_fasthtml_sse import BroadcastManager, setup_sse
    app, rt = fast_app()
    sse = setup_sse(app, BroadcastManager(), indicator=True)
    @rt('/')
    def index(): return Titled('Count', sse())
    from starlette.testclient import TestClient
    page = TestClient(app).get('/').text
    copies = page.count('var cjmSSE = self.cjmSSE ||') + len(re.findall(r'src="[^"]*/common\.[0-9a-f]+\.js"', page))
    assert copies == 1, f'{copies} copies of common.js on a setup_sse(indicator=True) page; the page script and the monitor should share one'
    assert 'data-cjm-sse="page"' in page and 'data-cjm-sse="monitor"' in page
