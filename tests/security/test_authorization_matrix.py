"""Every URL of the project × every persona → the expected answer.

The table is the specification: a URL pattern without a row fails the coverage test, so a
new page or action must be classified before it ships. "ok" means the view ran for the
caller (2xx, a redirect that is not to a login page, or a 400/422 form error).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Invitation
from exercises import engine
from exercises.consumers import CLOSE_ANONYMOUS, CLOSE_FORBIDDEN
from exercises.models import Observation, Rfi
from exercises.routing import websocket_urlpatterns
from onboarding.services import invitation_issue
from tests.security.world import PERSONAS, World, build_world

OK, LOGIN, DENIED, HIDDEN = "ok", "login", "403", "404"


def expect(default: str, **overrides: str) -> dict[str, str]:
    table = dict.fromkeys(PERSONAS, default)
    table["anonymous"] = LOGIN
    table.update(overrides)
    return table


EVERYONE = dict.fromkeys(PERSONAS, OK)
SIGNED_IN = expect(OK)
AUTHOR = expect(DENIED, facilitator=OK)
CONTROL = expect(DENIED, outsider=HIDDEN, facilitator=OK)
PLAYERS = expect(DENIED, outsider=HIDDEN, player_a=OK, player_b=OK)
EVALUATORS = expect(DENIED, outsider=HIDDEN, evaluator=OK, facilitator=OK)
WATCHERS = expect(OK, outsider=HIDDEN, player_a=DENIED, player_b=DENIED)
SEATED = expect(OK, outsider=HIDDEN)
REPORT_EDITORS = expect(DENIED, outsider=HIDDEN, facilitator=OK, coordinator=OK)
REPORT_FULL = expect(DENIED, outsider=HIDDEN, facilitator=OK, coordinator=OK, evaluator=OK)
# An export (the facilitator's here) belongs to whoever requested it: other readers who
# may export (the full report, or a player's team debrief) are told it does not exist.
OWN_EXPORT = expect(
    DENIED,
    outsider=HIDDEN,
    facilitator=OK,
    coordinator=HIDDEN,
    evaluator=HIDDEN,
    player_a=HIDDEN,
    player_b=HIDDEN,
)
ORG_A_ADMIN = expect(HIDDEN, player_a=OK)


@dataclass(frozen=True)
class Row:
    method: str
    kwargs: Callable[[World], dict[str, Any]]
    expected: dict[str, str]
    data: Callable[[World], dict[str, Any]] = lambda w: {}
    fresh_target: bool = False  # kwargs made again for each persona


def ex(w: World) -> dict[str, Any]:
    return {"code": w.exercise.code}


def draft(w: World) -> dict[str, Any]:
    return {"code": w.draft.code}


def none(w: World) -> dict[str, Any]:
    return {}


def invitation(w: World) -> dict[str, Any]:
    """Org A's invitation to player B: only player B may answer it."""
    invited, _ = Invitation.objects.get_or_create(
        organization=w.orgs["a"], user=w.users["player_b"]
    )
    return {"code": invited.code}


def email_invitation(w: World) -> dict[str, Any]:
    """An emailed link: the token is the capability, so anyone holding it sees the page
    (accepting needs the invited address's account; a spent link answers 410)."""
    _, token = invitation_issue(
        email="nobody@example.org", organization=w.orgs["a"], invited_by=w.users["player_a"]
    )
    return {"token": token}


def rfi(w: World) -> dict[str, Any]:
    """An RFI of the cloud (player A) to the hospital (player B)."""
    asked = Rfi.objects.filter(exercise=w.exercise).first() or engine.rfi_ask(
        exercise=w.exercise,
        team=w.teams["cloud"],
        author=w.users["player_a"],
        question="Matrix question",
        tlp="AMBER",
        to_team=w.teams["hospital"],
        client_token="matrix",
    )
    return {**ex(w), "rfi_code": asked.code}


