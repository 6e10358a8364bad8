"""A live run of a published scenario version, and everything it records.

``Event`` is the append-only timeline: every change to a running exercise writes
its event in the same transaction (see ``exercises.engine``), with a gap-free
``seq`` allocated under the exercise row lock from ``Exercise.last_seq``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Organization, new_code
from config.limits import TEXT_DOCUMENT, TEXT_MESSAGE, TEXT_NOTE, TEXT_SHARE, TEXT_TITLE
from exercises import clock, states
from scenarios.models import Criterion, Inject, Option, Prompt, Role, Scenario, Stage, Tlp


class Exercise(models.Model):
    Status = states.Status

    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    name = models.CharField(max_length=200)
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="exercises")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    current_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The clock excludes pauses: elapsed = clock_offset + (now - running_since if running).
    clock_offset_seconds = models.FloatField(default=0)
    running_since = models.DateTimeField(null=True, blank=True)
    stage_started_at_clock = models.FloatField(default=0)
    # Bumped by pause, resume and stage changes: a timed task stamped with an older
    # epoch is stale and does nothing.
    epoch = models.PositiveIntegerField(default=0)
    last_seq = models.PositiveIntegerField(default=0)
    # The latest seq of each visibility (``events.advance_marks``), kept with ``last_seq``
    # so a push names the previous event its sockets may see without a read.
    visibility_marks = models.JSONField(default=dict, blank=True)
    hotwash_notes = models.TextField(blank=True, max_length=TEXT_DOCUMENT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("run_exercise", "Can set up and facilitate exercises")]

    def __str__(self) -> str:
        return self.name

    @property
    def can(self) -> states.Permits:
        """What the status allows (``exercises.states``): ``exercise.can("advance")``, or
        ``{% if exercise.can.advance %}`` in a template."""
        return states.Permits(self.status)


class Team(models.Model):
    """One organization's team in an exercise, sitting in one scenario role."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="teams")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="teams")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="teams")
    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    join_code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)

    class Meta:
        ordering = ["role__order", "role__key"]
        constraints = [
            models.UniqueConstraint(fields=["exercise", "role"], name="one_team_per_role"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} ({self.role.label})"


class Participant(models.Model):
    class Kind(models.TextChoices):
        FACILITATOR = "facilitator", "Facilitator"
        PLAYER = "player", "Player"
        EVALUATOR = "evaluator", "Evaluator"
        OBSERVER = "observer", "Observer"
        COORDINATOR = "coordinator", "Coordinator"

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="members"
    )
    joined_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["kind", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["exercise", "user"], name="one_seat_per_exercise"),
            models.CheckConstraint(
                condition=(models.Q(kind="player") & models.Q(team__isnull=False))
                | (~models.Q(kind="player") & models.Q(team__isnull=True)),
                name="players_and_only_players_have_a_team",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_kind_display()}"


class Event(models.Model):
    """One entry of the append-only timeline.

    Visibility: ``all`` everyone including observers; ``teams`` every team and the
    control cell; ``some`` the teams in ``team_ids`` and the control cell;
    ``control`` facilitators and evaluators only.
    """

    class Visibility(models.TextChoices):
        ALL = "all", "Everyone"
        TEAMS = "teams", "All teams"
        SOME = "some", "Some teams"
        CONTROL = "control", "Control cell"

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    visibility = models.CharField(max_length=8, choices=Visibility.choices)
    team_ids = models.JSONField(default=list, blank=True)
    clock_seconds = models.FloatField(default=0)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["exercise", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["exercise", "seq"], name="event_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"


class InjectRelease(models.Model):
    """That an inject went out, once: ``release_key`` makes releasing idempotent."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="releases")
    inject = models.ForeignKey(Inject, on_delete=models.CASCADE, related_name="releases")
    release_key = models.CharField(max_length=120)
    team_ids = models.JSONField(default=list, blank=True)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    released_at = models.DateTimeField(default=clock.now)
    clock_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["exercise", "released_at"]
        constraints = [
            models.UniqueConstraint(fields=["exercise", "release_key"], name="release_once"),
        ]


class CarriedInject(models.Model):
    """A timed inject of a stage the facilitator left before it fired, carried into the
    stages after it: it is still released at ``due_clock`` (its own due time)."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="carried")
    inject = models.ForeignKey(Inject, on_delete=models.CASCADE, related_name="+")
    due_clock = models.FloatField()

    class Meta:
        ordering = ["exercise", "due_clock"]
        constraints = [
            models.UniqueConstraint(fields=["exercise", "inject"], name="carry_once"),
        ]


class PromptWindow(models.Model):
    """A prompt open for decisions in an exercise."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="prompt_windows")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="windows")
    team_ids = models.JSONField(default=list, blank=True)
    opened_at = models.DateTimeField()
    opened_at_clock = models.FloatField(default=0)
    deadline_clock = models.FloatField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exercise", "prompt"], name="prompt_opens_once"),
        ]

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Decision(models.Model):
    """A team's current answer to a prompt; earlier answers are its revisions."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="decisions")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="decisions")
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="decisions")
    option = models.ForeignKey(
        Option, on_delete=models.PROTECT, null=True, blank=True, related_name="decisions"
    )
    text = models.TextField(blank=True, max_length=TEXT_NOTE)
    rationale = models.TextField(blank=True, max_length=TEXT_NOTE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    revision = models.PositiveIntegerField(default=1)
    latency_seconds = models.FloatField(help_text="Exercise-clock time since the prompt opened.")
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["exercise", "submitted_at"]
        constraints = [
            models.UniqueConstraint(fields=["team", "prompt"], name="one_decision_per_team_prompt"),
        ]


class DecisionRevision(models.Model):
    """Every submitted version of a decision. ``client_token`` makes resubmission idempotent."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveIntegerField()
    option = models.ForeignKey(Option, on_delete=models.PROTECT, null=True, blank=True)
    text = models.TextField(blank=True, max_length=TEXT_NOTE)
    rationale = models.TextField(blank=True, max_length=TEXT_NOTE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    client_token = models.CharField(max_length=64)
    latency_seconds = models.FloatField()
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["decision", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "revision"], name="revision_unique"),
            models.UniqueConstraint(
                fields=["decision", "client_token"], name="revision_token_once"
            ),
        ]


class Share(models.Model):
    """Intelligence one team passes to others under a TLP marking the app enforces."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="shares")
    from_team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="shares_sent")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    tlp = models.CharField(max_length=12, choices=Tlp.choices)
    title = models.CharField(max_length=TEXT_TITLE)
    body = models.TextField(max_length=TEXT_SHARE)
    recipients = models.ManyToManyField(Team, blank=True, related_name="shares_received")
    about_inject = models.ForeignKey(
        Inject, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    client_token = models.CharField(max_length=64)
    clock_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(default=clock.now)
    # A relay: the share ``from_team`` passed on, under the same marking. Following
    # ``relayed_from`` back gives the chain (original → relay → relay).
    relayed_from = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="relays"
    )
    # A coordinating body's sanitized summary to every team: the member reports it
    # summarizes (new text, its own marking; ``visibility.summary_refusal``).
    summarizes = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="summaries"
    )

    class Meta:
        ordering = ["exercise", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["from_team", "client_token"], name="share_token_once"),
        ]

    def chain(self) -> list[Share]:
        """The original share first, then every relay down to this one (reads each hop)."""
        hops = [self]
        while hops[0].relayed_from_id is not None:
            hops.insert(0, hops[0].relayed_from)
        return hops


