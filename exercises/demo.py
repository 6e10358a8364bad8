"""Demo exercises, so a newcomer can press Start in a lobby or open a finished report.

``seed_demo_exercise`` leaves one exercise in the lobby; ``seed_demo_played_exercise``
plays a second one from start to end through the engine, on a simulated clock, and
computes its after-action report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils.text import slugify

from accounts.demo import DemoPeople
from exercises import clock, engine
from exercises.models import Exercise, Participant, Team
from scenarios.models import Criterion, Scenario, Tlp
from scoring.services import report_ensure_fresh

DEMO_SCENARIO_KEY = "cloud-ransomware"
DEMO_EXERCISE_NAME = "Demo: ransomware at the shared cloud provider"
STAFF_SEATS = {
    "evaluator": Participant.Kind.EVALUATOR,
    "observer": Participant.Kind.OBSERVER,
    "coordinator": Participant.Kind.COORDINATOR,
}


class DemoError(Exception):
    pass


@transaction.atomic
def seed_demo_exercise(people: DemoPeople) -> Exercise:
    """The demo exercise in the lobby: one team per demo organization, every player seated,
    the demo evaluator, observer and coordinator added. Safe to run repeatedly: an
    existing demo exercise still in the lobby is returned as it is.

    Needs the shipped scenarios (``manage.py load_fixtures``) and ``seed_demo_people``.
    """
    facilitator = people.staff["facilitator"]
    existing = Exercise.objects.filter(
        name=DEMO_EXERCISE_NAME, created_by=facilitator, status=Exercise.Status.LOBBY
    ).first()
    if existing is not None:
        return existing
    exercise = engine.exercise_create(
        scenario=_demo_scenario(), name=DEMO_EXERCISE_NAME, created_by=facilitator
    )
    _seat_everyone(exercise, people)
    return exercise


def _demo_scenario() -> Scenario:
    scenario = (
        Scenario.objects.filter(key=DEMO_SCENARIO_KEY, status=Scenario.Status.PUBLISHED)
        .order_by("-version")
        .first()
    )
    if scenario is None:
        raise DemoError(f"Scenario {DEMO_SCENARIO_KEY!r} is not loaded: run load_fixtures first.")
    return scenario


def _seat_everyone(exercise: Exercise, people: DemoPeople) -> None:
    """One team per demo organization with its players, plus the demo staff."""
    facilitator = people.staff["facilitator"]
    for role in exercise.scenario.roles.all():
        organization = people.organizations.get(role.key)
        if organization is None:
            continue  # a role without a demo organization stays empty
        team = engine.team_add(
            exercise=exercise, role=role, organization=organization, actor=facilitator
        )
        for player in people.players.get(role.key, []):
            engine.team_join(join_code=team.join_code, user=player)
    for staff_key, kind in STAFF_SEATS.items():
        engine.participant_add(
            exercise=exercise, user=people.staff[staff_key], kind=kind, actor=facilitator
        )


# ---------------------------------------------------------------- the played demo exercise

PLAYED_EXERCISE_NAME = "Demo (completed): ransomware at the shared cloud provider"


@dataclass(frozen=True)
class Release:
    """The facilitator releases a manual inject (timed ones fall due by themselves)."""

    inject: str


@dataclass(frozen=True)
class Open:
    """The facilitator opens a prompt before its scheduled opening."""

    prompt: str


@dataclass(frozen=True)
class Decide:
    """A team answers a prompt; ``by`` picks which of the team's players submits."""

    role: str
    prompt: str
    option: str = ""
    text: str = ""
    rationale: str = ""
    by: int = 0


@dataclass(frozen=True)
class Warn:
    """A team shares intelligence with the teams of ``to`` under a TLP marking."""

    role: str
    tlp: str
    to: tuple[str, ...]
    title: str
    body: str
    about: str = ""


@dataclass(frozen=True)
class Rate:
    """The demo evaluator rates a team on a rubric criterion (P/S/M/U)."""

    role: str
    criterion: str
    rating: str
    note: str


Step = Release | Open | Decide | Warn | Rate


