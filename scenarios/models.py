"""A scenario: a reusable, versioned, branching crisis script.

Scenarios are independent of real organizations: they name *roles* (seats such as
"cloud provider" or "regional hospital") that an exercise later maps to teams.
Everything inside a scenario is addressed by a ``key`` unique within it, which is
what the scenario file format uses for references. A published scenario is
immutable; editing it makes a new draft version (see ``scenarios.services``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, models, transaction

from accounts.models import Sector, new_code
from config.limits import TEXT_BRIEF, TEXT_DOCUMENT


class Tlp(models.TextChoices):
    """Traffic Light Protocol 2.0 markings, least to most restrictive."""

    CLEAR = "CLEAR", "TLP:CLEAR"
    GREEN = "GREEN", "TLP:GREEN"
    AMBER = "AMBER", "TLP:AMBER"
    AMBER_STRICT = "AMBER+STRICT", "TLP:AMBER+STRICT"
    RED = "RED", "TLP:RED"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone call"
    NEWS = "news", "News report"
    SOCIAL = "social", "Social media"
    SIEM = "siem", "SIEM alert"
    REGULATOR = "regulator", "Regulator"
    PARTNER = "partner", "Partner"
    # A method Cascade has no channel for (an MSEL's "Briefing", "Radio"): its own words
    # are kept in Inject.channel_label.
    OTHER = "other", "Other"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Audience(models.TextChoices):
    """Who an inject or prompt is addressed to."""

    ALL = "all", "Every team"
    ROLES = "roles", "Named roles"
    SECTORS = "sectors", "Sectors"
    CONTROL = "control", "Control cell only"


class Rubric(models.Model):
    key = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=TEXT_BRIEF)
    version = models.CharField(max_length=20, default="1")

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Criterion(models.Model):
    class Group(models.TextChoices):
        GOVERN = "GV", "Govern"
        IDENTIFY = "ID", "Identify"
        PROTECT = "PR", "Protect"
        DETECT = "DE", "Detect"
        RESPOND = "RS", "Respond"
        RECOVER = "RC", "Recover"
        COLLABORATION = "CO", "Collaboration"

    rubric = models.ForeignKey(Rubric, on_delete=models.CASCADE, related_name="criteria")
    key = models.SlugField(max_length=60)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=TEXT_BRIEF)
    group = models.CharField(max_length=2, choices=Group.choices)
    reference = models.CharField(
        max_length=60, blank=True, help_text="E.g. NIST CSF 2.0 category identifiers."
    )
    weight = models.FloatField(default=1.0)
    threshold = models.PositiveIntegerField(default=60, help_text="Below this score is a gap.")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["rubric", "order", "key"]
        verbose_name_plural = "criteria"
        constraints = [
            models.UniqueConstraint(fields=["rubric", "key"], name="criterion_key_unique")
        ]

    def __str__(self) -> str:
        return self.title


VERSION_ATTEMPTS = 10  # creators of one key at the same moment that all succeed


class ScenarioManager(models.Manager):
    def create_next_version(self, *, key: str, **fields) -> Scenario:
        """Create the version after the highest of ``key`` (1 for a new key).

        Two transactions creating a version of one key at once would pick the same
        number; the unique (key, version) constraint makes the later one wait for the
        other and fail, and it then takes the next number (inside a savepoint, so the
        caller's transaction goes on). Creating versions is rare, retrying is cheap.
        """
        attempts = VERSION_ATTEMPTS
        while True:
            highest = self.filter(key=key).aggregate(top=models.Max("version"))["top"] or 0
            try:
                with transaction.atomic():
                    return self.create(key=key, version=highest + 1, **fields)
            except IntegrityError:
                attempts -= 1
                if not attempts:
                    raise


class Scenario(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    # ``key`` names the scenario across its versions; (key, version) is unique.
    key = models.SlugField(max_length=80)
    version = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, max_length=TEXT_DOCUMENT)
    sectors = models.JSONField(default=list, blank=True)
    rubric = models.ForeignKey(
        Rubric, on_delete=models.PROTECT, related_name="scenarios", null=True, blank=True
    )
    start_stage = models.ForeignKey(
        "Stage", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    previous_version = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="next_versions"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = ScenarioManager()

    class Meta:
        ordering = ["title", "-version"]
        permissions = [
            ("author_scenario", "Can author scenarios"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="scenario_key_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class Role(models.Model):
    """A seat in a scenario; ``depends_on`` is the dependency graph between seats;
    ``coordinating`` marks a coordinating body (ISAC, national CERT, regulator)."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="roles")
    key = models.SlugField(max_length=60)
    label = models.CharField(max_length=120)
    sector = models.CharField(max_length=20, choices=Sector.choices)
    description = models.TextField(blank=True, max_length=TEXT_BRIEF)
    depends_on = models.ManyToManyField(
        "self", symmetrical=False, related_name="dependents", blank=True
    )
    # An ISAC, a national CERT, a regulator: receives what members address to it and may
    # send sanitized summaries to every team (docs/collaboration.md).
    coordinating = models.BooleanField(
        default=False,
        verbose_name="Coordinating body",
        help_text="An ISAC, national CERT or regulator: members report to it; it warns all.",
    )
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "key"]
        constraints = [models.UniqueConstraint(fields=["scenario", "key"], name="role_key_unique")]

    def __str__(self) -> str:
        return self.label


