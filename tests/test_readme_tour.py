"The README's tour app, run exactly as the README says (`python main.py`, which `serve()`s it with FastHTML's reloader)."
import re
import httpx
from helpers import free_port, readme_tour, run
from cjm_fasthtml_sse.testing import SSEClient

def test_the_tour_page_starts_its_stream_where_it_was_rendered(tmp_path):
    "The page names the position it was rendered at, that position belongs to the manager that serves the stream, and a click after the render arrives on it."
    with readme_tour(tmp_path, free_port()) as url:
        async def go():
            async with httpx.AsyncClient(base_url=url, timeout=10) as http:
                page = (await http.get('/')).text
                m = re.search(r'sse-connect="/sse/broadcast\?last_event_id=(\d+)"', page)
                urls = re.findall(r'sse-connect="[^"]*"', page)
                assert m, f"the tour page's stream URL has no render-time position: {urls}"
                assert (await http.post('/increment')).status_code == 200
                tab = await SSEClient.connect(f'{url}/sse/broadcast?last_event_id={m.group(1)}')
                first = await tab.next_event()
                await tab.close()
                return first
        first = run(go())
    assert first is not None and first.event == 'message', f'the click made after the render did not arrive first: {first}'
    assert '<span hx-swap-oob="true" id="counter">1</span>' == first.data

def test_the_tour_wires_the_app_in_one_call():
    "The tour's app is wired by setup_sse: no headers, routes or stream element assembled by hand."
    from helpers import readme_tour_code
    code = readme_tour_code()
    assert 'setup_sse(app, manager' in code and 'sse()' in code
    for by_hand in ('sse_hdrs', 'setup_broadcast_routes', 'create_sse_element'): assert by_hand not in code, by_hand
