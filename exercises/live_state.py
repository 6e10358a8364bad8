"""Read-only view models for the live pages and their socket fragments.

Pure presentation: these functions only *read* the running exercise (the engine
is the only writer) and shape it for templates. The same functions serve the
first page render and the out-of-band panels pushed over the socket, so a page
and its live updates can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from django.urls import reverse

from accounts.models import User
from config.limits import TEXT_NOTE
from exercises import presence, queries, room_queries, visibility
from exercises.clock import exercise_clock
from exercises.forms import TLP_HELP, DecisionForm, exercise_criteria, new_client_token
from exercises.models import (
    Decision,
    Event,
    Exercise,
    InjectRelease,
    Observation,
    Participant,
    PromptWindow,
    Share,
    Team,
)
from exercises.visibility import EventStub
from scenarios.models import Audience, Inject, Prompt, Stage, Tlp

FEED_LIMIT = 200
STUB_PAGE = 1000  # audience rows read at a time while looking for a feed's events
ENTRY_VIEWS = {
    Participant.Kind.PLAYER: "exercises:room",
    Participant.Kind.EVALUATOR: "exercises:evaluate",
    Participant.Kind.OBSERVER: "exercises:observe",
    Participant.Kind.COORDINATOR: "exercises:observe",
}


# ---------------------------------------------------------------- seats


def seat_url(participant: Participant) -> str:
    """Where this participant works in the exercise."""
    exercise = participant.exercise
    if participant.kind == Participant.Kind.FACILITATOR:
        # Until the start, a facilitator's place is the lobby, where teams are seated.
        name = "exercises:lobby" if exercise.can("start") else "exercises:control"
    else:
        name = ENTRY_VIEWS[participant.kind]
    return reverse(name, args=[exercise.code])


@dataclass(frozen=True)
class Seat:
    exercise: Exercise
    participant: Participant
    url: str


def seats_for(user: User) -> list[Seat]:
    """Every exercise ``user`` has a seat in, newest first, with the link to their page."""
    participants = (
        Participant.objects.filter(user=user)
        .select_related("exercise__scenario", "team__organization", "team__role")
        .order_by("-exercise__created_at")
    )
    return [Seat(p.exercise, p, seat_url(p)) for p in participants]


# ---------------------------------------------------------------- status and feed


def status_context(exercise: Exercise) -> dict:
    return {
        "exercise": exercise,
        "clock": exercise_clock(exercise),
        "running": exercise.status == Exercise.Status.RUNNING,
        "stage": exercise.current_stage,
    }


def feed_for(exercise: Exercise, *, perspective: str, upto: int | None = None) -> list[Event]:
    """The latest ``FEED_LIMIT`` events seen from ``perspective``, oldest first (the feed
    shows them reversed).

    With 100 teams deciding, the last 200 events of the exercise can all be other teams'
    decisions, and a team's page must still show its injects: when the latest 200 hold
    fewer visible ones, the audience columns alone are read further back, a page at a
    time, and only the rows wanted are loaded whole. (Filtering ``SOME`` events in SQL would need
    JSON containment, which SQLite lacks; ``can_see_event`` stays the one rule.)
    """
    viewer = visibility.viewer_for_perspective(perspective)
    events = exercise.events.all()  # no feed item shows its actor
    if upto is not None:
        events = events.filter(seq__lte=upto)
    latest = list(events.order_by("-seq")[:FEED_LIMIT])
    seen = [e for e in latest if visibility.can_see_event(e, viewer=viewer)][::-1]
    if len(seen) == FEED_LIMIT or len(latest) < FEED_LIMIT:  # one query, as a rule
        return seen
    wanted: list[int] = []
    stubs = events.filter(seq__lt=latest[-1].seq).order_by("-seq")
    stubs = stubs.values_list("seq", "visibility", "team_ids")
    while len(seen) + len(wanted) < FEED_LIMIT:
        page = list(stubs[:STUB_PAGE])
        wanted += [
            seq
            for seq, shown_to, team_ids in page
            if visibility.can_see_event(EventStub(shown_to, team_ids), viewer=viewer)
        ]
        if len(page) < STUB_PAGE:
            break
        stubs = stubs.filter(seq__lt=page[-1][0])
    older = exercise.events.filter(seq__in=wanted[: FEED_LIMIT - len(seen)]).order_by("seq")
    return [*older, *seen]


def page_context(exercise: Exercise, *, perspective: str) -> dict:
    """What every live page shows first: status, and the feed up to ``last_seq``.

    ``last_seq`` is read before the feed, and the feed stops there: the browser then
    asks the socket for everything after it, so no event is missed or shown twice.
    """
    last_seq = Exercise.objects.values_list("last_seq", flat=True).get(pk=exercise.pk)
    context = status_context(exercise)
    context.update(
        last_seq=last_seq,
        is_control=perspective in visibility.CONTROL_PERSPECTIVES,
        feed=feed_for(exercise, perspective=perspective, upto=last_seq),
    )
    return context


# ---------------------------------------------------------------- presence


@dataclass
class PresenceRow:
    """One team (or the control cell, or the observers) and who of it has the page open."""

    label: str
    detail: str
    here: list[Participant]
    away: list[Participant]

    @property
    def total(self) -> int:
        return len(self.here) + len(self.away)


def presence_context(exercise: Exercise) -> dict:
    """Who has a live socket now, per team and per role (``exercises.presence``)."""
    here = presence.present(exercise.pk)
    participants = exercise.participants.select_related(
        "user", "team__organization", "team__role"
    ).order_by("kind", "user__username")
    teams = list(exercise.teams.select_related("organization", "role"))
    rows = [
        _presence_row(
            str(t.organization), t.role.label, [p for p in participants if p.team_id == t.id], here
        )
        for t in teams
    ]
    control = [p for p in participants if p.kind in visibility.CONTROL_KINDS]
    watchers = [p for p in participants if p.kind in visibility.OBSERVER_KINDS]
    rows.append(_presence_row("Control cell", "facilitators, evaluators", control, here))
    if watchers:
        rows.append(_presence_row("Observers", "observers, coordinators", watchers, here))
    return {"exercise": exercise, "presence_rows": rows, "present_ids": here}


def _presence_row(
    label: str, detail: str, members: list[Participant], here: set[int]
) -> PresenceRow:
    return PresenceRow(
        label,
        detail,
        here=[p for p in members if p.id in here],
        away=[p for p in members if p.id not in here],
    )


# ---------------------------------------------------------------- control console


class InjectRow:
    """A row of the console's inject list, from its values as read
    (``queries.stage_injects``: every field the row shows). The inject is built only when
    the row is drawn, which is once per content (``live_tags.inject_row``)."""

    def __init__(self, values: tuple, *, stage_started_at_clock: float) -> None:
        self.values, self.stage_started_at_clock = values, stage_started_at_clock

    @cached_property
    def inject(self) -> Inject:
        return queries.stage_inject(self.values)

    @property
    def released(self) -> bool:
        return queries.stage_inject_released(self.values)

    @property
    def due_clock(self) -> float | None:
        if self.inject.release != Inject.Release.TIMED:
            return None
        return self.stage_started_at_clock + (self.inject.offset_seconds or 0)


@dataclass
class PromptRow:
    prompt: Prompt
    window: PromptWindow | None
    teams: list[tuple[Team, Decision | None]] = field(default_factory=list)
    remaining: float | None = None


def control_context(exercise: Exercise) -> dict:
    context = status_context(exercise)
    stage = exercise.current_stage
    teams = list(exercise.teams.select_related("organization", "role"))
    context.update(
        teams=teams,
        injects=inject_rows(exercise),
        prompts=_prompt_rows(exercise, stage, teams, context["clock"]) if stage else [],
        transitions=list(stage.transitions.select_related("to_stage")) if stage else [],
        shares=list(
            exercise.shares.select_related("from_team__organization").prefetch_related(
                "recipients__organization", "summarizes__from_team__organization"
            )
        ),
    )
    return context


def inject_list_context(exercise: Exercise) -> dict:
    """The console's inject list alone: what an ``inject.released`` event changes there."""
    return {"exercise": exercise, "injects": inject_rows(exercise)}