def observation(w: World) -> dict[str, Any]:
    """A new observation of the evaluator's each time it is called."""
    made = Observation.objects.create(
        exercise=w.exercise,
        team=w.teams["cloud"],
        criterion=w.exercise.scenario.rubric.criteria.get(key="detect"),
        evaluator=w.users["evaluator"],
        rating="S",
    )
    return {**ex(w), "observation_code": made.code}


# Only its evaluator corrects an observation: the facilitator too is refused.
OWN_OBSERVATION = expect(DENIED, outsider=HIDDEN, evaluator=OK)

ROWS: dict[str, Row] = {
    "home": Row("GET", none, SIGNED_IN),
    "healthz": Row("GET", none, EVERYONE),
    "readyz": Row("GET", none, EVERYONE),
    # Off without METRICS_TOKEN; with it, only the token opens it (tests/config).
    "metrics": Row("GET", none, dict.fromkeys(PERSONAS, HIDDEN)),
    # accounts
    "accounts:login": Row("GET", none, EVERYONE),
    # Single sign-on: off (404) unless OIDC_CLIENT_ID is set (tests/accounts/test_sso.py).
    "accounts:sso_start": Row("GET", none, dict.fromkeys(PERSONAS, HIDDEN)),
    "accounts:sso_callback": Row("GET", none, dict.fromkeys(PERSONAS, HIDDEN)),
    "accounts:logout": Row("POST", none, dict.fromkeys(PERSONAS, LOGIN)),  # back to login
    "accounts:password_change": Row("GET", none, SIGNED_IN),
    "accounts:password_change_done": Row("GET", none, SIGNED_IN),
    # Password reset by email: open to everyone (a bad link shows "cannot be used").
    "accounts:password_reset": Row("GET", none, EVERYONE),
    "accounts:password_reset_done": Row("GET", none, EVERYONE),
    "accounts:password_reset_confirm": Row(
        "GET", lambda w: {"uidb64": "MQ", "token": "set-password"}, EVERYONE
    ),
    "accounts:password_reset_complete": Row("GET", none, EVERYONE),
    "accounts:organizations": Row("GET", none, SIGNED_IN),
    # Creating organizations needs accounts.add_organization: the Facilitators group's.
    "accounts:organization_new": Row("GET", none, expect(DENIED, facilitator=OK)),
    "accounts:invitations": Row("GET", none, SIGNED_IN),
    "accounts:invitation_accept": Row("POST", invitation, expect(HIDDEN, player_b=OK)),
    "accounts:invitation_decline": Row("POST", invitation, expect(HIDDEN, player_b=OK)),
    "accounts:organization": Row(
        "GET", lambda w: {"code": w.orgs["a"].code}, expect(HIDDEN, player_a=OK)
    ),
    "accounts:member_add": Row(
        "POST",
        lambda w: {"code": w.orgs["a"].code},
        ORG_A_ADMIN,
        lambda w: {"username": "mallory"},
    ),
    "accounts:member_remove": Row(
        "POST",
        lambda w: {
            "code": w.orgs["a"].code,
            "membership_id": w.users["player_airport"].memberships.get().id,
        },
        ORG_A_ADMIN,
    ),
    # invitations by email (onboarding)
    "onboarding:redeem": Row("GET", email_invitation, EVERYONE),
    "onboarding:decline": Row("POST", email_invitation, EVERYONE),
    "onboarding:organization_invite": Row(
        "POST",
        lambda w: {"code": w.orgs["a"].code},
        ORG_A_ADMIN,
        lambda w: {"email": "someone@example.org"},
    ),
    "onboarding:exercise_invitations": Row("GET", ex, CONTROL),
    "onboarding:exercise_invite": Row("POST", ex, CONTROL),
    "onboarding:roster_preview": Row("POST", ex, CONTROL),
    "onboarding:roster_send": Row("POST", ex, CONTROL),
    # scenario authoring
    "scenarios:scenario_list": Row("GET", none, AUTHOR),
    "scenarios:scenario_create": Row("GET", none, AUTHOR),
    "scenarios:scenario_import": Row("GET", none, AUTHOR),
    "scenarios:scenario_detail": Row("GET", draft, AUTHOR),
    "scenarios:scenario_graph": Row("GET", draft, AUTHOR),
    "scenarios:scenario_preview": Row("GET", draft, AUTHOR),
    "scenarios:scenario_export": Row("GET", lambda w: {**draft(w), "fmt": "yaml"}, AUTHOR),
    "scenarios:scenario_publish": Row("POST", draft, AUTHOR),
    "scenarios:scenario_new_draft": Row(
        "POST", lambda w: {"code": w.exercise.scenario.code}, AUTHOR
    ),
    "scenarios:scenario_delete": Row("POST", draft, AUTHOR),
    "scenarios:scenario_details": Row("POST", draft, AUTHOR, lambda w: {"title": "Renamed"}),
    "scenarios:role_create": Row("POST", draft, AUTHOR),
    "scenarios:stage_create": Row("POST", draft, AUTHOR),
    "scenarios:stage_part_create": Row(
        "POST", lambda w: {**draft(w), "parent": "start", "kind": "inject"}, AUTHOR
    ),
    "scenarios:prompt_part_create": Row(
        "POST", lambda w: {**draft(w), "parent": "first-move", "kind": "option"}, AUTHOR
    ),
    "scenarios:part_edit": Row(
        "POST", lambda w: {**draft(w), "kind": "stage", "ref": "start"}, AUTHOR
    ),
    "scenarios:part_delete": Row(
        "POST", lambda w: {**draft(w), "kind": "inject", "ref": "news"}, AUTHOR
    ),
    "scenarios:scenario_duplicate": Row("POST", draft, AUTHOR),
    "scenarios:scenario_grid": Row("GET", draft, AUTHOR),
    "scenarios:grid_row": Row("GET", lambda w: {**draft(w), "key": "news"}, AUTHOR),
    "scenarios:part_move": Row(
        "POST", lambda w: {**draft(w), "kind": "stage", "ref": "start", "step": "down"}, AUTHOR
    ),
    "scenarios:part_duplicate": Row(
        "POST", lambda w: {**draft(w), "kind": "stage", "ref": "start"}, AUTHOR
    ),
    "scenarios:part_reorder": Row(
        "POST", lambda w: {**draft(w), "kind": "inject", "ref": "news"}, AUTHOR
    ),
    "scenarios:scenario_undo": Row("POST", draft, AUTHOR),
    "scenarios:option_row": Row("GET", lambda w: {**draft(w), "parent": "start"}, AUTHOR),
    "scenarios:grid_add": Row("POST", draft, AUTHOR),
    # live exercise
    "exercises:exercise_list": Row("GET", none, SIGNED_IN),
    "exercises:exercise_new": Row("GET", none, AUTHOR),
    "exercises:exercise": Row("GET", ex, SEATED),
    "exercises:lobby": Row("GET", ex, CONTROL),
    "exercises:team_add": Row("POST", ex, CONTROL),
    "exercises:participant_add": Row("POST", ex, CONTROL),
    "exercises:control": Row("GET", ex, CONTROL),
    "exercises:presence": Row("GET", ex, CONTROL),
    "exercises:branch_preview": Row("GET", ex, CONTROL),
    "exercises:due_next": Row("GET", ex, CONTROL),
    "exercises:start": Row("POST", ex, CONTROL),
    "exercises:pause": Row("POST", ex, CONTROL),
    "exercises:resume": Row("POST", ex, CONTROL),
    "exercises:advance": Row("POST", ex, CONTROL),
    "exercises:advance_confirm": Row("GET", ex, CONTROL),
    "exercises:end": Row("POST", ex, CONTROL),
    "exercises:hotwash": Row("POST", ex, CONTROL, lambda w: {"notes": "Hot wash"}),
    "exercises:inject_release": Row("POST", lambda w: {**ex(w), "inject_key": "news"}, CONTROL),
    "exercises:prompt_toggle": Row(
        "POST", lambda w: {**ex(w), "prompt_key": "first-move", "verb": "close"}, CONTROL
    ),
    "exercises:room": Row("GET", ex, PLAYERS),
    "exercises:decide": Row(
        "POST",
        lambda w: {**ex(w), "prompt_key": "first-move"},
        PLAYERS,
        lambda w: {"option": "isolate", "client_token": "matrix"},
    ),
    "exercises:share": Row("POST", ex, PLAYERS),
    "exercises:relay_form": Row("GET", ex, PLAYERS, lambda w: {"share": w.shares["GREEN"].pk}),
    "exercises:relay": Row(
        "POST",
        ex,
        PLAYERS,
        lambda w: {"share": w.shares["GREEN"].pk, "recipients": [w.teams["bank"].code]},
    ),
    # The sender (player B) is answered by the view, refused by the engine in the form.
    "exercises:share_reply": Row(
        "POST", ex, PLAYERS, lambda w: {"share": w.shares["GREEN"].pk, "body": "Matrix reply"}
    ),
    # No persona plays a coordinating body (tests/exercises/test_coordinating.py lets one).
    "exercises:summary_form": Row("GET", ex, expect(DENIED, outsider=HIDDEN)),
    "exercises:summarize": Row("POST", ex, expect(DENIED, outsider=HIDDEN)),
    "exercises:rfi_ask": Row(
        "POST", ex, PLAYERS, lambda w: {"to": "control", "tlp": "GREEN", "question": "Matrix"}
    ),
    "exercises:rfi_answer": Row(
        "POST",
        rfi,
        expect(DENIED, outsider=HIDDEN, player_a=OK, player_b=OK, facilitator=OK),
        lambda w: {"answer": "Matrix answer"},
    ),
    "exercises:thread_post": Row("POST", ex, PLAYERS, lambda w: {"body": "Matrix line"}),
    "exercises:control_thread_post": Row(
        "POST",
        lambda w: {**ex(w), "team_code": w.teams["cloud"].code},
        CONTROL,
        lambda w: {"body": "Matrix line"},
    ),
    "exercises:evaluate": Row("GET", ex, EVALUATORS),
    "exercises:observe_record": Row("POST", ex, EVALUATORS),
    "exercises:observation_revise": Row(
        "POST", observation, OWN_OBSERVATION, lambda w: {"rating": "P", "note": "Matrix"}
    ),
    "exercises:observation_delete": Row("POST", observation, OWN_OBSERVATION, fresh_target=True),
    "exercises:observe": Row("GET", ex, WATCHERS),
    "exercises:observer_picture": Row("GET", ex, WATCHERS),
    # A join link is a capability: anyone signed in who has it sees whose team it is and
    # why they may or may not join (joining itself is checked by the engine).
    "exercises:join": Row("GET", lambda w: {"join_code": w.teams["cloud"].join_code}, SIGNED_IN),
    # after-action reports
    "scoring:list": Row("GET", none, SIGNED_IN),
    "scoring:plan": Row("GET", none, SIGNED_IN),
    "scoring:compare": Row("GET", none, SIGNED_IN),
    # Each reader follows the organizations scoring.access.trend_scope allows; this world
    # has one run, so there is no trend to download for anyone (who sees which
    # organization across runs: tests/scoring/test_trends_views.py).
    "scoring:trends": Row("GET", none, SIGNED_IN),
    "scoring:trends-export": Row("GET", lambda w: {"fmt": "csv"}, expect(HIDDEN)),
    "scoring:report": Row("GET", ex, SEATED),
    "scoring:recompute": Row("POST", ex, REPORT_EDITORS),
    "scoring:item-edit": Row("GET", lambda w: {**ex(w), "item": w.item.code}, REPORT_EDITORS),
    "scoring:item-row": Row("GET", lambda w: {**ex(w), "item": w.item.code}, REPORT_EDITORS),
    # Every reader downloads their own view of what was shared (their TLP rights).
    "scoring:sharing-export": Row("GET", lambda w: {**ex(w), "fmt": "stix"}, SEATED),
    "scoring:export-create": Row("POST", ex, REPORT_FULL, lambda w: {"format": "json"}),
    "scoring:export-status": Row("GET", lambda w: {**ex(w), "export": w.export.code}, OWN_EXPORT),
    "scoring:export-download": Row("GET", lambda w: {**ex(w), "export": w.export.code}, OWN_EXPORT),
}

