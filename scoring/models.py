"""What the scoring method computes against the rubric, and the improvement plan.

Scores and gaps are computed (``scoring.method``), never typed in; the
improvement plan is drafted from gaps and then owned by coordinators.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Organization, new_code
from config.limits import TEXT_NOTE
from scenarios.models import Criterion


class Confidence(models.TextChoices):
    """How much evidence backs a score or a finding (scoring.method.confidence_of)."""

    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Score(models.Model):
    exercise = models.ForeignKey(
        "exercises.Exercise", on_delete=models.CASCADE, related_name="scores"
    )
    team = models.ForeignKey("exercises.Team", on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="scores")
    value = models.FloatField(null=True, blank=True, help_text="0-100; empty: no evidence.")
    evidence = models.JSONField(default=list)
    evidence_count = models.PositiveIntegerField(default=0)
    confidence = models.CharField(max_length=6, choices=Confidence.choices, default=Confidence.LOW)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exercise", "team", "criterion__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["exercise", "team", "criterion"], name="one_score_per_team_criterion"
            )
        ]


class Gap(models.Model):
    class Kind(models.TextChoices):
        TEAM = "team", "Team gap"
        SYSTEMIC = "systemic", "Systemic gap"
        CASCADE = "cascade", "Cascade gap"

    exercise = models.ForeignKey(
        "exercises.Exercise", on_delete=models.CASCADE, related_name="gaps"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="gaps")
    team = models.ForeignKey(
        "exercises.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="gaps"
    )
    severity = models.FloatField(default=0, help_text="How far below threshold, 0-100.")
    summary = models.TextField()
    evidence = models.JSONField(default=dict)
    confidence = models.CharField(max_length=6, choices=Confidence.choices, default=Confidence.HIGH)
    # Enough evidence and a material size to headline the summary (GapOut.headline).
    headline = models.BooleanField(default=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exercise", "-headline", "-severity"]


# Rubric references whose gaps are obligations someone can enforce: legal and regulatory
# context, supplier contracts, incident reporting to authorities (NIST CSF 2.0).
ENFORCE_REFERENCES = frozenset({"GV.OC", "GV.SC", "RS.CO"})


class ImprovementItem(models.Model):
    """A row of the HSEEP AAR/IP improvement plan."""

    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)

    class Element(models.TextChoices):
        PLANNING = "planning", "Planning"
        ORGANIZATION = "organization", "Organization"
        EQUIPMENT = "equipment", "Equipment"
        TRAINING = "training", "Training"
        EXERCISE = "exercise", "Exercise"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DROPPED = "dropped", "Dropped"

    exercise = models.ForeignKey(
        "exercises.Exercise", on_delete=models.CASCADE, related_name="improvement_items"
    )
    gap = models.ForeignKey(
        Gap, on_delete=models.SET_NULL, null=True, blank=True, related_name="improvement_items"
    )
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    observation = models.TextField(max_length=TEXT_NOTE, help_text="Area for improvement.")
    recommendation = models.TextField(blank=True, max_length=TEXT_NOTE)
    corrective_action = models.TextField(blank=True, max_length=TEXT_NOTE)
    capability_element = models.CharField(
        max_length=12, choices=Element.choices, default=Element.PLANNING
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    point_of_contact = models.CharField(max_length=200, blank=True)
    start_date = models.DateField(null=True, blank=True)
    completion_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    # Which finding drafted this row ("team:<criterion>:<org id>", …): re-drafting adds
    # only rows whose key is missing, so coordinators' edits survive a recompute.
    draft_key = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Track(models.TextChoices):
        """How cross-sector programs act on an item: support, self-help or obligation."""

        ENABLE = "enable", "Enable: capacity the organization lacks"
        ENGAGE = "engage", "Engage: what the organization can do itself, with its partners"
        ENFORCE = "enforce", "Enforce: obligations a regulator or contract sets"

    class Meta:
        ordering = ["exercise", "criterion__order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["exercise", "draft_key"],
                condition=~models.Q(draft_key=""),
                name="improvement_drafted_once",
            )
        ]

    @property
    def track(self) -> str:
        """Enforce for criteria about legal, contractual and reporting obligations;
        Enable for equipment and training; Engage for the rest."""
        if self.criterion.reference in ENFORCE_REFERENCES:
            return self.Track.ENFORCE
        if self.capability_element in (self.Element.EQUIPMENT, self.Element.TRAINING):
            return self.Track.ENABLE
        return self.Track.ENGAGE


class ReportExport(models.Model):
    """An export job (PDF, XLSX, CSV, JSON) run as a Celery task with progress."""

    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        XLSX = "xlsx", "Excel"
        CSV = "csv", "CSV (zip)"
        JSON = "json", "JSON"

    class Status(models.TextChoices):
        PENDING = "pending", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    exercise = models.ForeignKey(
        "exercises.Exercise", on_delete=models.CASCADE, related_name="exports"
    )
    format = models.CharField(max_length=5, choices=Format.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to="exports/", blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