class ShareReply(models.Model):
    """A recipient's reply to a share, back to the sender's team under the share's marking:
    read by the replying team, the sender's team and the control cell."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="share_replies")
    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="replies")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="share_replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    tlp = models.CharField(max_length=12, choices=Tlp.choices)
    body = models.TextField(max_length=TEXT_MESSAGE)
    client_token = models.CharField(max_length=64)
    event_seq = models.PositiveIntegerField(default=0)  # its share.replied event
    clock_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["exercise", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "client_token"], name="share_reply_token_once"),
        ]

    # The reply's item reads the same names from a row (pages) as from its event (frames).
    @property
    def team_label(self) -> str:
        return str(self.team)

    @property
    def author_label(self) -> str:
        return self.author.get_username() if self.author else "a former player"


class ShareRefusal(models.Model):
    """An over-share attempt the marking refused (a relay to teams it does not allow):
    counted in the TLP compliance metric."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="refusals")
    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="refusals")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="refusals")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    tlp = models.CharField(max_length=12, choices=Tlp.choices)
    target_ids = models.JSONField(default=list)
    reason = models.CharField(max_length=300)
    clock_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["exercise", "created_at"]


class Observation(models.Model):
    """An evaluator's HSEEP rating of a team on a rubric criterion."""

    class Rating(models.TextChoices):
        P = "P", "Performed without challenges"
        S = "S", "Performed with some challenges"
        M = "M", "Performed with major challenges"
        U = "U", "Unable to be performed"

    # In URLs: its evaluator edits or deletes it while the exercise is under way.
    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="observations")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="observations")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="observations")
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    rating = models.CharField(max_length=1, choices=Rating.choices)
    note = models.TextField(blank=True, max_length=TEXT_NOTE)
    clock_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(default=clock.now)
    revised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["exercise", "created_at"]


class Message(models.Model):
    """A line of a team's discussion thread: by one of its players, or by the control cell
    playing someone outside the exercise (``from_control``: the "simulation cell")."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="messages")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    from_control = models.BooleanField(default=False)
    body = models.TextField(max_length=TEXT_MESSAGE)
    # Usernames of the teammates the message mentions (``@name``), notified on delivery.
    mentions = models.JSONField(default=list, blank=True)
    event_seq = models.PositiveIntegerField(default=0)
    clock_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["exercise", "team", "created_at", "id"]

    @property
    def author_label(self) -> str:
        return self.author.get_username() if self.author else "A former participant"


class Rfi(models.Model):
    """A request for information: a team asks the control cell (``to_team`` empty) or
    another team, under a TLP marking; the addressee answers. Control's answer may
    release an inject to the asking team (``answer_inject``)."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="rfis")
    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    from_team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="rfis_asked")
    to_team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="rfis_received"
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    tlp = models.CharField(max_length=12, choices=Tlp.choices)
    question = models.TextField(max_length=TEXT_MESSAGE)
    client_token = models.CharField(max_length=64)
    asked_seq = models.PositiveIntegerField(default=0)  # its rfi.asked event
    asked_clock = models.FloatField(default=0)
    asked_at = models.DateTimeField(default=clock.now)
    answer = models.TextField(blank=True, max_length=TEXT_MESSAGE)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answer_inject = models.ForeignKey(
        Inject, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_clock = models.FloatField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["exercise", "asked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["from_team", "client_token"], name="rfi_token_once"),
        ]

    @property
    def to_control(self) -> bool:
        return self.to_team_id is None

    @property
    def is_open(self) -> bool:
        return self.answered_at is None

    @property
    def addressee_label(self) -> str:
        return "the control cell" if self.to_team_id is None else str(self.to_team)

    @property
    def seconds_to_answer(self) -> float | None:
        """Exercise-clock seconds from the question to its answer (None while open)."""
        if self.answered_clock is None:
            return None
        return max(0.0, self.answered_clock - self.asked_clock)