# Django admin: staff only. Every pattern sends non-staff to the admin login page; the
# login page itself answers, and logging out is harmless.
ADMIN_OPEN = {"admin:login", "admin:logout"}
ADMIN_SAMPLES = {"object_id": "1", "content_type_id": "1", "id": "1", "url": "x"}


def walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    """(route, name) of every URL pattern, through includes and namespaces."""
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or ""
            full = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from walk(pattern, prefix + str(pattern.pattern), full)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name


ALL_PATTERNS = list(walk(get_resolver()))
ADMIN_PATTERNS = [(route, name) for route, name in ALL_PATTERNS if route.startswith("admin/")]


def admin_path(route: str) -> str:
    """A concrete path for an admin route: converters and groups filled with samples."""
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ADMIN_SAMPLES.get(m[1], "1"), route)
    path = re.sub(r"\(\?P<app_label>[^)]*\)", "accounts", path)
    path = re.sub(r"\(\?P<url>[^)]*\)", "x", path)
    return "/" + path.lstrip("^").rstrip("$")


def classify(response) -> str:
    if response.status_code in (301, 302, 303) and "/login/" in response.get("Location", ""):
        return LOGIN
    if response.status_code in (403, 404, 405) or response.status_code >= 500:
        return str(response.status_code)
    return OK