@dataclass(frozen=True)
class StagePlay:
    """What happens in a stage, each step at "m:ss" into it, and the stage the engine must
    choose next (None: the terminal stage, where the hot wash is written and the run ends)."""

    stage: str
    steps: tuple[tuple[str, Step], ...]
    then: str | None


CUSTOMERS = ("hospital", "bank", "water")

# The demo run of "cloud-ransomware": detection → clean-outage (the provider isolated its
# platform) → extortion → joint-recovery (two customers join the crisis cell) →
# public-pressure → recovery → hotwash. The provider isolates without warning first, so
# the outage notice cascades to every customer before any indicators do; the water
# utility waits, and never tells the hospital (which depends on it) what it knows.
PLAYED_SCRIPT: tuple[StagePlay, ...] = (
    StagePlay(
        "detection",
        (
            ("4:10", Rate("cloud", "de-ae", "P", "Declared an incident 4 min after the alert.")),
            (
                "6:10",
                Decide(
                    "cloud",
                    "provider-first-move",
                    "isolate-platform",
                    rationale="Encryption is spreading on the management layer: pull the plug "
                    "now and tell the customers once the platform is isolated.",
                ),
            ),
            ("6:30", Open("customer-first-move")),
            (
                "7:45",
                Decide(
                    "bank",
                    "customer-first-move",
                    "cut-provider-access",
                    text="The network team drops the site-to-site VPN and disables the "
                    "provider's admin accounts in our directory.",
                ),
            ),
            (
                "8:20",
                Decide(
                    "hospital",
                    "customer-first-move",
                    "activate-and-call",
                    text="Incident team convened and calling the provider's incident line; "
                    "wards prepare paper downtime forms.",
                    by=1,
                ),
            ),
            (
                "11:40",
                Warn(
                    "cloud",
                    Tlp.AMBER,
                    CUSTOMERS,
                    "Indicators: ransomware through our backup service account",
                    "Encryption started on hypervisor management cluster DC-A at 06:31 via "
                    "svc-backup-admin from an idle jump host; files are renamed to .nmb-lock. "
                    "Revoke every Nimbus admin account in your own domains.",
                    about="siem-mass-encryption",
                ),
            ),
            (
                "12:30",
                Decide(
                    "water",
                    "customer-first-move",
                    "wait-for-ticket",
                    text="Ticket raised with the provider; we wait for their assessment "
                    "before touching the telemetry links.",
                ),
            ),
            ("13:00", Rate("water", "de-cm", "M", "Saw the telemetry gap, did not go local.")),
            ("15:00", Release("reporter-call")),
            (
                "15:30",
                Warn(
                    "cloud",
                    Tlp.GREEN,
                    CUSTOMERS,
                    "The press is asking: our holding line",
                    "A reporter asked whether we are under attack. Our line: we are handling "
                    "a security incident, services are offline as a precaution, next update "
                    "at 10:00. Please do not confirm details.",
                    about="reporter-call",
                ),
            ),
            (
                "16:30",
                Rate("cloud", "public-communication", "S", "Holding statement took 20 min."),
            ),
            ("17:00", Rate("bank", "pr-aa", "P", "Provider VPN and admin accounts cut at once.")),
        ),
        "clean-outage",
    ),
    StagePlay(
        "clean-outage",
        (
            (
                "3:40",
                Decide(
                    "hospital",
                    "hospital-electives",
                    "cancel-electives",
                    rationale="The emergency department stays open on paper; electives move "
                    "by 48 hours; runners carry lab results.",
                ),
            ),
            (
                "5:00",
                Warn(
                    "hospital",
                    Tlp.GREEN,
                    (),
                    "Our paper downtime kit works",
                    "Pre-printed order sets, a runner rota for lab results and a whiteboard "
                    "bed board got us through the first hour. Ask us for the templates.",
                ),
            ),
            ("8:00", Release("supervisor-query-clean")),
            (
                "9:30",
                Warn(
                    "bank",
                    Tlp.AMBER_STRICT,
                    ("cloud",),
                    "We need a restore estimate for our supervisor",
                    "Our major-incident notification is due four hours after classification "
                    "(09:10). Please give us a first restore estimate by 12:00.",
                ),
            ),
            (
                "12:00",
                Rate("hospital", "graceful-degradation", "P", "Downtime mode within minutes."),
            ),
            ("12:30", Rate("bank", "rs-co", "S", "Supervisor notice drafted, classified late.")),
            (
                "14:00",
                Rate("water", "graceful-degradation", "S", "Plants on local control, by hand."),
            ),
        ),
        "extortion",
    ),
    StagePlay(
        "extortion",
        (
            (
                "2:30",
                Warn(
                    "cloud",
                    Tlp.RED,
                    ("hospital",),
                    "The ransom note claims your referral letters",
                    "The attackers say they hold the hospital's referral letters. We have not "
                    "verified it; start your breach assessment now. For your CISO only.",
                    about="ransom-note",
                ),
            ),
            (
                "3:00",
                Decide(
                    "hospital",
                    "customer-stance",
                    "join-crisis-cell",
                    rationale="None of us recovers alone: one cell, one restore order.",
                ),
            ),
            ("3:10", Release("insurer-call")),
            (
                "3:30",
                Warn(
                    "cloud",
                    Tlp.AMBER,
                    CUSTOMERS,
                    "Ransom demand received: USD 4.5M, 72-hour leak countdown",
                    "We will not negotiate alone. Our insurer's panel and the police are "
                    "involved; we propose a joint crisis cell at 11:00.",
                ),
            ),
            (
                "5:00",
                Decide(
                    "cloud",
                    "provider-ransom",
                    "joint-decision",
                    text="No payment decided alone: crisis cell with the three customers, "
                    "the insurer's panel and law enforcement at 11:00.",
                    by=1,
                ),
            ),
            ("5:30", Decide("bank", "customer-stance", "join-crisis-cell", by=1)),
            (
                "6:40",
                Decide(
                    "water",
                    "customer-stance",
                    "demand-priority",
                    rationale="Our telemetry is critical infrastructure; the contract puts us "
                    "first.",
                ),
            ),
            (
                "9:00",
                Warn(
                    "cloud",
                    Tlp.RED,
                    ("hospital",),
                    "Leak site sample names five of your patients",
                    "Our threat-intelligence partner sees five referral letters on the leak "
                    "site. Copies are with your CISO by secure mail.",
                    about="leak-site-post",
                ),
            ),
            ("10:30", Rate("cloud", "gv-rm", "P", "Refused to negotiate alone; police in.")),
            ("11:00", Rate("water", "coordination", "M", "Pushed for priority, not the cell.")),
            ("12:00", Rate("bank", "coordination", "S", "Joined the cell after some debate.")),
        ),
        "joint-recovery",
    ),
    StagePlay(
        "joint-recovery",
        (
            (
                "2:00",
                Decide(
                    "hospital",
                    "restore-order-joint",
                    "life-safety-first",
                    text="EHR and lab systems first (45 VMs over two days), PACS later.",
                ),
            ),
            (
                "2:40",
                Decide(
                    "water",
                    "restore-order-joint",
                    "life-safety-first",
                    text="Telemetry needs only 12 VMs: restore it on day one.",
                ),
            ),
            (
                "3:30",
                Decide(
                    "cloud",
                    "restore-order-joint",
                    "life-safety-first",
                    text="Day 1: hospital clinical systems and water telemetry; day 2-3: "
                    "core banking.",
                ),
            ),
            (
                "7:50",
                Decide(
                    "bank",
                    "restore-order-joint",
                    "own-first",
                    text="Core banking pays 300,000 customers' salaries on Friday; it has to "
                    "come first.",
                ),
            ),
            (
                "8:30",
                Warn(
                    "hospital",
                    Tlp.AMBER,
                    ("cloud", "water"),
                    "Our clinical restore order and VM list",
                    "EHR (18 VMs), lab (9), then PACS (18). Integration engine last.",
                ),
            ),
            ("9:00", Rate("cloud", "rc-rp", "P", "Restore order agreed and published in time.")),
        ),
        "public-pressure",
    ),
    StagePlay(
        "public-pressure",
        (
            ("2:00", Decide("cloud", "public-message", "joint-statement")),
            (
                "4:00",
                Warn(
                    "cloud",
                    Tlp.CLEAR,
                    (),
                    "Joint public statement",
                    "Drinking water is safe and tested by hand every hour; patients are "
                    "treated; savings are not affected. Next update at 18:00.",
                ),
            ),
            ("4:30", Decide("hospital", "public-message", "joint-statement", by=1)),
            ("5:00", Release("dpa-inquiry")),
            ("6:00", Decide("water", "public-message", "joint-statement")),
            ("7:30", Decide("bank", "public-message", "own-statement")),
            ("9:00", Rate("water", "public-communication", "S", "Rumour rebutted, 40 min late.")),
            ("9:30", Rate("hospital", "public-communication", "P", "Clear, joint, on time.")),
        ),
        "recovery",
    ),
    StagePlay(
        "recovery",
        (
            (
                "3:00",
                Decide(
                    "cloud",
                    "lessons",
                    text="Separate backup service accounts from the management network and "
                    "require hardware keys for every administrator.",
                ),
            ),
            (
                "4:00",
                Decide(
                    "hospital",
                    "lessons",
                    text="Rehearse EHR downtime twice a year, including a 48-hour paper drill.",
                ),
            ),
            (
                "5:00",
                Decide(
                    "bank",
                    "lessons",
                    text="Keep an offline copy of core banking and test restoring it outside "
                    "the provider.",
                ),
            ),
            (
                "6:30",
                Decide(
                    "water",
                    "lessons",
                    text="Tell the hospital and the health authority within 15 minutes when "
                    "telemetry or quality data is lost.",
                ),
            ),
        ),
        "hotwash",
    ),
    StagePlay(
        "hotwash",
        (
            ("2:00", Rate("water", "info-sharing", "U", "Never told the hospital anything.")),
            ("3:00", Rate("hospital", "dependency-awareness", "S", "Forgot its water needs.")),
            ("4:00", Rate("cloud", "info-sharing", "M", "Isolated first, warned 12 min late.")),
        ),
        None,
    ),
)

