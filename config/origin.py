"""Same-origin check for WebSocket handshakes.

A browser sends the session cookie with a socket opened from any page, so a page of
another origin could read a player's live feed (cross-site WebSocket hijacking). Channels'
``AllowedHostsOriginValidator`` compares only the Origin's host name with
``ALLOWED_HOSTS``: a page served from ``http://127.0.0.1:9999`` passed it. Here the Origin
must be the socket's own origin — scheme, host and port — or one of
``CSRF_TRUSTED_ORIGINS``, the same rule Django's CSRF check applies to forms.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(origin: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin, default ports made explicit; None when it is
    not an http(s) origin (``null``, a file page, garbage)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def origin_allowed(
    *,
    origin: str | None,
    host: str | None,
    secure: bool,
    allowed_hosts: list[str],
    trusted_origins: list[str],
) -> bool:
    """The handshake's ``origin`` is the socket's own origin (``host`` reached over
    ``secure`` or plain transport, ``host`` itself allowed), or a trusted origin."""
    if not origin:
        return False
    claimed = normalize_origin(origin)
    if claimed is None:
        return False
    if claimed in {normalize_origin(trusted) for trusted in trusted_origins}:
        return True
    if not host:
        return False
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, allowed_hosts):
        return False
    scheme = "https" if secure else "http"
    return claimed == normalize_origin(f"{scheme}://{host}")


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _secure(scope: dict) -> bool:
    if scope.get("scheme") == "wss":
        return True
    # Behind a TLS-terminating proxy the server sees plain ws; the proxy says what the
    # browser used (the same header Django trusts for requests: SECURE_PROXY_SSL_HEADER).
    return bool(getattr(settings, "BEHIND_TLS_PROXY", False)) and (
        _header(scope, b"x-forwarded-proto") == "https"
    )


class SameOriginValidator:
    """ASGI middleware: refuse a socket whose Origin is not its own origin (or trusted)."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        allowed = origin_allowed(
            origin=_header(scope, b"origin"),
            host=_header(scope, b"host"),
            secure=_secure(scope),
            allowed_hosts=settings.ALLOWED_HOSTS,
            trusted_origins=settings.CSRF_TRUSTED_ORIGINS,
        )
        if not allowed:
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
