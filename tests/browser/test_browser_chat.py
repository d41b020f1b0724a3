"""Issue 19's "done when", in Chromium: the team chat of tests/chat_app.py (fast_app, setup_sse with tab sharing on,
RedisBackend) on two uvicorn processes and one redis-server. Two users, one named `zoë@example.com`, who has two tabs;
direct messages reach both of her tabs and nobody else; the online list updates on the other user's pages; and a fresh
tab on the other process starts with the current state (`manager.latest`)."""
import contextlib
import pytest
from helpers import free_port, redis_server, running
from pages import STREAM_OPEN, open_tab
from test_browser_catch_up import serve_cdn_locally

pytestmark = pytest.mark.timeout(180)

ZOE, BOB = 'zoë@example.com', 'bob'

@contextlib.contextmanager
def chat(port, redis_url):
    env = {'CHAT_REDIS': redis_url, 'CHAT_PREFIX': 'chat_browser'}
    with running(['-m', 'uvicorn', 'chat_app:app', '--host', '127.0.0.1', '--port', str(port), '--log-level', 'warning'], port, env) as url: yield url

def login(context, url, name):
    "Log in through the app's form, the way a person would; return the chat tab it leads to, once its stream is open."
    page = context.new_page()
    page.goto(url + '/login')
    page.fill('input[name=name]', name)
    page.click('button')
    page.wait_for_url(url + '/')
    page.wait_for_function(STREAM_OPEN, timeout=10_000)
    return page

def items(page, list_id): return page.eval_on_selector_all(f'#{list_id} li', 'items => items.map(li => li.textContent)')

def wait_items(page, list_id, expected, timeout=15):
    "Wait until the tab's list `list_id` holds exactly `expected`."
    js = "([id, expected]) => JSON.stringify([...document.querySelectorAll('#' + id + ' li')].map(li => li.textContent)) === JSON.stringify(expected)"
    try: page.wait_for_function(js, arg=[list_id, expected], timeout=timeout * 1000)
    except Exception as e: raise AssertionError(f"#{list_id} of {page.url} is {items(page, list_id)}, expected {expected}") from e

def wait_topic(page, text, timeout=15):
    try: page.wait_for_function("text => document.querySelector('#topic').textContent === text", arg=text, timeout=timeout * 1000)
    except Exception as e: raise AssertionError(f"#topic of {page.url} is {page.text_content('#topic')!r}, expected {text!r}") from e

def test_team_chat_on_two_workers(browser, context, htmx2_assets):
    bob_context = browser.new_context()
    bob_context.set_default_timeout(15_000)
    try:
        for ctx in (context, bob_context): serve_cdn_locally(ctx, htmx2_assets)
        with redis_server() as (redis_url, *_), chat(free_port(), redis_url) as a, chat(free_port(), redis_url) as b:
            zoe_tabs = [login(context, a, ZOE)]
            zoe_tabs.append(open_tab(context, a))  # her second tab shares the first one's stream
            assert [t.evaluate('cjmSharedSSE.mode') for t in zoe_tabs] == ['worker', 'worker']
            bob_a = login(bob_context, a, BOB)
            wait_items(bob_a, 'online', sorted([BOB, ZOE]))  # presence: both are online, on bob's page

            bob_context.request.post(a + '/dm', form={'to': ZOE, 'text': 'hi zoë'})
            context.request.post(a + '/dm', form={'to': BOB, 'text': 'hi bob'})
            context.request.post(a + '/say', form={'text': 'hello all'})
            for t in zoe_tabs: wait_items(t, 'feed', [f'{ZOE}: hello all'])  # the later broadcast has arrived, so the DMs have too
            wait_items(bob_a, 'feed', [f'{ZOE}: hello all'])
            assert [items(t, 'inbox') for t in zoe_tabs] == [[f'{BOB}: hi zoë']] * 2  # both of her tabs, not bob's DM
            assert items(bob_a, 'inbox') == [f'{ZOE}: hi bob']  # only his own

            bob_context.request.post(a + '/topic', form={'text': 'Launch ☕ at 5'})
            wait_topic(bob_a, 'Launch ☕ at 5')
            bob_b = open_tab(bob_context, b)  # a fresh tab on the other process starts with the current state
            wait_topic(bob_b, 'Launch ☕ at 5')
            wait_items(bob_b, 'online', sorted([BOB, ZOE]))
            assert items(bob_b, 'inbox') == [] and items(bob_b, 'feed') == []  # the state, not a replay of the feed or of his DMs

            for t in zoe_tabs: t.close()
            for t in (bob_a, bob_b): wait_items(t, 'online', [BOB])  # she left: her last tab closed
    finally: bob_context.close()