HOTWASH_NOTES = """\
**What went well.** The provider detected the encryption within minutes and isolated its
platform before the attacker reached customer environments. The hospital switched to paper
downtime procedures quickly and kept its emergency department open. Three of four
organizations joined a joint crisis cell and agreed a life-and-safety-first restore order.

**What did not.** The provider isolated without warning its customers first: the outage
notice reached them before any indicators did, about twelve minutes after the first alert.
The water utility waited for a ticket answer, never told the hospital that reservoir
telemetry was down and pushed for its own priority during the extortion. The bank argued
for its own systems first in the restore order.

**Surprises.** Nobody had mapped that the hospital depends on the water utility as much as
on the provider. The supervisor and the data protection authority asked for reports on
deadlines nobody had written down.
"""


def seed_demo_played_exercise(people: DemoPeople) -> Exercise:
    """A second demo exercise, played from start to end through the engine on a simulated
    clock yesterday morning, with its after-action report computed: so a newcomer sees a
    report with scores, gaps and an improvement plan at once.

    Safe to run repeatedly: the played demo exercise is returned when it exists (its
    report recomputed only when stale). Needs ``load_fixtures`` and ``seed_demo_people``.
    """
    facilitator = people.staff["facilitator"]
    played = Exercise.objects.filter(name=PLAYED_EXERCISE_NAME, created_by=facilitator)
    exercise = played.filter(status=Exercise.Status.ENDED).first()
    if exercise is None:
        scenario = _demo_scenario()
        if transaction.get_connection().in_atomic_block:
            raise DemoError(
                "Seed the played demo outside a transaction: the timed work of each engine "
                "step is scheduled when that step commits."
            )
        played.delete()  # a run interrupted halfway: play it again from the start
        yesterday = clock.now() - timedelta(days=1)
        start = yesterday.replace(hour=8, minute=45, second=0, microsecond=0)
        # No enclosing transaction: each engine call commits, so the sweeps it schedules
        # reach the simulated clock at once (on-commit work would otherwise wait to the end).
        # A manual clock: the played run reads like a real session (decisions minutes
        # after a prompt opened) without waiting in real time; it runs each timed sweep the
        # engine schedules as it moves past it, as the scheduler would in real time.
        with clock.use(clock.ManualClock(start)) as manual:
            exercise = engine.exercise_create(
                scenario=scenario, name=PLAYED_EXERCISE_NAME, created_by=facilitator
            )
            try:
                _seat_everyone(exercise, people)
                manual.advance_to(start + timedelta(minutes=15))
                _play(exercise, people, manual)
            except BaseException:
                exercise.delete()
                raise
    report_ensure_fresh(exercise=exercise)  # computed when it ended, unless that failed
    return exercise


