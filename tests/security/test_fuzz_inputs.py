"""Every input surface under random input: forms, uploads and socket messages.

Nothing may answer 500 (the test client re-raises a view's exception, which fails the
example); bad socket messages get an error frame and the socket, and every other
socket, keeps working. Values are drawn from a pool of plausible ones (keys, ids and
choices of the world) mixed with hostile ones, so valid and invalid combinations both
come up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.limits import MAX_IMPORT_BYTES
from exercises.consumers import MAX_FRAME, ExerciseConsumer
from onboarding import forms as onboarding_forms
from scenarios import forms as authoring_forms
from scenarios.models import Scenario
from scoring import forms as scoring_forms
from tests.security.test_authorization_matrix import ws_open
from tests.security.world import World, build_world
from tests.sockets import until_answered

EXAMPLES = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
HOSTILE = [
    "",
    "0",
    "-1",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "\x00",
    "a\x00b",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "' OR 1=1 --",
    "\u202e\ufeff",
    "x" * 70_000,
    "2026-13-45",
    "2026-01-01",
    "true",
    "on",
]


@dataclass(frozen=True)
class Surface:
    persona: str
    url: str  # a URL name
    kwargs: Callable[[World], dict[str, Any]]
    fields: tuple[str, ...]
    prefix: str = ""
    method: str = "POST"


def ex(w: World) -> dict[str, Any]:
    return {"code": w.exercise.code}


def draft(w: World, **extra: Any) -> dict[str, Any]:
    return {"code": w.draft.code, **extra}


# Field names come from the forms themselves, so a field added later is fuzzed too.
ROLE = tuple(authoring_forms.RoleForm.base_fields)
STAGE = tuple(authoring_forms.StageForm.base_fields)
INJECT = tuple(authoring_forms.InjectForm.base_fields)
PROMPT = tuple(authoring_forms.PromptForm.base_fields)
TRANSITION = tuple(authoring_forms.TransitionForm.base_fields)
OPTION = tuple(authoring_forms.OptionForm.base_fields)
CONSEQUENCE = tuple(authoring_forms.ConsequenceForm.base_fields)
ITEM = tuple(scoring_forms.ImprovementItemForm.base_fields)

SURFACES = {
    "scenario_create": Surface(
        "facilitator",
        "scenarios:scenario_create",
        lambda w: {},
        ("title", "key", "summary", "rubric"),
    ),
    "scenario_details": Surface(
        "facilitator",
        "scenarios:scenario_details",
        draft,
        ("title", "summary", "rubric", "start_stage"),
    ),
    "role_create": Surface("facilitator", "scenarios:role_create", draft, ROLE, "role"),
    "stage_create": Surface("facilitator", "scenarios:stage_create", draft, STAGE, "stage"),
    **{
        f"{kind}_create": Surface(
            "facilitator",
            "scenarios:stage_part_create",
            lambda w, kind=kind: draft(w, parent="start", kind=kind),
            fields,
            f"{kind}-start",
        )
        for kind, fields in (("inject", INJECT), ("prompt", PROMPT), ("transition", TRANSITION))
    },
    **{
        f"{kind}_create": Surface(
            "facilitator",
            "scenarios:prompt_part_create",
            lambda w, kind=kind: draft(w, parent="first-move", kind=kind),
            fields,
            f"{kind}-first-move",
        )
        for kind, fields in (("option", OPTION), ("consequence", CONSEQUENCE))
    },
    **{
        f"{kind}_edit": Surface(
            "facilitator",
            "scenarios:part_edit",
            lambda w, kind=kind, ref=ref: draft(w, kind=kind, ref=ref(w)),
            fields,
        )
        for kind, ref, fields in (
            ("role", lambda w: "cloud", ROLE),
            ("stage", lambda w: "start", STAGE),
            ("inject", lambda w: "news", INJECT),
            ("prompt", lambda w: "first-move", PROMPT),
            ("option", lambda w: "first-move.pay", OPTION),
            ("transition", lambda w: w.draft.transitions.first().id, TRANSITION),
        )
    },
    "exercise_new": Surface(
        "facilitator", "exercises:exercise_new", lambda w: {}, ("scenario", "name")
    ),
    "team_add": Surface("facilitator", "exercises:team_add", ex, ("role", "organization")),
    "participant_add": Surface(
        "facilitator", "exercises:participant_add", ex, ("username", "kind")
    ),
    "advance": Surface("facilitator", "exercises:advance", ex, ("to_stage",)),
    "hotwash": Surface("facilitator", "exercises:hotwash", ex, ("notes",)),
    "decide": Surface(
        "player_a",
        "exercises:decide",
        lambda w: {**ex(w), "prompt_key": "first-move"},
        ("option", "text", "rationale", "client_token"),
    ),
    "share": Surface(
        "player_a", "exercises:share", ex, ("tlp", "title", "body", "recipients", "client_token")
    ),
    "observe_record": Surface(
        "evaluator", "exercises:observe_record", ex, ("team", "criterion", "rating", "note")
    ),
    "item_edit": Surface(
        "coordinator", "scoring:item-edit", lambda w: {**ex(w), "item": w.item.code}, ITEM
    ),
    "export_create": Surface("facilitator", "scoring:export-create", ex, ("format",)),
    "plan_filter": Surface(
        "coordinator", "scoring:plan", lambda w: {}, ("status", "organization"), method="GET"
    ),
    "compare": Surface("facilitator", "scoring:compare", lambda w: {}, ("series",), method="GET"),
    "organization_new": Surface(
        "outsider", "accounts:organization_new", lambda w: {}, ("name", "sector", "description")
    ),
    "member_add": Surface(
        "player_a",
        "accounts:member_add",
        lambda w: {"code": w.orgs["a"].code},
        ("username", "is_admin"),
    ),
    "organization_invite": Surface(
        "player_a",
        "onboarding:organization_invite",
        lambda w: {"code": w.orgs["a"].code},
        tuple(onboarding_forms.EmailInviteForm.base_fields),
    ),
    "exercise_invite": Surface(
        "facilitator",
        "onboarding:exercise_invite",
        ex,
        tuple(onboarding_forms.SeatInviteForm.base_fields),
    ),
    "password_reset": Surface("player_a", "accounts:password_reset", lambda w: {}, ("email",)),
}


def plausible(world: World) -> list[str]:
    """Keys, ids and choice values that exist in the world: the valid half of the pool."""
    ex = world.exercise
    scenario = ex.scenario
    values: set[str] = {"P", "S", "M", "U", "RED", "AMBER", "AMBER+STRICT", "GREEN", "CLEAR"}
    values |= {"json", "csv", "pdf", "xlsx", "open", "done", "any", "all", "dependents"}
    values |= {"player", "evaluator", "observer", "coordinator", "facilitator", "mallory"}
    values |= {"cloud_it", "healthcare", "finance", "timed", "manual", "roles", "options"}
    for s in (scenario, world.draft):
        values |= set(s.stages.values_list("key", flat=True))
        values |= {str(i) for i in s.stages.values_list("id", flat=True)}
        values |= set(s.roles.values_list("key", flat=True))
        values |= {str(i) for i in s.roles.values_list("id", flat=True)}
        values |= set(s.injects.values_list("key", flat=True))
        values |= {str(i) for i in s.injects.values_list("id", flat=True)}
        values |= set(s.prompts.values_list("key", flat=True))
        values |= {str(i) for i in s.rubric.criteria.values_list("id", flat=True)}
        values |= set(s.rubric.criteria.values_list("key", flat=True))
    values |= {str(i) for i in Scenario.objects.values_list("id", flat=True)}
    values |= {str(t.id) for t in world.teams.values()}
    values |= {str(o.id) for o in world.orgs.values()}
    values |= {o.key for p in scenario.prompts.all() for o in p.options.all()}
    values |= {str(o.id) for p in scenario.prompts.all() for o in p.options.all()}
    return sorted(values)


def form_data(pool: list[str]):
    one = st.one_of(st.sampled_from(pool), st.sampled_from(HOSTILE), st.text(max_size=80))
    return st.one_of(one, st.lists(one, min_size=2, max_size=3))


def client_for(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world.users[persona])
    return client


@pytest.mark.django_db
class TestEveryForm:
    """Every form against one world (conftest.shared_world), each in a transaction of its own."""

    @pytest.mark.parametrize("surface", sorted(SURFACES))
    def test_it_never_answers_500_to_random_form_posts(self, surface, world):
        spec = SURFACES[surface]
        client = client_for(world, spec.persona)
        url = reverse(spec.url, kwargs=spec.kwargs(world))
        pool = plausible(world)
        names = [f"{spec.prefix}-{f}" if spec.prefix else f for f in spec.fields]
        statuses = []

        @EXAMPLES
        @given(
            values=st.fixed_dictionaries({name: form_data(pool) for name in names}),
            junk=st.dictionaries(
                st.text(min_size=1, max_size=10), st.text(max_size=10), max_size=2
            ),
            htmx=st.booleans(),
        )
        def post(values, junk, htmx):
            headers = {"HX-Request": "true"} if htmx else {}
            call = client.post if spec.method == "POST" else client.get
            response = call(url, {**junk, **values}, headers=headers)
            assert response.status_code < 500, (values, response.status_code)
            statuses.append(response.status_code)

        post()
        assert statuses  # the examples really ran


@pytest.mark.django_db
def test_it_answers_random_uploads_with_format_errors_not_500():
    world = build_world(with_report=False)
    client = client_for(world, "facilitator")
    url = reverse("scenarios:scenario_import")

    @EXAMPLES
    @given(
        content=st.binary(max_size=4096),
        suffix=st.sampled_from([".yaml", ".yml", ".json", ".csv", ".xlsx", ".txt", ""]),
    )
    def upload(content, suffix):
        file = SimpleUploadedFile(f"scenario{suffix}", content)
        response = client.post(url, {"file": file, "title": "Fuzz", "key": "fuzz"})
        assert response.status_code in (200, 302, 400), response.status_code

    upload()


ROSTER_LINE = st.lists(
    st.one_of(
        st.sampled_from(["player", "observer", "cloud", "bank", "Nimbus Cloud", "energy"]),
        st.sampled_from(HOSTILE[:12]),
        st.emails(),
        st.text(max_size=30),
    ),
    max_size=8,
)


@pytest.mark.django_db
def test_it_answers_random_roster_uploads_with_previews_or_errors_not_500():
    """Random bytes and random CSV under a real header, as CSV and XLSX; then the send
    step, which re-checks the stored preview."""
    world = build_world(with_report=False)
    client = client_for(world, "facilitator")
    preview = reverse("onboarding:roster_preview", kwargs=ex(world))
    send = reverse("onboarding:roster_send", kwargs=ex(world))
    header = "name,email,organization,sector,exercise role,team\n"

    @EXAMPLES
    @given(
        raw=st.one_of(
            st.binary(max_size=4096),
            st.lists(ROSTER_LINE, max_size=6).map(
                lambda rows: (header + "\n".join(",".join(r) for r in rows)).encode(
                    "utf-8", "surrogatepass"
                )
            ),
        ),
        suffix=st.sampled_from([".csv", ".xlsx", ".txt", ""]),
    )
    def upload(raw, suffix):
        response = client.post(preview, {"roster": SimpleUploadedFile(f"r{suffix}", raw)})
        assert response.status_code in (200, 400), response.status_code
        assert client.post(send).status_code == 302

    upload()


@pytest.mark.django_db
def test_it_refuses_roster_uploads_over_five_mebibytes():
    world = build_world(with_report=False)
    client = client_for(world, "facilitator")
    big = SimpleUploadedFile("huge.csv", b"a,b\n" * (MAX_IMPORT_BYTES // 4 + 1))
    response = client.post(reverse("onboarding:roster_preview", kwargs=ex(world)), {"roster": big})
    assert response.status_code == 400
    assert "larger than 5 MiB" in response.content.decode()


@pytest.mark.django_db
def test_it_refuses_uploads_over_five_mebibytes():
    world = build_world(with_report=False)
    client = client_for(world, "facilitator")
    assert MAX_IMPORT_BYTES == 5 * 1024 * 1024
    big = SimpleUploadedFile("huge.yaml", b"a: b\n" * (MAX_IMPORT_BYTES // 5 + 1))
    response = client.post(reverse("scenarios:scenario_import"), {"file": big})
    assert response.status_code == 400  # refused like any file that cannot be imported
    assert "larger than 5 MiB" in response.content.decode()
    assert not Scenario.objects.filter(status="draft").exclude(pk=world.draft.pk).exists()


@pytest.mark.django_db
def test_it_refuses_an_oversized_form_body_with_400():
    """Non-file fields are capped by DATA_UPLOAD_MAX_MEMORY_SIZE (5 MiB): Django answers
    400 before any view reads them."""
    world = build_world(with_report=False)
    client = client_for(world, "facilitator")
    response = client.post(
        reverse("exercises:hotwash", kwargs=ex(world)),
        {"notes": "x" * (5 * 1024 * 1024 + 1)},
    )
    assert response.status_code == 400
    world.exercise.refresh_from_db()
    assert world.exercise.hotwash_notes == ""


# ---------------------------------------------------------------- WebSocket messages


def socket_messages():
    scalar = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
    )
    value = st.recursive(
        scalar,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=8,
    )
    typed = st.fixed_dictionaries(
        {"type": st.sampled_from(["hello", "ping", "release", "decide", "", "HELLO"]) | scalar},
        optional={"last_seq": value, "payload": value},
    ).map(json.dumps)
    return st.one_of(
        typed,
        value.map(json.dumps),
        st.text(min_size=1, max_size=200),
        st.just("x" * (MAX_FRAME + 1)),
        st.just(json.dumps({"type": "ping", "pad": "y" * MAX_FRAME})),
    )


@pytest.mark.django_db(transaction=True)
def test_it_answers_every_bad_socket_message_and_keeps_everyone_connected():
    world = build_world(with_report=False)

    @EXAMPLES
    @given(messages=st.lists(socket_messages(), min_size=1, max_size=4))
    def fuzz(messages):
        async_to_sync(_fuzz_one_socket)(world, messages)

    fuzz()
    async_to_sync(_bystander_still_served)(world)


def _message_type(message: str) -> str | None:
    """The type the consumer will act on, or None when it must answer with an error (its
    own parser decides: size, nesting, JSON, shape)."""
    parsed = ExerciseConsumer._parse(message, None)
    return parsed["type"] if isinstance(parsed, dict) else None


async def _fuzz_one_socket(world: World, messages: list[str]) -> None:
    communicator, connected, _ = await ws_open(world, "player_a")
    assert connected
    for message in messages:
        await communicator.send_to(text_data=message)
        if _message_type(message) == "ping":  # a well-formed ping is answered by a heartbeat
            assert 'id="live-heartbeat"' in await communicator.receive_from(timeout=5)
            continue
        answers = await until_answered(communicator, timeout=5)
        if _message_type(message) != "hello":  # a hello may replay nothing; the rest is answered
            assert len(answers) >= 2, message[:200]
            first = answers[0]
            assert 'id="live-error"' in first or 'id="live-heartbeat"' in first, message[:200]
    await communicator.send_to(bytes_data=b"\x00\xff")
    assert "Send text frames" in await communicator.receive_from()
    assert await until_answered(communicator, timeout=5)  # still open and answering
    await communicator.disconnect()


async def _bystander_still_served(world: World) -> None:
    """While one socket was fed garbage, another keeps receiving live events."""
    bystander, connected, _ = await ws_open(world, "player_b")
    assert connected
    last_seq = await database_sync_to_async(
        lambda: type(world.exercise).objects.get(pk=world.exercise.pk).last_seq
    )()
    await bystander.send_json_to({"type": "hello", "last_seq": last_seq})
    assert await bystander.receive_nothing(timeout=0.3)
    noisy, _, _ = await ws_open(world, "player_a")
    await noisy.send_to(text_data="x" * (MAX_FRAME * 4))
    await noisy.send_to(text_data="{broken")
    assert "Message too large." in await noisy.receive_from(timeout=5)
    assert "Malformed message." in await noisy.receive_from(timeout=5)
    from exercises import engine

    inject = await database_sync_to_async(lambda: world.exercise.scenario.injects.get(key="news"))()
    await database_sync_to_async(engine.inject_release)(
        exercise=world.exercise, inject=inject, actor=world.users["facilitator"]
    )
    frame = await bystander.receive_from(timeout=5)
    assert frame.startswith(f"<!--seq:{last_seq + 1}-->")
    await noisy.disconnect()
    await bystander.disconnect()


@pytest.mark.django_db
@pytest.mark.parametrize("surface", ["role_edit", "role_create", "inject_create", "prompt_edit"])
def test_it_refuses_ids_beyond_any_database_integer_with_a_form_error(surface):
    """Found by the fuzzer: ``pk__in=[10**23]`` overflowed SQLite (a 500)."""
    world = build_world(with_report=False)
    spec = SURFACES[surface]
    url = reverse(spec.url, kwargs=spec.kwargs(world))
    name = next(f for f in spec.fields if f in ("depends_on", "audience_roles"))
    field = f"{spec.prefix}-{name}" if spec.prefix else name
    response = client_for(world, spec.persona).post(url, {field: "9" * 23})
    assert response.status_code in (200, 400, 422)
