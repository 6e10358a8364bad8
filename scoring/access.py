"""Who may read, export and edit after-action reports. Every scoring view calls this.

Facilitators, coordinators and evaluators of an exercise read its whole report and
export it in every format; a player reads their own team's detail plus shared aggregates
and takes it home as their team's debrief (PDF); an observer reads the aggregates only;
anyone else gets a 404. Staff read everything. An export holds what its requester may
read, nothing more: it is rendered with their ``ReportAccess``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from accounts.models import User
from exercises.access import exercise_for
from exercises.models import Exercise, Participant, Team
from exercises.visibility import Viewer
from scoring.models import ImprovementItem, ReportExport

# A player's export is their team's debrief, for people: the PDF only.
DEBRIEF_FORMATS = (ReportExport.Format.PDF,)

FULL_KINDS = frozenset(
    {Participant.Kind.FACILITATOR, Participant.Kind.COORDINATOR, Participant.Kind.EVALUATOR}
)
EDITOR_KINDS = frozenset({Participant.Kind.FACILITATOR, Participant.Kind.COORDINATOR})


@dataclass(frozen=True)
class ReportAccess:
    """What one user may do with one exercise's report."""

    exercise: Exercise
    kind: str  # a Participant.Kind value, or "staff"
    team: Team | None = None

    @property
    def full(self) -> bool:
        """Every team's detail, decisions and shares."""
        return self.kind == "staff" or self.kind in FULL_KINDS

    @property
    def export_formats(self) -> tuple[str, ...]:
        """Formats this reader may export their view of the report in."""
        if self.full:
            return tuple(ReportExport.Format.values)
        if self.kind == Participant.Kind.PLAYER and self.team is not None:
            return DEBRIEF_FORMATS
        return ()

    @property
    def can_export(self) -> bool:
        return bool(self.export_formats)

    @property
    def debrief(self) -> bool:
        """The report is one team's debrief (a player's view)."""
        return not self.full and self.team is not None

    @property
    def can_edit(self) -> bool:
        """Recompute, edit the improvement plan, read the audit log."""
        return self.kind == "staff" or self.kind in EDITOR_KINDS

    @property
    def viewer(self) -> Viewer:
        """Who reads the timeline: a full reader (the coordinator owns the report) reads
        it as the control cell does, every event and share; others as in the exercise."""
        kind = Participant.Kind.FACILITATOR if self.full else self.kind
        return Viewer(kind=kind, team_id=self.team.id if self.team else None)

    def may_see_team(self, team_id: int | None) -> bool:
        return self.full or (self.team is not None and self.team.id == team_id)


def report_access(user: User, code: str) -> ReportAccess:
    """The caller's access to the report of exercise ``code``: 404 unless they have a seat
    (staff without a seat read everything)."""
    exercise, seat = exercise_for(user, code)
    if seat is None:
        return ReportAccess(exercise, "staff")
    team = (
        Team.objects.select_related("organization", "role").get(id=seat.team_id)
        if seat.team_id
        else None
    )
    return ReportAccess(exercise, seat.kind, team)


def require_full(user: User, code: str) -> ReportAccess:
    access = report_access(user, code)
    if not access.full:
        raise PermissionDenied("Only the control cell and coordinators may do this.")
    return access


def require_export(user: User, code: str, fmt: str | None = None) -> ReportAccess:
    """The caller's access if they may export (in ``fmt``, when given); 403 otherwise."""
    access = report_access(user, code)
    if not access.can_export or (fmt is not None and fmt not in access.export_formats):
        raise PermissionDenied("You may not export this report in this format.")
    return access


def require_editor(user: User, code: str) -> ReportAccess:
    access = report_access(user, code)
    if not access.can_edit:
        raise PermissionDenied("Only facilitators and coordinators may change the report.")
    return access


def organization_ids(user: User, exercise: Exercise) -> set[int] | None:
    """Organizations whose scores ``user`` may compare across runs of ``exercise``: None
    means every one (staff, a seat with full access), else those the user played for."""
    if user.is_staff:
        return None
    seats = Participant.objects.filter(user=user, exercise=exercise)
    if seats.filter(kind__in=FULL_KINDS).exists():
        return None
    return set(seats.exclude(team=None).values_list("team__organization_id", flat=True))