def _play(exercise: Exercise, people: DemoPeople, manual: clock.ManualClock) -> None:
    facilitator = people.staff["facilitator"]
    engine.exercise_start(exercise=exercise, actor=facilitator)
    started = exercise.running_since
    teams = {team.role.key: team for team in exercise.teams.select_related("role")}
    for play in PLAYED_SCRIPT:
        if exercise.current_stage.key != play.stage:
            raise DemoError(
                f"The demo expected stage {play.stage!r}, not {exercise.current_stage.key!r}."
            )
        stage_start = started + timedelta(seconds=exercise.stage_started_at_clock)
        for at, step in play.steps:
            manual.advance_to(stage_start + _offset(at))
            exercise.refresh_from_db()
            _do(step, exercise=exercise, teams=teams, people=people)
        if play.then is None:
            break
        duration = exercise.current_stage.duration_seconds or 0
        manual.advance_to(stage_start + timedelta(seconds=duration))
        engine.exercise_advance(exercise=exercise, actor=facilitator)
        if exercise.current_stage.key != play.then:
            raise DemoError(f"The demo expected to branch to {play.then!r}.")
    manual.advance(6 * 60)
    engine.hotwash_save(exercise=exercise, actor=facilitator, notes=HOTWASH_NOTES)
    manual.advance(60)
    engine.exercise_end(exercise=exercise, actor=facilitator)


