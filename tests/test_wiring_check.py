"Wiring mistakes fail loudly: the first page with an SSE element that can't open its stream logs one error naming the fix."
import logging
import httpx, pytest
from fasthtml.common import Div, Titled, fast_app
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, setup_broadcast_routes
from cjm_fasthtml_sse.core.connections import create_sse_element, sse_hdrs
from cjm_fasthtml_sse.testing import serve
from helpers import run

pytestmark = pytest.mark.timeout(60)

def errors_after_pages(app, caplog, pages=3):
    "Serve `app`, render its page `pages` times, and return the errors the library logged."
    async def go():
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
            for _ in range(pages): assert (await http.get('/')).status_code == 200
    with caplog.at_level(logging.ERROR, logger='cjm_fasthtml_sse'): run(go())
    return [r.getMessage() for r in caplog.records if r.name == 'cjm_fasthtml_sse' and r.levelno >= logging.ERROR]

def app_with(**kw):
    app, rt = fast_app(**kw)
    setup_broadcast_routes(app, BroadcastManager())
    @rt('/')
    def index(): return Titled('Feed', create_sse_element('/sse/broadcast', hidden=True))
    return app

def test_forgotten_sse_hdrs_logs_one_error_naming_the_fix(caplog):
    errors = errors_after_pages(app_with(), caplog)
    assert len(errors) == 1 and 'no SSE extension' in errors[0] and 'setup_sse' in errors[0], errors

def test_htmx_loaded_twice_under_fast_app_logs_one_error(caplog):
    errors = errors_after_pages(app_with(hdrs=sse_hdrs()), caplog)
    assert len(errors) == 1 and 'loads htmx 2 times' in errors[0] and 'include_htmx=False' in errors[0], errors

def test_a_well_wired_app_logs_nothing(caplog):
    assert errors_after_pages(app_with(hdrs=sse_hdrs(include_htmx=False)), caplog) == []

def test_an_htmx_fragment_is_not_judged_as_a_page(caplog):
    "A fragment with an SSE element lands in a page that has the scripts: no error for it, and the first full page is still checked."
    app, rt = fast_app(hdrs=sse_hdrs(include_htmx=False))
    setup_broadcast_routes(app, BroadcastManager())
    @rt('/panel')
    def panel(): return Div(create_sse_element('/sse/broadcast'), id='panel')
    @rt('/')
    def index(): return Titled('Feed', create_sse_element('/sse/broadcast', hidden=True))
    async def go():
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
            assert (await http.get('/panel', headers={'HX-Request': 'true'})).status_code == 200
            assert (await http.get('/panel')).status_code == 200  # FastHTML wraps it in a full page with the app's headers
            assert (await http.get('/')).status_code == 200
    with caplog.at_level(logging.ERROR, logger='cjm_fasthtml_sse'): run(go())
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
