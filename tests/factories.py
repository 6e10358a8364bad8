"""Small builders for test data. Plain functions: explicit beats magic here."""

from __future__ import annotations

from itertools import count

from accounts.models import Membership, Organization, Sector, User
from exercises.models import Exercise, Participant, Team
from scenarios.models import (
    Consequence,
    Criterion,
    Inject,
    Option,
    Prompt,
    Role,
    Rubric,
    Scenario,
    Stage,
    Transition,
)

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


def add_timed_inject(exercise: Exercise, key: str, offset: int, **fields) -> Inject:
    """An inject to every team, released ``offset`` seconds into the start stage."""
    fields.setdefault("title", key)
    return Inject.objects.create(
        scenario=exercise.scenario,
        stage=exercise.scenario.start_stage,
        key=key,
        release="timed",
        offset_seconds=offset,
        audience="all",
        **fields,
    )


def make_three_team_exercise(
    *,
    facilitator: User,
    cloud_player: User,
    hospital_player: User,
    cloud_org: Organization,
    hospital_org: Organization,
) -> tuple[Exercise, Team, Team, Team, User]:
    """The small scenario in the lobby with a team per role: cloud and hospital played by
    the given people of the given organizations, the bank by a new player.

    Returns (exercise, cloud, hospital, bank, bank player)."""
    exercise = make_exercise(facilitator=facilitator)
    cloud = make_team(exercise, "cloud", cloud_org)
    hospital = make_team(exercise, "hospital", hospital_org)
    bank = make_team(exercise, "bank")
    add_player(exercise, cloud, cloud_player)
    add_player(exercise, hospital, hospital_player)
    bank_player = add_player(exercise, bank).user
    return exercise, cloud, hospital, bank, bank_player


# ---------------------------------------------------------------- scoring (helper E)


def add_event(
    exercise: Exercise, kind: str, *, visibility: str = "all", team_ids=(), clock=0.0, **payload
):
    """An Event with the next seq, written directly and not published (tests only; the
    engine does this live)."""
    from exercises.events import write_event

    event, _ = write_event(
        exercise=exercise,
        kind=kind,
        payload=payload,
        visibility=visibility,
        clock_seconds=clock,
        team_ids=list(team_ids),
    )
    return event