def inject_rows(exercise: Exercise) -> list[InjectRow]:
    """The current stage's scripted injects, in one query (``queries.stage_injects``)."""
    if exercise.current_stage_id is None:
        return []
    rows = queries.stage_injects(exercise_id=exercise.pk, stage_id=exercise.current_stage_id)
    started = exercise.stage_started_at_clock
    return [InjectRow(values, stage_started_at_clock=started) for values in rows]


def _prompt_rows(
    exercise: Exercise, stage: Stage, teams: list[Team], clock: float
) -> list[PromptRow]:
    windows = {w.prompt_id: w for w in exercise.prompt_windows.filter(prompt__stage=stage)}
    decisions = {
        (d.prompt_id, d.team_id): d for d in exercise.decisions.filter(prompt__stage=stage)
    }
    rows = []
    for prompt in stage.prompts.all():
        window = windows.get(prompt.id)
        row = PromptRow(prompt, window)
        if window is not None:
            row.teams = [
                (t, decisions.get((prompt.id, t.id))) for t in teams if t.id in window.team_ids
            ]
            if window.is_open and window.deadline_clock is not None:
                row.remaining = max(0.0, window.deadline_clock - clock)
        rows.append(row)
    return rows


# ---------------------------------------------------------------- team room


@dataclass
class PromptItem:
    prompt: Prompt
    window: PromptWindow
    decision: Decision | None
    form: DecisionForm
    remaining: float | None