def client_for(world: World, persona: str) -> Client:
    client = Client()
    user = world.users[persona]
    if user is not None:
        client.force_login(user)
    return client


def test_it_classifies_every_url_pattern_of_the_project():
    names = {name for route, name in ALL_PATTERNS if not route.startswith("admin/")}
    unnamed = [r for r, name in ALL_PATTERNS if not name and not r.startswith("admin/")]
    assert not unnamed, f"unnamed URL patterns cannot be classified: {unnamed}"
    missing = names - set(ROWS)
    assert not missing, f"URL patterns without a row in the authorization table: {missing}"
    stale = set(ROWS) - names
    assert not stale, f"rows for URL patterns that no longer exist: {stale}"
    assert len(ADMIN_PATTERNS) > 20  # the admin is mounted and walked


@pytest.mark.django_db
class TestTheTable:
    """Every row against one world (conftest.shared_world), each in a transaction of its own."""

    @pytest.mark.parametrize("name", sorted(ROWS))
    def test_it_answers_each_persona_as_the_table_says(self, name, world, settings):
        # Readiness depends on the services, not on who asks: no Celery worker runs here.
        settings.CELERY_TASK_ALWAYS_EAGER = True
        row = ROWS[name]
        url = reverse(name, kwargs=row.kwargs(world))
        got = {}
        for persona in PERSONAS:
            if row.fresh_target:  # an earlier persona may have deleted it
                url = reverse(name, kwargs=row.kwargs(world))
            client = client_for(world, persona)
            call = client.post if row.method == "POST" else client.get
            got[persona] = classify(call(url, row.data(world)))
        assert got == row.expected, name