class Stage(models.Model):
    """A node of the branching graph. A stage with no outgoing transition ends the run."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="stages")
    key = models.SlugField(max_length=60)
    title = models.CharField(max_length=200)
    briefing = models.TextField(
        blank=True, max_length=TEXT_DOCUMENT, help_text="Situation update, markdown."
    )
    duration_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Planned length; informs the control console only."
    )
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "key"]
        constraints = [models.UniqueConstraint(fields=["scenario", "key"], name="stage_key_unique")]

    def __str__(self) -> str:
        return self.title


class Inject(models.Model):
    """A message released during an exercise; one MSEL row."""

    class Release(models.TextChoices):
        TIMED = "timed", "At an offset into the stage"
        MANUAL = "manual", "By the facilitator"
        CONSEQUENCE = "consequence", "As the consequence of a decision"

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="injects")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="injects")
    key = models.SlugField(max_length=60)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, max_length=TEXT_DOCUMENT, help_text="Markdown.")
    sender = models.CharField(max_length=120, blank=True, help_text="MSEL 'from'.")
    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.EMAIL)
    channel_label = models.CharField(
        max_length=60, blank=True, help_text="The method's own name when the channel is Other."
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    tlp = models.CharField(max_length=12, choices=Tlp.choices, default=Tlp.GREEN)
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.ALL)
    audience_roles = models.ManyToManyField(Role, blank=True, related_name="+")
    audience_sectors = models.JSONField(default=list, blank=True)
    release = models.CharField(max_length=12, choices=Release.choices, default=Release.MANUAL)
    offset_seconds = models.PositiveIntegerField(null=True, blank=True)
    expected_action = models.TextField(blank=True, max_length=TEXT_DOCUMENT)
    criteria = models.JSONField(default=list, blank=True, help_text="Rubric criterion keys.")
    notes = models.TextField(blank=True, max_length=TEXT_DOCUMENT)
    columns = models.JSONField(
        default=dict,
        blank=True,
        help_text="MSEL columns with no field here (header → text), written back on export.",
    )
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "offset_seconds", "key"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "key"], name="inject_key_unique"),
            models.CheckConstraint(
                condition=~models.Q(release="timed") | models.Q(offset_seconds__isnull=False),
                name="timed_inject_has_offset",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def channel_text(self) -> str:
        """The channel as people read it: the method's own name for Other."""
        if self.channel == Channel.OTHER and self.channel_label:
            return self.channel_label
        return self.get_channel_display()


class Prompt(models.Model):
    """A decision point put to an audience of teams."""

    class Kind(models.TextChoices):
        CHOICE = "choice", "Choose an option"
        TEXT = "text", "Free text"
        CHOICE_TEXT = "choice_text", "Option and explanation"

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="prompts")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="prompts")
    key = models.SlugField(max_length=60)
    question = models.TextField(max_length=TEXT_BRIEF)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CHOICE)
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.ALL)
    audience_roles = models.ManyToManyField(Role, blank=True, related_name="+")
    audience_sectors = models.JSONField(default=list, blank=True)
    open_offset_seconds = models.PositiveIntegerField(
        default=0, help_text="Opens this long after the stage starts."
    )
    deadline_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Closes this long after it opens; empty: at stage end."
    )
    criteria = models.JSONField(default=list, blank=True, help_text="Rubric criterion keys.")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "key"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "key"], name="prompt_key_unique")
        ]

    def __str__(self) -> str:
        return self.question[:80]


class Option(models.Model):
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="options")
    key = models.SlugField(max_length=60)
    label = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=TEXT_BRIEF)
    # {criterion key: points}, points in -100..100: how choosing this shows on the rubric.
    effects = models.JSONField(default=dict, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "key"]
        constraints = [models.UniqueConstraint(fields=["prompt", "key"], name="option_key_unique")]

    def __str__(self) -> str:
        return self.label


class Consequence(models.Model):
    """Choosing ``option`` releases ``inject`` to some teams: the cascade."""

    class Target(models.TextChoices):
        DEPENDENTS = "dependents", "Teams that depend on the chooser"
        CHOOSER = "chooser", "The choosing team"
        ROLES = "roles", "Named roles"
        ALL = "all", "Every team"

    option = models.ForeignKey(Option, on_delete=models.CASCADE, related_name="consequences")
    inject = models.ForeignKey(Inject, on_delete=models.CASCADE, related_name="consequences")
    target = models.CharField(max_length=12, choices=Target.choices, default=Target.DEPENDENTS)
    target_roles = models.ManyToManyField(Role, blank=True, related_name="+")
    delay_seconds = models.PositiveIntegerField(default=0)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]


class Transition(models.Model):
    """An edge of the stage graph, tried in ``order``; exactly one default per source stage.

    ``condition`` is data, never code::

        {"mode": "any|all|none|majority|at_least", "prompt": "<prompt key>",
         "options": ["<option key>", ...], "roles": ["<role key>", ...], "count": 2}

    ``roles`` empty means every team the prompt was put to; ``count`` only for at_least.
    """

    class Mode(models.TextChoices):
        ANY = "any", "Any team chose"
        ALL = "all", "All teams chose"
        NONE = "none", "No team chose"
        MAJORITY = "majority", "A majority chose"
        AT_LEAST = "at_least", "At least N teams chose"

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="transitions")
    from_stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="transitions")
    to_stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="incoming")
    label = models.CharField(max_length=200, blank=True)
    is_default = models.BooleanField(default=False)
    condition = models.JSONField(default=dict, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["from_stage", "is_default", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_stage"],
                condition=models.Q(is_default=True),
                name="one_default_transition_per_stage",
            )
        ]

    def __str__(self) -> str:
        return f"{self.from_stage.key} → {self.to_stage.key}"


class DraftSnapshot(models.Model):
    """A draft's parts as they were before one editing service changed them: "Undo".

    ``rows`` is the Django JSON serialization of the roles, stages, injects, prompts,
    options, consequences and transitions; ``details`` the scenario's own editable
    fields. Written and restored only by ``scenarios.services`` (bounded history).
    """

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="snapshots")
    label = models.CharField(max_length=120)
    rows = models.TextField()
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.scenario} before {self.label}"
