"""Headless Chromium for end-to-end tests: Debian's /usr/bin/chromium driven by Playwright.

No browser is ever downloaded; tests skip with a clear reason when Chromium or the
Playwright package is missing, and fail in CI (where .ci/run installs both).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.event_schemas import stored_event_errors

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _events_match_their_payload_types(transactional_db):
    """After each browser test: every event the engine emitted while the pages drove it
    matches its kind's TypedDict (``exercises.events``)."""
    yield
    assert stored_event_errors() == []


@pytest.fixture(scope="session")
def browser() -> Iterator:
    playwright_sync = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium chromium-driver)")
    # Playwright's sync API runs an event loop in this thread; Django must allow ORM calls
    # here. Set only while the browser lives: subprocesses started by earlier tests (e.g.
    # `check --deploy`) must not inherit it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _context_factory(browser, base_url: str):
    contexts = []
    troubles: list[str] = []

    def make(*, width: int = 1280, height: int = 900):
        context = browser.new_context(
            base_url=base_url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(10_000)
        # What went wrong in the browser, printed with a failing test's output.
        context.on(
            "response",
            lambda r: (
                troubles.append(f"HTTP {r.status} {r.request.method} {r.url}")
                if r.status >= 400
                else None
            ),
        )
        context.on("page", lambda page: _watch_console(page, troubles))
        contexts.append(context)
        return context

    return make, contexts, troubles


def _watch_console(page, troubles: list[str]) -> None:
    page.on("pageerror", lambda error: troubles.append(f"page error: {error}"))
    page.on(
        "console",
        lambda msg: (
            troubles.append(f"console {msg.type}: {msg.text}")
            if msg.type in ("error", "warning")
            else None
        ),
    )


# Console errors that fail a test: a frame carrying a panel its page has no target for
# (live pages must receive only what they show; exercises/fragments.py).
FATAL_CONSOLE = ("htmx:oobErrorNoTarget",)


def _close(contexts, troubles: list[str]) -> None:
    for context in contexts:
        context.close()
    if troubles:
        print("Browser troubles during the test:", *troubles, sep="\n  ")
    fatal = [t for t in troubles if any(name in t for name in FATAL_CONSOLE)]
    if fatal:
        pytest.fail("Console errors on a live page:\n" + "\n".join(fatal))


@pytest.fixture
def new_context(browser, live_server):
    """Make isolated browser contexts (one per person); closed after the test."""
    make, contexts, troubles = _context_factory(browser, live_server.url)
    yield make
    _close(contexts, troubles)


def _read_uncommitted(connection, on: bool) -> None:
    """The embedded suite's database is SQLite's shared-cache memory database, where a
    write that meets another connection's read of the same table fails at once ("database
    table is locked") instead of waiting, as the embedded default's file database does.
    Seen in CI: a login's UPDATE of ``accounts_user`` against the previous person's page
    reading its user in one of Daphne's threads. A connection reading uncommitted takes no
    table read locks, so it blocks no writer."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA read_uncommitted = {int(on)}")


def _reads_uncommitted(sender, connection, **kwargs) -> None:
    _read_uncommitted(connection, True)


@pytest.fixture(scope="session")
def asgi_live_server() -> Iterator[str]:
    """The ASGI application (HTTP *and* WebSockets) served by Daphne in a thread; its URL.

    pytest-django's ``live_server`` speaks WSGI only. Daphne runs in this process, not in
    a subprocess, so it shares the in-memory test database and the in-memory channel
    layer with the test. The Twisted reactor cannot restart, so it lives for the session
    (tests using it must be ``django_db(transaction=True)``: their data is committed).
    Its threads' connections read uncommitted (``_read_uncommitted``).
    """
    from django.db.backends.signals import connection_created

    from tests.e2e.asgi_server import serve_in_thread

    connection_created.connect(_reads_uncommitted)
    url, stop = serve_in_thread()
    yield url
    stop()
    connection_created.disconnect(_reads_uncommitted)


@pytest.fixture
def new_live_context(browser, asgi_live_server):
    """Like ``new_context``, against the ASGI server (for pages with a live socket). The
    test's own connection reads uncommitted meanwhile, as the server's do."""
    from django.db import connection

    _read_uncommitted(connection, True)
    make, contexts, troubles = _context_factory(browser, asgi_live_server)
    yield make
    try:
        _close(contexts, troubles)
    finally:
        _read_uncommitted(connection, False)


def login(context, username: str, password: str):
    """Log ``username`` in through the real login form; returns the page."""
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login" not in url)
    return page


# htmx marks elements while a request is in flight and new content until it has "settled"
# (about 20 ms later, when htmx attaches its handlers to it). Clicking new content before
# then acts on an element htmx does not handle yet.
HTMX_BUSY = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"


def htmx_idle(page) -> None:
    """Wait until the page has loaded, htmx has no request in flight and has settled every
    swap. ``window.htmx`` exists as soon as its script runs, but htmx attaches its handlers
    to the page only at DOMContentLoaded: a click in between (a scenario's closed "add"
    form, loaded on its first toggle) was lost, and the form never came."""
    page.wait_for_function(
        "() => document.readyState === 'complete' && window.htmx"
        f" && !document.querySelector({HTMX_BUSY!r})"
    )