def make_played_exercise(*, facilitator: User | None = None, name: str = "Played exercise"):
    """An ended run of ``make_scenario`` built straight from models (no live engine):
    the cloud pays the ransom (the leak cascades to hospital and bank), warns only the
    hospital about the SIEM alert; the hospital isolates, the bank waits too long.
    Returns (exercise, {"cloud": team, "hospital": team, "bank": team})."""
    from datetime import timedelta

    from django.utils import timezone

    from exercises.models import Decision, InjectRelease, Observation, PromptWindow, Share

    exercise = make_exercise(facilitator=facilitator, name=name, status="ended")
    scenario = exercise.scenario
    teams = {key: make_team(exercise, key) for key in ("cloud", "hospital", "bank")}
    now = timezone.now()
    siem = scenario.injects.get(key="siem-alert")
    event = add_event(
        exercise,
        "inject.released",
        visibility="some",
        team_ids=[teams["cloud"].id],
        clock=10,
        title=siem.title,
    )
    InjectRelease.objects.create(
        exercise=exercise,
        inject=siem,
        release_key="t:siem",
        team_ids=[teams["cloud"].id],
        event=event,
        clock_seconds=10,
    )
    prompt = scenario.prompts.get(key="first-move")
    PromptWindow.objects.create(
        exercise=exercise,
        prompt=prompt,
        opened_at=now,
        opened_at_clock=0,
        deadline_clock=600,
        closed_at=now + timedelta(minutes=20),
    )
    for key, option, latency in (
        ("cloud", "pay", 300),
        ("hospital", "isolate", 600),
        ("bank", "wait", 900),
    ):
        Decision.objects.create(
            exercise=exercise,
            team=teams[key],
            prompt=prompt,
            option=prompt.options.get(key=option),
            text=f"{key} decided {option}",
            latency_seconds=latency,
            submitted_at=now + timedelta(seconds=latency),
        )
        add_event(
            exercise,
            "decision.submitted",
            visibility="some",
            team_ids=[teams[key].id],
            clock=latency,
            team=key,
        )
    leak = scenario.injects.get(key="leak")
    dependents = [teams["hospital"].id, teams["bank"].id]
    event = add_event(
        exercise,
        "inject.released",
        visibility="some",
        team_ids=dependents,
        clock=310,
        title=leak.title,
    )
    InjectRelease.objects.create(
        exercise=exercise,
        inject=leak,
        release_key=f"csq:{leak.consequences.get().pk}:{teams['cloud'].id}",  # engine format
        team_ids=dependents,
        event=event,
        clock_seconds=310,
    )
    share = Share.objects.create(
        exercise=exercise,
        from_team=teams["cloud"],
        tlp="RED",
        title="Ransomware on our hosts",
        body="Expect outages.",
        about_inject=siem,
        client_token="s1",
        clock_seconds=130,
    )
    share.recipients.add(teams["hospital"])
    add_event(
        exercise,
        "share.created",
        visibility="some",
        team_ids=[teams["cloud"].id, teams["hospital"].id],
        clock=130,
        title=share.title,
    )
    evaluator = make_user()
    Participant.objects.create(exercise=exercise, user=evaluator, kind="evaluator")
    detect = scenario.rubric.criteria.get(key="detect")
    for key, rating in (("hospital", "P"), ("bank", "U")):
        Observation.objects.create(
            exercise=exercise,
            team=teams[key],
            criterion=detect,
            evaluator=evaluator,
            rating=rating,
            note=f"{key} detection",
            clock_seconds=200,
        )
    exercise.hotwash_notes = "Sharing was slow; the bank heard about the ransomware last."
    exercise.started_at, exercise.ended_at = now, now + timedelta(hours=1)
    exercise.save(update_fields=["hotwash_notes", "started_at", "ended_at"])
    return exercise, teams


def grant_authoring(user: User) -> User:
    """Put ``user`` in the Facilitators group (may author scenarios and run exercises)."""
    from demo.people import facilitators_group

    user.groups.add(facilitators_group())
    return User.objects.get(pk=user.pk)  # fresh: permission caches are per instance


