"""A team chat written the way a user would, from the README: logins through FastHTML's session, a shared feed, direct
messages (`send_to_user`), an online list (`on_user_online` / `on_user_offline`), and a topic that every page and
every new stream starts from (`manager.latest`). One `setup_sse` call under `fast_app()`, with tab sharing on, and a
`RedisBackend`, so that any number of uvicorn processes serve it as one.

tests/test_latest.py and tests/browser/test_browser_chat.py run two (or three) processes of it on one redis-server.
Environment: `CHAT_REDIS` (the Redis URL), and optionally `CHAT_PREFIX`, `CHAT_SHARE` ('0' turns tab sharing off),
`CHAT_HISTORY` (the manager's `history_limit`)."""
import os
from fasthtml.common import *
from cjm_fasthtml_sse import BroadcastManager, RedisBackend, setup_sse

manager = BroadcastManager(history_limit=int(os.environ.get('CHAT_HISTORY', '4096')),
                           backend=RedisBackend(os.environ['CHAT_REDIS'], prefix=os.environ.get('CHAT_PREFIX', 'chat')))
app, rt = fast_app(secret_key='chat-tests-secret')  # one key for every process, so a login on one is a login on all

def who(request): return request.session.get('user')  # set by /login, in FastHTML's signed session cookie

def topic_view(text, **kw): return Div(text, id='topic', **kw)
def online_view(users, **kw): return Ul(*[Li(u) for u in sorted(users)], id='online', **kw)

def current_state(request):
    "What a stream opened with no position starts with: the topic and the online list, as every worker knows them."
    return [m.data for m in (manager.latest('#topic'), manager.latest('#online')) if m is not None]

sse = setup_sse(app, manager, identify=who, initial=current_state, share=os.environ.get('CHAT_SHARE', '1') == '1')

@manager.on_user_online
@manager.on_user_offline
async def presence_changed(user): await manager.broadcast('online', online_view(await manager.users_online(), hx_swap_oob='true'))

@rt('/login')
def get(): return Titled('Log in', Form(Input(name='name', placeholder='Your name'), Button('Log in'), method='post', action='/login'))

@rt('/login')
def post(name: str, session):
    session['user'] = name
    return RedirectResponse('/', status_code=303)

@rt('/')
async def index(session):
    me = session.get('user')
    if not me: return RedirectResponse('/login', status_code=303)
    topic, online = manager.latest('#topic'), manager.latest('#online')  # the state, and (no await in between) the stream's position
    return Titled(f'Chat: {me}',
                  topic.data if topic else topic_view('No topic yet'),
                  H3('Online'), online.data if online else online_view([]),
                  H3('Messages for you'), Ul(id='inbox'),
                  H3('Everyone'), Ul(id='feed'),
                  sse(id='sse-listener'))

@rt('/say')
async def post(text: str, session):
    await manager.broadcast('say', Ul(Li(f"{session['user']}: {text}"), id='feed', hx_swap_oob='beforeend'))

@rt('/topic')
async def post(text: str, session):
    await manager.broadcast('topic', topic_view(text, hx_swap_oob='true'))

@rt('/dm')
async def post(to: str, text: str, session):
    await manager.send_to_user(to, 'dm', Ul(Li(f"{session['user']}: {text}"), id='inbox', hx_swap_oob='beforeend'))
