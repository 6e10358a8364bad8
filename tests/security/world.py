"""One running exercise with every kind of seat, shared by the security tests.

Teams: cloud (bob, org A), hospital (carol, org B), bank (dave, org D; depends on the
cloud like the hospital) and airport (erin; a role nobody depends on and that depends on
nobody, run by org A too, so "same organization, other team" exists). Alice facilitates
(and may author scenarios), evan evaluates, olga observes, cora coordinates, oscar is a
member of an organization that plays no part, mallory has no organization at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.files.base import ContentFile

from accounts.models import Organization, User
from exercises import engine
from exercises.models import Exercise, Share, Team
from scenarios.models import Role, Scenario, Tlp
from scoring import services
from scoring.models import ImprovementItem, ReportExport
from tests import factories

TLPS = (Tlp.RED, Tlp.AMBER_STRICT, Tlp.AMBER, Tlp.GREEN, Tlp.CLEAR)
# A word per marking that appears in the share's title and body and nowhere else, so a
# page, frame or export "shows" a share exactly when it contains the word.
TOKENS = {
    Tlp.RED: "rubyzq",
    Tlp.AMBER_STRICT: "strictzq",
    Tlp.AMBER: "honeyzq",
    Tlp.GREEN: "emeraldzq",
    Tlp.CLEAR: "crystalzq",
}

# The personas of the matrix, in the order they act (the facilitator last, because some
# of the facilitator's actions change the exercise).
PERSONAS = (
    "anonymous",
    "outsider",
    "observer",
    "evaluator",
    "coordinator",
    "player_b",
    "player_a",
    "facilitator",
)


@dataclass
class World:
    exercise: Exercise
    other: Exercise  # another exercise facilitated by the same person
    draft: Scenario
    users: dict[str, User | None]
    teams: dict[str, Team]
    orgs: dict[str, Organization]
    shares: dict[str, Share] = field(default_factory=dict)
    item: ImprovementItem | None = None
    other_item: ImprovementItem | None = None
    export: ReportExport | None = None
    other_export: ReportExport | None = None


def _add_airport_role(scenario: Scenario) -> Role:
    return Role.objects.create(
        scenario=scenario, key="airport", label="Airport", sector="transport", order=3
    )


def _export(exercise: Exercise, user: User) -> ReportExport:
    export = ReportExport.objects.create(
        exercise=exercise, format="json", requested_by=user, status=ReportExport.Status.DONE
    )
    export.file.save(f"report-{exercise.code}.json", ContentFile(b"{}"), save=True)
    return export


def build_world(*, with_report: bool = True, with_shares: bool = True) -> World:
    alice = factories.grant_authoring(factories.make_user("alice"))
    orgs = {k: factories.make_organization(f"Org {k.upper()}") for k in ("a", "b", "c", "d")}
    users = {
        "anonymous": None,
        "facilitator": alice,
        "player_a": factories.make_user("bob"),
        "player_b": factories.make_user("carol"),
        "player_bank": factories.make_user("dave"),
        "player_airport": factories.make_user("erin"),
        "evaluator": factories.make_user("evan"),
        "observer": factories.make_user("olga"),
        "coordinator": factories.make_user("cora"),
        "outsider": factories.make_user("oscar"),
        "nobody": factories.make_user("mallory"),
    }
    factories.add_member(users["player_a"], orgs["a"], is_admin=True)
    factories.add_member(users["player_airport"], orgs["a"])
    factories.add_member(users["player_b"], orgs["b"])
    factories.add_member(users["player_bank"], orgs["d"])
    factories.add_member(users["outsider"], orgs["c"], is_admin=True)

    scenario = factories.make_scenario()
    _add_airport_role(scenario)
    exercise = factories.make_exercise(scenario, facilitator=alice, name="Security drill")
    teams = {
        "cloud": factories.make_team(exercise, "cloud", orgs["a"]),
        "hospital": factories.make_team(exercise, "hospital", orgs["b"]),
        "bank": factories.make_team(exercise, "bank", orgs["d"]),
        "airport": factories.make_team(exercise, "airport", orgs["a"]),
    }
    for persona, team in (
        ("player_a", "cloud"),
        ("player_b", "hospital"),
        ("player_bank", "bank"),
        ("player_airport", "airport"),
    ):
        factories.add_player(exercise, teams[team], users[persona])
    for kind in ("evaluator", "observer", "coordinator"):
        factories.add_participant(exercise, kind, users[kind])
    engine.exercise_start(exercise=exercise, actor=alice)

    world = World(
        exercise=exercise,
        other=factories.make_exercise(facilitator=alice, name="Other drill", status="ended"),
        draft=factories.make_scenario(published=False),
        users=users,
        teams=teams,
        orgs=orgs,
    )
    if with_shares:
        share_all(world)
    _play(world)
    if with_report:
        _report(world)
    return world


def share_all(world: World) -> None:
    """A share of each marking from the hospital (sender) to the cloud (named recipient):
    the bank depends on the cloud, the airport is another team of the cloud's organization."""
    for tlp in TLPS:
        world.shares[tlp] = engine.share_create(
            exercise=world.exercise,
            from_team=world.teams["hospital"],
            author=world.users["player_b"],
            tlp=tlp,
            title=f"Title {TOKENS[tlp]}",
            body=f"Body {TOKENS[tlp]} for the recipients' eyes",
            recipients=[world.teams["cloud"]],
            client_token=f"tok-{tlp}",
        )


def _play(world: World) -> None:
    """A decision and an observation."""
    ex, teams, users = world.exercise, world.teams, world.users
    prompt = ex.scenario.prompts.get(key="first-move")
    engine.prompt_open(exercise=ex, prompt=prompt, actor=users["facilitator"])
    engine.decision_submit(
        exercise=ex,
        team=teams["cloud"],
        prompt=prompt,
        author=users["player_a"],
        client_token="d1",
        option=prompt.options.get(key="pay"),
        rationale="Cloud rationale: pay quietly",
    )
    engine.observation_record(
        exercise=ex,
        team=teams["cloud"],
        criterion=ex.scenario.rubric.criteria.get(key="detect"),
        evaluator=users["evaluator"],
        rating="M",
        note="Evaluator note on the cloud",
    )


def _report(world: World) -> None:
    for exercise in (world.exercise, world.other):
        services.report_compute(exercise=exercise, actor=world.users["facilitator"])
    world.item = ImprovementItem.objects.filter(exercise=world.exercise).first()
    world.other_item = ImprovementItem.objects.filter(exercise=world.other).first()
    if world.other_item is None:  # the other run has no teams: give it one item by hand
        world.other_item = ImprovementItem.objects.create(
            exercise=world.other,
            criterion=world.other.scenario.rubric.criteria.first(),
            observation="Other exercise item",
        )
    world.export = _export(world.exercise, world.users["facilitator"])
    world.other_export = _export(world.other, world.users["facilitator"])
