"""Small builders for test data. Plain functions: explicit beats magic here."""

from __future__ import annotations

from itertools import count

from accounts.models import Membership, Organization, Sector, User
from exercises.models import (
    Consequence,
    Exercise,
    Inject,
    Option,
    Participant,
    Prompt,
    Role,
    Scenario,
    Stage,
    Team,
    Transition,
)
from scoring.models import Criterion, Rubric

PASSWORD = "correct-horse-battery-staple"
_seq = count(1)


def make_user(username: str | None = None, **extra) -> User:
    username = username or f"user{next(_seq)}"
    return User.objects.create_user(username=username, password=PASSWORD, **extra)


def make_organization(
    name: str | None = None, sector: str = Sector.CLOUD_IT, **extra
) -> Organization:
    return Organization.objects.create(name=name or f"Org {next(_seq)}", sector=sector, **extra)


def add_member(user: User, organization: Organization, *, is_admin: bool = False) -> Membership:
    return Membership.objects.create(user=user, organization=organization, is_admin=is_admin)


def make_rubric(key: str = "test-rubric") -> Rubric:
    rubric = Rubric.objects.create(key=key, title="Test rubric")
    for order, (ckey, group) in enumerate(
        [
            ("detect", "DE"),
            ("respond", "RS"),
            ("info-sharing", "CO"),
            ("dependency-awareness", "CO"),
        ]
    ):
        Criterion.objects.create(
            rubric=rubric, key=ckey, title=ckey.replace("-", " ").title(), group=group, order=order
        )
    return rubric


def make_scenario(*, published: bool = True, key: str | None = None) -> Scenario:
    """A small branching scenario: cloud provider → hospital, bank.

    Stages: start → (isolate chosen by any team) contained | (default) spread → end.
    The cloud's "pay" option cascades a data-leak inject to its dependents.
    """
    scenario = Scenario.objects.create(
        key=key or f"tiny-{next(_seq)}",
        title="Tiny cascade",
        rubric=make_rubric(key=f"rubric-{next(_seq)}"),
        status=Scenario.Status.PUBLISHED if published else Scenario.Status.DRAFT,
        sectors=["cloud_it", "healthcare", "finance"],
    )
    cloud = Role.objects.create(
        scenario=scenario, key="cloud", label="Cloud provider", sector="cloud_it", order=0
    )
    hospital = Role.objects.create(
        scenario=scenario, key="hospital", label="Hospital", sector="healthcare", order=1
    )
    bank = Role.objects.create(
        scenario=scenario, key="bank", label="Bank", sector="finance", order=2
    )
    hospital.depends_on.add(cloud)
    bank.depends_on.add(cloud)
    start = Stage.objects.create(
        scenario=scenario,
        key="start",
        title="Ransomware detected",
        briefing="Encrypted hosts.",
        order=0,
    )
    contained = Stage.objects.create(scenario=scenario, key="contained", title="Contained", order=1)
    spread = Stage.objects.create(scenario=scenario, key="spread", title="Spread", order=2)
    end = Stage.objects.create(scenario=scenario, key="end", title="Recovery", order=3)
    scenario.start_stage = start
    scenario.save(update_fields=["start_stage"])
    Inject.objects.create(
        scenario=scenario,
        stage=start,
        key="siem-alert",
        title="SIEM: mass encryption",
        body="Hosts encrypting.",
        channel="siem",
        severity="high",
        tlp="AMBER",
        audience="roles",
        release="timed",
        offset_seconds=0,
        order=0,
    ).audience_roles.add(cloud)
    Inject.objects.create(
        scenario=scenario,
        stage=start,
        key="news",
        title="News: outage",
        channel="news",
        tlp="CLEAR",
        release="manual",
        order=1,
    )
    leak = Inject.objects.create(
        scenario=scenario,
        stage=start,
        key="leak",
        title="Your data is on a leak site",
        channel="partner",
        severity="critical",
        tlp="AMBER",
        release="consequence",
        order=2,
    )
    prompt = Prompt.objects.create(
        scenario=scenario,
        stage=start,
        key="first-move",
        question="What do you do first?",
        criteria=["respond"],
        deadline_seconds=600,
    )
    Option.objects.create(
        prompt=prompt,
        key="isolate",
        label="Isolate affected systems",
        effects={"respond": 20, "detect": 10},
        order=0,
    )
    pay = Option.objects.create(
        prompt=prompt, key="pay", label="Pay the ransom", effects={"respond": -20}, order=1
    )
    Option.objects.create(
        prompt=prompt,
        key="wait",
        label="Wait for more information",
        effects={"respond": -5},
        order=2,
    )
    Consequence.objects.create(option=pay, inject=leak, target=Consequence.Target.DEPENDENTS)
    Transition.objects.create(
        scenario=scenario,
        from_stage=start,
        to_stage=contained,
        order=0,
        condition={"mode": "any", "prompt": "first-move", "options": ["isolate"], "roles": []},
    )
    Transition.objects.create(scenario=scenario, from_stage=start, to_stage=spread, is_default=True)
    Transition.objects.create(
        scenario=scenario, from_stage=contained, to_stage=end, is_default=True
    )
    Transition.objects.create(scenario=scenario, from_stage=spread, to_stage=end, is_default=True)
    return scenario


def make_exercise(
    scenario: Scenario | None = None, *, facilitator: User | None = None, **extra
) -> Exercise:
    scenario = scenario or make_scenario()
    exercise = Exercise.objects.create(
        name=extra.pop("name", "Test exercise"),
        scenario=scenario,
        status=extra.pop("status", "lobby"),
        **extra,
    )
    if facilitator:
        Participant.objects.create(exercise=exercise, user=facilitator, kind="facilitator")
    return exercise


def make_team(exercise: Exercise, role_key: str, organization: Organization | None = None) -> Team:
    role = exercise.scenario.roles.get(key=role_key)
    organization = organization or make_organization(sector=role.sector)
    return Team.objects.create(exercise=exercise, role=role, organization=organization)


def add_player(exercise: Exercise, team: Team, user: User | None = None) -> Participant:
    user = user or make_user()
    return Participant.objects.create(exercise=exercise, user=user, kind="player", team=team)


def add_participant(exercise: Exercise, kind: str, user: User | None = None) -> Participant:
    return Participant.objects.create(exercise=exercise, user=user or make_user(), kind=kind)
