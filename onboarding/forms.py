from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation

from accounts.models import Organization, User
from config.limits import MAX_IMPORT_BYTES
from exercises.models import Exercise, Participant, Team


class EmailInviteForm(forms.Form):
    """An organization admin's invitation by address."""

    email = forms.EmailField()
    name = forms.CharField(max_length=120, required=False)
    is_admin = forms.BooleanField(required=False, label="Organization admin")


class SeatInviteForm(forms.Form):
    """A facilitator's invitation of one person to an organization and a seat."""

    email = forms.EmailField()
    name = forms.CharField(max_length=120, required=False)
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.order_by("name"), to_field_name="code"
    )
    kind = forms.ChoiceField(
        choices=Participant.Kind.choices, label="Exercise role", initial=Participant.Kind.PLAYER
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        to_field_name="code",
        required=False,
        help_text="Players only: the team they sit in (of their organization).",
    )

    def __init__(self, *args, exercise: Exercise, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = exercise.teams.select_related("role", "organization")


class RosterForm(forms.Form):
    roster = forms.FileField(
        label="Roster file",
        help_text="CSV or XLSX, at most 5 MiB and 1,000 people.",
    )

    def clean_roster(self):
        upload = self.cleaned_data["roster"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_IMPORT_BYTES // 2**20} MiB.")
        name = upload.name.lower()
        fmt = "xlsx" if name.endswith(".xlsx") else "csv" if name.endswith(".csv") else ""
        if not fmt:
            raise forms.ValidationError("Upload a .csv or .xlsx file.")
        return fmt, upload.read()


class AccountForm(forms.Form):
    """The invitee's new account: a name and a password checked by Django's validators."""

    display_name = forms.CharField(max_length=120, label="Your name")
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            probe = User(
                username=self.email, email=self.email, display_name=data.get("display_name", "")
            )
            try:
                password_validation.validate_password(first, probe)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data
