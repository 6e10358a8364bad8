from __future__ import annotations

from django import forms

from accounts.models import Organization, User


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "sector", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="The person's Cascade username.")
    is_admin = forms.BooleanField(required=False, label="Organization admin")

    def clean_username(self) -> User:
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(username__iexact=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No active user is called “{username}”.")
        return user
