"""Forms of the after-action pages. They only validate."""

from __future__ import annotations

from django import forms

from accounts.models import Organization, Sector
from scenarios.models import Criterion, Rubric
from scoring.access import DEBRIEF_FORMATS
from scoring.models import ImprovementItem, ReportExport
from scoring.trends import BY_ORGANIZATION, BY_SECTOR, PER_CRITERION, PER_GROUP


class ImprovementItemForm(forms.ModelForm):
    class Meta:
        model = ImprovementItem
        fields = [
            "observation",
            "recommendation",
            "corrective_action",
            "capability_element",
            "organization",
            "point_of_contact",
            "start_date",
            "completion_date",
            "status",
        ]
        widgets = {
            "observation": forms.Textarea(attrs={"rows": 2}),
            "recommendation": forms.Textarea(attrs={"rows": 2}),
            "corrective_action": forms.Textarea(attrs={"rows": 2}),
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "completion_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["organization"].queryset = organizations
        self.fields["organization"].label = "Primary responsible organization"

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("completion_date")
        if start and end and end < start:
            self.add_error("completion_date", "The completion date cannot be before the start.")
        return data


class ExportForm(forms.Form):
    """The formats offered are those the reader may export (``ReportAccess.export_formats``);
    a player's PDF is their team's debrief."""

    format = forms.ChoiceField(choices=ReportExport.Format.choices)

    def __init__(self, *args, formats: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        allowed = [(v, label) for v, label in ReportExport.Format.choices if v in formats]
        if formats == DEBRIEF_FORMATS:
            allowed = [(v, "Team debrief (PDF)") for v, _ in allowed]
        self.fields["format"].choices = allowed


class PlanFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *ImprovementItem.Status.choices], required=False
    )
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), required=False, empty_label="Any organization"
    )

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["organization"].queryset = organizations


class TrendFilterForm(forms.Form):
    """Which trends to show: one rubric's runs, by organization or sector, per criterion or
    criterion group, optionally narrowed to one organization, sector or group."""

    rubric = forms.ModelChoiceField(
        queryset=Rubric.objects.none(), required=False, empty_label=None, to_field_name="key"
    )
    by = forms.ChoiceField(
        label="Follow",
        choices=[(BY_ORGANIZATION, "Each organization"), (BY_SECTOR, "Each sector")],
        required=False,
    )
    per = forms.ChoiceField(
        label="Per",
        choices=[(PER_CRITERION, "Criterion"), (PER_GROUP, "Criterion group")],
        required=False,
    )
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        required=False,
        empty_label="Any organization",
        to_field_name="code",
    )
    sector = forms.ChoiceField(choices=[("", "Any sector"), *Sector.choices], required=False)
    group = forms.ChoiceField(
        label="Criterion group",
        choices=[("", "Any group"), *Criterion.Group.choices],
        required=False,
    )

    def __init__(self, *args, rubrics, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rubric"].queryset = rubrics
        self.fields["organization"].queryset = organizations

    def clean(self):
        data = super().clean()
        data["rubric"] = data.get("rubric") or self.fields["rubric"].queryset.first()
        data["by"] = data.get("by") or BY_ORGANIZATION
        data["per"] = data.get("per") or PER_CRITERION
        return data