@dataclass(frozen=True)
class TrendScope:
    """Whose scores a user may follow across exercises: every organization of the ended
    exercises where they hold a full seat (or all, for staff), and their own
    organizations (memberships and the teams they played for) wherever those took part."""

    everything: bool
    full_exercises: frozenset[int]
    organizations: frozenset[int]

    def exercises(self) -> QuerySet[Exercise]:
        """The ended exercises with at least one score this scope may read."""
        ended = Exercise.objects.filter(status=Exercise.Status.ENDED)
        if self.everything:
            return ended
        # A subquery, not a join: one row per exercise, so counting them stays right.
        played = Team.objects.filter(organization_id__in=self.organizations).values("exercise_id")
        return ended.filter(Q(id__in=self.full_exercises) | Q(id__in=played))

    def condition(self, exercise: str, organization: str) -> Q:
        """A filter on rows with an exercise and an organization (scores via their team,
        improvement items directly), given the two lookups' paths."""
        if self.everything:
            return Q()
        return Q(**{f"{exercise}__in": self.full_exercises}) | Q(
            **{f"{organization}__in": self.organizations}
        )


def trend_scope(user: User) -> TrendScope:
    """The one rule for trends across exercises (page, exports, nothing else reads them)."""
    if user.is_staff:
        return TrendScope(True, frozenset(), frozenset())
    seats = Participant.objects.filter(user=user)
    full = seats.filter(kind__in=FULL_KINDS).values_list("exercise_id", flat=True)
    played = seats.exclude(team=None).values_list("team__organization_id", flat=True)
    member = user.memberships.values_list("organization_id", flat=True)
    return TrendScope(False, frozenset(full), frozenset(played) | frozenset(member))


def own_exports(access: ReportAccess, user: User) -> list[ReportExport]:
    """The latest exports ``user`` requested of this report; none unless they may export."""
    if not access.can_export:
        return []
    return list(access.exercise.exports.filter(requested_by=user)[:5])


def readable_export(user: User, code: str, export_code: str) -> ReportExport:
    """One export of exercise ``code``. An export is rendered with its requester's view (an
    editor's holds the audit log, a player's is their team's), so it is theirs alone (and
    staff's); 404 otherwise."""
    access = require_export(user, code)
    row = ReportExport.objects.filter(exercise=access.exercise, code=export_code).first()
    if row is None or (row.requested_by_id != user.id and not user.is_staff):
        raise Http404("No such export.")
    return row


def offers_report(exercise: Exercise) -> bool:
    """Whether pages link a seat of ``exercise`` to its report: once it has ended (scores
    are computed at the end). Every seat may open it (``report_access``); what each reads
    is decided there."""
    return exercise.status == Exercise.Status.ENDED


def readable_exercises(user: User) -> QuerySet[Exercise]:
    """Exercises whose report the user may open (any seat), newest first, each annotated
    with ``seat``: the user's Participant.Kind there (None for staff without one)."""
    seat = Participant.objects.filter(exercise=OuterRef("pk"), user=user).values("kind")[:1]
    qs = Exercise.objects.select_related("scenario").annotate(seat=Subquery(seat))
    if user.is_staff:
        return qs.all()
    return qs.filter(participants__user=user)


def readable_items(user: User) -> QuerySet[ImprovementItem]:
    """Improvement items across exercises: all items where the user has full access,
    their own organization's items where they played."""
    qs = ImprovementItem.objects.select_related("exercise", "criterion", "organization")
    if user.is_staff:
        return qs.all()
    seats = Participant.objects.filter(user=user)
    full = seats.filter(kind__in=FULL_KINDS).values("exercise_id")
    played = seats.filter(kind=Participant.Kind.PLAYER).values_list(
        "exercise_id", "team__organization_id"
    )
    condition = Q(exercise_id__in=full)
    for exercise_id, org_id in played:
        condition |= Q(exercise_id=exercise_id, organization_id=org_id)
    return qs.filter(condition)


def editable_item(user: User, code: str, item_code: str) -> tuple[ReportAccess, ImprovementItem]:
    access = require_editor(user, code)
    item = ImprovementItem.objects.filter(exercise=access.exercise, code=item_code).first()
    if item is None:
        raise Http404("No such improvement item.")
    return access, item