def _offset(at: str) -> timedelta:
    minutes, seconds = at.split(":")
    return timedelta(minutes=int(minutes), seconds=int(seconds))


def _do(step: Step, *, exercise: Exercise, teams: dict[str, Team], people: DemoPeople) -> None:
    scenario = exercise.scenario
    facilitator = people.staff["facilitator"]
    match step:
        case Release(inject=key):
            inject = scenario.injects.get(key=key)
            engine.inject_release(exercise=exercise, inject=inject, actor=facilitator)
        case Open(prompt=key):
            prompt = scenario.prompts.get(key=key)
            engine.prompt_open(exercise=exercise, prompt=prompt, actor=facilitator)
        case Decide():
            prompt = scenario.prompts.get(key=step.prompt)
            players = people.players[step.role]
            engine.decision_submit(
                exercise=exercise,
                team=teams[step.role],
                prompt=prompt,
                author=players[step.by % len(players)],
                client_token=f"demo:{step.prompt}",
                option=prompt.options.get(key=step.option) if step.option else None,
                text=step.text,
                rationale=step.rationale,
            )
        case Warn():
            engine.share_create(
                exercise=exercise,
                from_team=teams[step.role],
                author=people.players[step.role][0],
                tlp=step.tlp,
                title=step.title,
                body=step.body,
                recipients=[teams[role] for role in step.to],
                client_token=f"demo:{slugify(step.title)[:50]}",
                about_inject=scenario.injects.get(key=step.about) if step.about else None,
            )
        case Rate():
            engine.observation_record(
                exercise=exercise,
                team=teams[step.role],
                criterion=Criterion.objects.get(rubric=scenario.rubric_id, key=step.criterion),
                evaluator=people.staff["evaluator"],
                rating=step.rating,
                note=step.note,
            )