def prompt_item(
    exercise: Exercise,
    team: Team,
    prompt: Prompt,
    *,
    form: DecisionForm | None = None,
    token: bool = True,
    window: PromptWindow | None = None,
    decision: Decision | None = None,
) -> PromptItem | None:
    """The prompt as this team sees it, with a fresh decision form.

    ``token=False`` leaves the client token empty, for fragments shared by several
    browsers: the page's JS gives each rendered form its own token. ``window`` and
    ``decision``: the prompt's window and the team's decision when the caller has just
    read or written them (the decide view), so they are not read again.
    """
    if window is None:
        window = exercise.prompt_windows.filter(prompt=prompt).first()
    if window is None or team.id not in window.team_ids:
        return None
    if decision is None:
        decision = (
            Decision.objects.filter(team=team, prompt=prompt).select_related("option").first()
        )
    return _prompt_item(exercise, prompt, window, decision, form=form, token=token)


def _prompt_item(
    exercise: Exercise,
    prompt: Prompt,
    window: PromptWindow,
    decision: Decision | None,
    *,
    form: DecisionForm | None,
    token: bool,
) -> PromptItem:
    if form is None:
        initial = {"client_token": new_client_token() if token else ""}
        if decision:
            initial.update(
                option=decision.option.key if decision.option else "",
                text=decision.text,
                rationale=decision.rationale,
            )
        form = DecisionForm(prompt=prompt, initial=initial)
    remaining = None
    if window.is_open and window.deadline_clock is not None:
        remaining = max(0.0, window.deadline_clock - exercise_clock(exercise))
    return PromptItem(prompt, window, decision, form, remaining)


def prompt_items(exercise: Exercise, team: Team, *, token: bool = True) -> list[PromptItem]:
    """Prompts put to this team in the current stage: open ones first."""
    items = [
        _prompt_item(exercise, window.prompt, window, decision, form=None, token=token)
        for window, decision in room_queries.stage_windows(exercise, team.pk)
        if team.id in window.team_ids
    ]
    return sorted(items, key=lambda i: (not i.window.is_open, i.prompt.order))


def shares_for_team(exercise: Exercise, team: Team) -> list[Share]:
    """Shares (its own included) that the TLP rules let this team read, newest first."""
    shares = room_queries.exercise_shares(exercise)
    if not shares:  # the start of an exercise: no team to read
        return []
    infos = queries.team_infos(exercise)
    return [
        share
        for share in shares
        if team.id
        in visibility.share_readers(
            tlp=share.tlp,
            from_team_id=share.from_team_id,
            recipient_ids=[r.id for r in share.recipients.all()],
            teams=infos,
        )
    ]


def room_context(exercise: Exercise, team: Team) -> dict:
    context = page_context(exercise, perspective=visibility.team_perspective(team.id))
    context.update(
        team=team,
        prompt_items=prompt_items(exercise, team) if exercise.current_stage else [],
        shares_received=shares_for_team(exercise, team),
        tlp_help=TLP_HELP,
    )
    return context


# ---------------------------------------------------------------- observer


@dataclass
class ClearItem:
    """A TLP:CLEAR inject or share, as the observers' picture lists it."""

    clock: float
    kind: str  # "inject" | "consequence" | "share"
    title: str
    body: str
    source: str


@dataclass
class CascadeHit:
    """Organizations a decision's consequence reached; the inject's title only if CLEAR."""

    clock: float
    organizations: list[str]
    title: str


