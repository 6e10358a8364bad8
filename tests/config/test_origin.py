"""Sockets open only from the site's own origin (scheme, host and port) or a trusted one."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import given
from hypothesis import strategies as st

from config.origin import normalize_origin, origin_allowed

ALLOWED = ["127.0.0.1", "ttx.example.org"]


def allowed(origin, host, *, secure=False, trusted=()):
    return origin_allowed(
        origin=origin,
        host=host,
        secure=secure,
        allowed_hosts=ALLOWED,
        trusted_origins=list(trusted),
    )


@pytest.mark.parametrize(
    ("origin", "host", "secure", "expected"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", False, True),
        ("http://127.0.0.1:9999", "127.0.0.1:8000", False, False),  # another port
        ("https://127.0.0.1:8000", "127.0.0.1:8000", False, False),  # another scheme
        ("http://ttx.example.org", "ttx.example.org:80", False, True),  # default port
        ("https://ttx.example.org", "ttx.example.org", True, True),
        ("http://ttx.example.org", "ttx.example.org", True, False),  # downgrade
        ("http://evil.example", "evil.example", False, False),  # host not allowed
        ("null", "127.0.0.1:8000", False, False),
        (None, "127.0.0.1:8000", False, False),
        ("http://127.0.0.1:8000", None, False, False),
        ("http://127.0.0.1:8000/page", "127.0.0.1:8000", False, False),
        ("http://user@127.0.0.1:8000", "127.0.0.1:8000", False, False),
    ],
)
def test_it_compares_scheme_host_and_port(origin, host, secure, expected):
    assert allowed(origin, host, secure=secure) is expected


def test_it_accepts_a_trusted_origin_exactly():
    trusted = ["https://ttx.example.org"]
    assert allowed("https://ttx.example.org", "10.0.0.5:8001", trusted=trusted)
    assert not allowed("https://ttx.example.org:8443", "10.0.0.5:8001", trusted=trusted)


@given(port=st.integers(1, 65535), other=st.integers(1, 65535))
def test_it_never_accepts_another_port_of_the_same_host(port, other):
    if port != other:
        assert not allowed(f"http://127.0.0.1:{other}", f"127.0.0.1:{port}")


@given(st.text(max_size=60))
def test_it_never_crashes_on_any_origin(origin):
    normalize_origin(origin)
    assert allowed(origin, "127.0.0.1:8000") in (True, False)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_refuses_an_unrouted_socket_path_without_an_error():
    from config.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    for path in ("/ws/exercises/..%2F..%2F/", "/ws/nothing/", "/"):
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect()
        assert (connected, code) == (False, 4404), path
        await communicator.disconnect()
