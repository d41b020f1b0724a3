"Every numeric and callable argument of the stream routes is checked at setup, with an error that names it."
import pytest
from fasthtml.common import FastHTML
from cjm_fasthtml_sse.core.broadcast import BroadcastManager, create_broadcast_handler, setup_broadcast_routes

BAD = [('heartbeat_interval', '15', TypeError), ('heartbeat_interval', float('inf'), ValueError), ('heartbeat_interval', -1, ValueError),
       ('retry_ms', '2000', TypeError), ('retry_ms', 1.5, TypeError), ('authorize', 'admins', TypeError), ('initial', 'state', TypeError),
       ('identify', 'user', TypeError), ('element_builder', 3, TypeError), ('allow_client_ids', 'no', TypeError)]

@pytest.mark.parametrize('name,value,exc', BAD)
def test_setup_broadcast_routes_names_the_bad_argument(name, value, exc):
    with pytest.raises(exc, match=name): setup_broadcast_routes(FastHTML(), BroadcastManager(), **{name: value})

@pytest.mark.parametrize('name,value,exc', BAD)
def test_create_broadcast_handler_names_the_bad_argument(name, value, exc):
    with pytest.raises(exc, match=name): create_broadcast_handler(BroadcastManager(), **{name: value})

def test_status_detail_is_checked_too():
    with pytest.raises(TypeError, match='status_detail'): setup_broadcast_routes(FastHTML(), BroadcastManager(), status_detail=True)
