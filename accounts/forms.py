from __future__ import annotations

from django import forms

from accounts.models import Organization


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "sector", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class InviteForm(forms.Form):
    """Only validates the shape: whether the username exists is never told (no enumeration)."""

    username = forms.CharField(max_length=150, help_text="The person's Cascade username.")
    is_admin = forms.BooleanField(required=False, label="Organization admin")