def make_played_from_scenario(scenario: Scenario, *, facilitator: User | None = None):
    """An ended run of any (e.g. shipped) scenario, built straight from models: a team per
    role, every prompt opened to every team and answered (option chosen round-robin,
    decided at varying speed), stage injects released to every team, consequence injects
    to the chooser's dependents, one share per upstream team, an evaluator's ratings."""
    from datetime import timedelta

    from django.utils import timezone

    from exercises.models import Decision, InjectRelease, Observation, PromptWindow, Share

    exercise = make_exercise(
        scenario, facilitator=facilitator, name=f"{scenario.title} run", status="ended"
    )
    teams = [make_team(exercise, role.key) for role in scenario.roles.all()]
    dependents = {
        t.id: [d for d in teams if d.role.depends_on.filter(id=t.role_id).exists()] for t in teams
    }
    now, clock, key = timezone.now(), 0.0, count(1)

    def release(inject, targets, key_=None):
        ids = sorted(t.id for t in targets)
        event = add_event(
            exercise,
            "inject.released",
            visibility="some",
            team_ids=ids,
            clock=clock,
            title=inject.title,
        )
        InjectRelease.objects.create(
            exercise=exercise,
            inject=inject,
            release_key=key_ or f"r{next(key)}",
            team_ids=ids,
            event=event,
            clock_seconds=clock,
        )

    for stage in scenario.stages.all():
        for inject in stage.injects.exclude(release="consequence"):
            release(inject, teams)
            clock += 60
        for p, prompt in enumerate(stage.prompts.prefetch_related("options")):
            options = list(prompt.options.all())
            PromptWindow.objects.create(
                exercise=exercise,
                prompt=prompt,
                opened_at=now,
                opened_at_clock=clock,
                deadline_clock=clock + (prompt.deadline_seconds or 600),
            )
            for i, team in enumerate(teams):
                option = options[(i + p) % len(options)] if options else None
                latency = 120.0 * (i + 1)
                Decision.objects.create(
                    exercise=exercise,
                    team=team,
                    prompt=prompt,
                    option=option,
                    text="" if option else "We isolate.",
                    latency_seconds=latency,
                    submitted_at=now + timedelta(seconds=clock + latency),
                )
                add_event(
                    exercise,
                    "decision.submitted",
                    visibility="some",
                    team_ids=[team.id],
                    clock=clock + latency,
                    team_label=str(team),
                    option_label=option.label if option else "",
                )
                for consequence in option.consequences.all() if option else []:
                    if dependents[team.id]:
                        csq = f"csq:{consequence.pk}:{team.id}"  # the engine's key
                        release(consequence.inject, dependents[team.id], csq)
            clock += 900
    for team in teams:
        if dependents[team.id]:
            share = Share.objects.create(
                exercise=exercise,
                from_team=team,
                tlp="AMBER",
                title=f"Heads-up from {team.organization}",
                body="We are hit.",
                client_token=f"s{team.id}",
                clock_seconds=clock,
            )
            share.recipients.add(dependents[team.id][0])
    evaluator = make_user()
    Participant.objects.create(exercise=exercise, user=evaluator, kind="evaluator")
    for i, team in enumerate(teams):
        for j, criterion in enumerate(scenario.rubric.criteria.all()[:6]):
            Observation.objects.create(
                exercise=exercise,
                team=team,
                criterion=criterion,
                evaluator=evaluator,
                rating="PSMU"[(i + j) % 4],
                clock_seconds=clock,
            )
    exercise.hotwash_notes = "Hot wash: dependencies were discovered late."
    exercise.save(update_fields=["hotwash_notes"])
    return exercise, teams


def make_trend_runs(*, facilitator: User | None = None):
    """Two ended runs of one scenario (so of one rubric), the same three organizations in
    both, with stored scores on every criterion (as when each ended; no timeline, so they
    are up to date) and known values where the trends tests look: the hospital's
    "Respond" 48 → 70 (high confidence both times) with one done item due in between; the
    bank's "Respond" 30 → 90 with the second point low.
    Returns (spring run, autumn run, {"cloud": org, "hospital": org, "bank": org})."""
    from datetime import UTC, date, datetime

    from scoring.models import ImprovementItem, Score

    scenario = make_scenario()
    orgs = {role.key: make_organization(sector=role.sector) for role in scenario.roles.all()}
    known = {("hospital", 0): 48, ("hospital", 1): 70, ("bank", 0): 30, ("bank", 1): 90}
    runs = []
    for n, (name, ended) in enumerate(
        (
            ("Spring run", datetime(2026, 3, 10, 12, tzinfo=UTC)),
            ("Autumn run", datetime(2026, 9, 20, 12, tzinfo=UTC)),
        )
    ):
        run = make_exercise(scenario, facilitator=facilitator, name=name, status="ended")
        run.started_at, run.ended_at = ended, ended
        run.save(update_fields=["started_at", "ended_at"])
        for key, org in orgs.items():
            team = make_team(run, key, org)
            for k, criterion in enumerate(scenario.rubric.criteria.all()):
                respond = criterion.key == "respond"
                value = known.get((key, n), 50) if respond else 40 + 10 * n + 5 * k
                low = respond and (key, n) == ("bank", 1)
                Score.objects.create(
                    exercise=run,
                    team=team,
                    criterion=criterion,
                    value=value,
                    evidence_count=1 if low else 4,
                    confidence="low" if low else "high",
                )
        runs.append(run)
    ImprovementItem.objects.create(
        exercise=runs[0],
        criterion=scenario.rubric.criteria.get(key="respond"),
        organization=orgs["hospital"],
        observation="Isolation took too long.",
        corrective_action="Rehearse the isolation runbook with the cloud provider",
        completion_date=date(2026, 6, 1),
        status="done",
    )
    return runs[0], runs[1], orgs