@pytest.mark.django_db
def test_it_keeps_the_admin_staff_only():
    world = build_world(with_report=False)
    clients = {p: client_for(world, p) for p in ("anonymous", "facilitator", "player_a")}
    checked = 0
    for route, name in ADMIN_PATTERNS:
        if name in ADMIN_OPEN:
            continue
        path = admin_path(route)
        for persona, client in clients.items():
            response = client.get(path)
            assert response.status_code == 302, (path, persona, response.status_code)
            assert response["Location"].startswith("/admin/login/"), (path, persona)
        checked += 1
    assert checked == len(ADMIN_PATTERNS) - len(ADMIN_OPEN)


# ---------------------------------------------------------------- guessing ids

# Integer path segments are looked up inside an object the caller was already checked
# against (never globally), so guessing one reaches nothing new.
SCOPED_INT_ROUTES = {"accounts:member_remove", "scenarios:part_edit", "scenarios:part_delete"}


def test_it_puts_no_bare_database_ids_in_urls():
    with_ints = {name for route, name in ALL_PATTERNS if "<int:" in route}
    assert with_ints <= SCOPED_INT_ROUTES
    codes = [route for route, name in ALL_PATTERNS if "<str:code>" in route]
    assert len(codes) > 30  # exercises, scenarios, reports and organizations go by code


