"""Forms of the after-action pages. They only validate."""

from __future__ import annotations

from django import forms

from accounts.models import Organization
from scoring.models import ImprovementItem, ReportExport


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
    format = forms.ChoiceField(choices=ReportExport.Format.choices)


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