def observer_picture(exercise: Exercise) -> dict:
    """The story's shape for observers, with nothing restricted in it: the stage path,
    how many teams decided each open prompt, how many shares went out per marking, which
    organizations the cascade reached, and every TLP:CLEAR inject and share (CLEAR
    consequence injects included, though their event is for the target teams only)."""
    names = dict(exercise.teams.values_list("pk", "organization__name"))
    releases = list(
        InjectRelease.objects.filter(exercise=exercise)
        .exclude(inject__audience=Audience.CONTROL)
        .select_related("inject", "event")
        .order_by("clock_seconds", "pk")
    )
    return {
        "stage_path": list(
            exercise.events.filter(kind="stage.entered")
            .order_by("seq")
            .values_list("payload__title", flat=True)
        ),
        "decided": _decided_counts(exercise),
        "shares_by_tlp": _shares_by_tlp(exercise),
        "cascade": [_cascade_hit(r, names) for r in releases if r.event.payload.get("cascade")],
        "clear_items": _clear_items(exercise, releases),
    }


def _decided_counts(exercise: Exercise) -> list[tuple[str, int, int]]:
    """(question, teams decided, teams asked) for each prompt of the current stage opened."""
    windows = exercise.prompt_windows.filter(prompt__stage=exercise.current_stage_id)
    decided: dict[int, int] = {}
    for prompt_id in exercise.decisions.values_list("prompt_id", flat=True):
        decided[prompt_id] = decided.get(prompt_id, 0) + 1
    return [
        (w.prompt.question, decided.get(w.prompt_id, 0), len(w.team_ids))
        for w in windows.select_related("prompt").order_by("prompt__order")
    ]


def _shares_by_tlp(exercise: Exercise) -> list[tuple[str, int]]:
    counts = dict.fromkeys(Tlp.values, 0)
    for tlp in exercise.shares.values_list("tlp", flat=True):
        counts[tlp] += 1
    return list(counts.items())


def _cascade_hit(release: InjectRelease, names: dict[int, str]) -> CascadeHit:
    title = release.inject.title if release.inject.tlp == Tlp.CLEAR else ""
    organizations = sorted({names[t] for t in release.team_ids if t in names})
    return CascadeHit(release.clock_seconds, organizations, title)


def _clear_items(exercise: Exercise, releases: list[InjectRelease]) -> list[ClearItem]:
    items = [
        ClearItem(
            r.clock_seconds,
            "consequence" if r.event.payload.get("cascade") else "inject",
            r.inject.title,
            r.inject.body,
            r.inject.sender,
        )
        for r in releases
        if r.inject.tlp == Tlp.CLEAR
    ]
    shares = exercise.shares.filter(tlp=Tlp.CLEAR).select_related("from_team__organization")
    items += [
        ClearItem(s.clock_seconds, "share", s.title, s.body, str(s.from_team.organization))
        for s in shares
    ]
    return sorted(items, key=lambda item: item.clock)


# ---------------------------------------------------------------- evaluator


def evaluation_context(exercise: Exercise, *, evaluator: User | None = None) -> dict:
    """The evaluator console: a card per team, the criteria (this stage's first), everyone's
    recent observations and, given ``evaluator``, their own log (which they may edit)."""
    criteria = exercise_criteria(exercise)
    observations = exercise.observations.select_related(
        "team__organization", "criterion", "evaluator"
    ).order_by("-created_at")
    suggested = _stage_criteria(exercise)
    context = {
        "exercise": exercise,
        "teams": list(exercise.teams.select_related("organization", "role")),
        "criteria": criteria,
        "suggested_criteria": [c for c in criteria if c.key in suggested],
        "other_criteria": [c for c in criteria if c.key not in suggested],
        "ratings": Observation.Rating.choices,
        "note_max": TEXT_NOTE,
        "recent": list(observations[:20]),
    }
    if evaluator is not None:
        context["mine"] = list(observations.filter(evaluator=evaluator))
        context["can_revise"] = exercise.can("revise_observation")
    return context


def _stage_criteria(exercise: Exercise) -> set[str]:
    """Criterion keys the current stage's injects and prompts exercise (suggested first)."""
    stage = exercise.current_stage_id
    if stage is None:
        return set()
    keys: set[str] = set()
    for criteria in [
        *Inject.objects.filter(stage=stage).values_list("criteria", flat=True),
        *Prompt.objects.filter(stage=stage).values_list("criteria", flat=True),
    ]:
        keys.update(criteria or [])
    return keys