@pytest.mark.django_db
def test_it_finds_nothing_of_another_exercise_under_this_exercises_code():
    world = build_world()
    facilitator = client_for(world, "facilitator")
    code = world.exercise.code
    for name, extra in (
        ("scoring:item-edit", {"item": world.other_item.code}),
        ("scoring:item-row", {"item": world.other_item.code}),
        ("scoring:export-status", {"export": world.other_export.code}),
        ("scoring:export-download", {"export": world.other_export.code}),
    ):
        response = facilitator.get(reverse(name, kwargs={"code": code, **extra}))
        assert response.status_code == 404, name
    # Keys of the other exercise's scenario do not resolve in this one either.
    other_draft = world.draft
    other_draft.injects.create(key="only-there", title="x", stage=other_draft.stages.first())
    response = facilitator.post(
        reverse("exercises:inject_release", kwargs={"code": code, "inject_key": "only-there"})
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_it_finds_no_part_of_another_scenario_by_its_row_id():
    world = build_world(with_report=False)
    facilitator = client_for(world, "facilitator")
    foreign = world.exercise.scenario.transitions.first()
    for name in ("scenarios:part_edit", "scenarios:part_delete"):
        url = reverse(
            name, kwargs={"code": world.draft.code, "kind": "transition", "ref": foreign.id}
        )
        assert facilitator.post(url).status_code == 404, name
    assert world.exercise.scenario.transitions.filter(id=foreign.id).exists()


@pytest.mark.django_db
def test_it_removes_no_member_of_another_organization_by_membership_id():
    world = build_world(with_report=False)
    outsider_membership = world.users["outsider"].memberships.get()
    url = reverse(
        "accounts:member_remove",
        kwargs={"code": world.orgs["a"].code, "membership_id": outsider_membership.id},
    )
    assert client_for(world, "player_a").post(url).status_code == 404
    assert type(outsider_membership).objects.filter(id=outsider_membership.id).exists()


@pytest.mark.django_db
def test_it_lets_no_one_act_on_another_exercise_with_their_own_seat():
    """A facilitator of one exercise is an outsider to another: every control URL is 404."""
    world = build_world(with_report=False)
    other_facilitator = world.users["outsider"]
    from exercises.models import Participant

    Participant.objects.create(exercise=world.other, user=other_facilitator, kind="facilitator")
    client = client_for(world, "outsider")
    for name in ("exercises:control", "exercises:lobby", "scoring:report"):
        assert client.get(reverse(name, kwargs=ex(world))).status_code == 404, name
    assert (
        client.get(reverse("exercises:control", kwargs={"code": world.other.code})).status_code
        == 200
    )


@pytest.mark.django_db
def test_it_refuses_posts_without_a_csrf_token():
    world = build_world(with_report=False)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["facilitator"])
    for name, kwargs in (
        ("exercises:pause", ex(world)),
        ("exercises:share", ex(world)),
        ("exercises:thread_post", ex(world)),
        ("exercises:relay", ex(world)),
        ("exercises:share_reply", ex(world)),
        ("exercises:summarize", ex(world)),
        ("exercises:rfi_ask", ex(world)),
        ("scoring:recompute", ex(world)),
        ("scenarios:scenario_publish", draft(world)),
    ):
        assert client.post(reverse(name, kwargs=kwargs)).status_code == 403, name
    world.exercise.refresh_from_db()
    assert world.exercise.status == "running"


# ---------------------------------------------------------------- WebSocket actions

WS_CONNECT = {
    "anonymous": CLOSE_ANONYMOUS,
    "outsider": CLOSE_FORBIDDEN,
    "nobody": CLOSE_FORBIDDEN,
    **dict.fromkeys(
        ("observer", "evaluator", "coordinator", "player_a", "player_b", "facilitator"), None
    ),
}
WS_APP = URLRouter(websocket_urlpatterns)


async def ws_open(world: World, persona: str, code: str | None = None):
    communicator = WebsocketCommunicator(WS_APP, f"/ws/exercises/{code or world.exercise.code}/")
    communicator.scope["user"] = world.users[persona] or AnonymousUser()
    connected, close_code = await communicator.connect()
    return communicator, connected, close_code


async def frames_until_quiet(
    communicator, timeout: float = 0.5, first_timeout: float = 5
) -> list[str]:
    """Every frame until the socket goes quiet; the first may take longer to render."""
    if await communicator.receive_nothing(timeout=first_timeout):
        return []
    frames = [await communicator.receive_from()]
    while not await communicator.receive_nothing(timeout=timeout):
        frames.append(await communicator.receive_from())
    return frames


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_answers_every_websocket_action_per_persona():
    world = await database_sync_to_async(build_world)(with_report=False)
    for persona, refused_with in WS_CONNECT.items():
        communicator, connected, close_code = await ws_open(world, persona)
        if refused_with is not None:
            assert (connected, close_code) == (False, refused_with), persona
            continue
        assert connected, persona
        await communicator.send_json_to({"type": "hello", "last_seq": 0})
        replay = await frames_until_quiet(communicator)
        assert replay, persona
        assert all(f.startswith("<!--seq:") for f in replay), persona
        await communicator.send_json_to({"type": "ping"})
        assert 'id="live-heartbeat"' in await communicator.receive_from(), persona
        for bad in ('{"type": "release", "inject": "news"}', "not json", "[1, 2]", '{"type": 3}'):
            await communicator.send_to(text_data=bad)
            assert 'id="live-error"' in await communicator.receive_from(), (persona, bad)
        await communicator.send_json_to({"type": "ping"})  # still open and answering
        assert 'id="live-heartbeat"' in await communicator.receive_from(), persona
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_refuses_a_socket_on_an_exercise_where_the_user_has_no_seat():
    world = await database_sync_to_async(build_world)(with_report=False)
    # Bob plays in the first exercise only: the other exercise's code gets him nothing.
    _, connected, close_code = await ws_open(world, "player_a", code=world.other.code)
    assert (connected, close_code) == (False, CLOSE_FORBIDDEN)
    _, connected, close_code = await ws_open(world, "facilitator", code="no-such-code")
    assert (connected, close_code) == (False, CLOSE_FORBIDDEN)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_refuses_a_socket_opened_from_another_site():
    """Cross-site WebSocket hijacking: the browser sends the session cookie to any site's
    socket, so the Origin must be the socket's own origin: scheme, host and port."""
    from config.asgi import application

    world = await database_sync_to_async(build_world)(with_report=False)
    client = Client()
    await database_sync_to_async(client.force_login)(world.users["player_a"])
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    path = f"/ws/exercises/{world.exercise.code}/"
    origins = (
        ("http://evil.example", False),
        ("http://testserver:9999", False),  # same host, another port
        ("https://testserver", False),  # same host, another scheme
        ("http://testserver", True),
    )
    for origin, accepted in origins:
        headers = [
            (b"origin", origin.encode()),
            (b"host", b"testserver"),
            (b"cookie", cookie.encode()),
        ]
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect()
        assert connected is accepted, origin
        await communicator.disconnect()


@pytest.mark.django_db
def test_it_seats_no_one_through_a_join_link_of_another_organizations_team():
    world = build_world(with_report=False)
    url = reverse("exercises:join", kwargs={"join_code": world.teams["cloud"].join_code})
    for persona in ("outsider", "player_b", "observer", "evaluator"):
        response = client_for(world, persona).post(url)
        assert response.status_code == 400, persona
    cloud_players = world.teams["cloud"].members.values_list("user__username", flat=True)
    assert sorted(cloud_players) == ["bob"]
