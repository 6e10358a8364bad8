"""Forms of the live exercise pages. They only validate; views call the engine."""

from __future__ import annotations

import uuid

from django import forms
from django.utils.functional import cached_property

from accounts.models import Organization, User
from config.limits import TEXT_DOCUMENT, TEXT_MESSAGE, TEXT_NOTE, TEXT_SHARE, TEXT_TITLE
from exercises import queries
from exercises.models import Exercise, Observation, Participant, Team
from exercises.room_queries import other_team_choices
from scenarios.models import Criterion, Inject, Option, Prompt, Scenario, Tlp

# What each TLP 2.0 marking means *in this app* (the engine enforces it).
TLP_HELP: dict[str, str] = {
    Tlp.CLEAR: "Anyone: every team, and the exercise's observers.",
    Tlp.GREEN: "Every team in the exercise, but not observers.",
    Tlp.AMBER: "The teams you pick, plus the teams whose roles depend on them.",
    Tlp.AMBER_STRICT: "Only the teams you pick (their organizations), nobody downstream.",
    Tlp.RED: "Only the teams you pick, by name. Nobody else, not even their dependents.",
}


def new_client_token() -> str:
    """A fresh idempotency token for one render of a form."""
    return uuid.uuid4().hex


class ExerciseForm(forms.Form):
    scenario = forms.ModelChoiceField(
        queryset=Scenario.objects.none(),
        empty_label=None,
        help_text="Only published scenario versions can be run.",
        to_field_name="code",
    )
    name = forms.CharField(max_length=200, help_text="E.g. “Regional cyber drill, spring 2026”.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scenario"].queryset = Scenario.objects.filter(
            status=Scenario.Status.PUBLISHED
        ).order_by("title", "-version")


class TeamAddForm(forms.Form):
    """Seat an organization in one of the scenario roles that has no team yet."""

    role = forms.ChoiceField(help_text="The seat in the scenario.")
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.order_by("name"),
        to_field_name="code",
        help_text="Its members can join this team with the team's join code.",
    )

    def __init__(self, *args, exercise: Exercise, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.exercise = exercise
        taken = exercise.teams.values_list("role_id", flat=True)
        self.roles = {r.key: r for r in exercise.scenario.roles.exclude(id__in=taken)}
        self.fields["role"].choices = [
            (key, f"{role.label} ({role.get_sector_display()})") for key, role in self.roles.items()
        ]

    def clean_role(self):
        return self.roles[self.cleaned_data["role"]]


class ParticipantAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    kind = forms.ChoiceField(
        choices=[
            (k.value, k.label)
            for k in Participant.Kind
            if k != Participant.Kind.PLAYER  # players join through their team's join code
        ]
    )

    def clean_username(self) -> User:
        user = User.objects.filter(username=self.cleaned_data["username"]).first()
        if user is None:
            raise forms.ValidationError("No user with that username.")
        return user


class AdvanceForm(forms.Form):
    """Advance the exercise; an explicit stage is a branch override."""

    to_stage = forms.ChoiceField(required=False)
    # Release the stage's timed injects that have not fired before leaving it.
    release_skipped = forms.BooleanField(required=False)
    # Or keep them due at their own time in the stages after.
    carry_skipped = forms.BooleanField(required=False)

    def __init__(self, *args, exercise: Exercise, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stages = {s.key: s for s in exercise.scenario.stages.all()}
        self.fields["to_stage"].choices = [("", "As the teams' decisions say")] + [
            (key, stage.title) for key, stage in self.stages.items()
        ]

    def clean_to_stage(self):
        key = self.cleaned_data["to_stage"]
        return self.stages[key] if key else None


class DecisionForm(forms.Form):
    option = forms.ChoiceField(required=False, widget=forms.RadioSelect)
    text = forms.CharField(
        required=False, max_length=TEXT_NOTE, widget=forms.Textarea(attrs={"rows": 3})
    )
    rationale = forms.CharField(
        max_length=TEXT_NOTE,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why: evaluators read it in the after-action review.",
    )
    client_token = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args, prompt: Prompt, options: list[Option] | None = None, **kwargs
    ) -> None:
        """``options``: the prompt's, in order, if the caller read them (a decide POST's
        window has them); else read here."""
        # Prefixed by the prompt key: several prompt forms share one page.
        kwargs.setdefault("prefix", prompt.key)
        super().__init__(*args, **kwargs)
        self.prompt = prompt
        if options is None:
            options = queries.prompt_options(prompt.pk)
        self.options = {o.key: o for o in options}
        self.fields["option"].choices = [(k, o.label) for k, o in self.options.items()]
        if prompt.kind == Prompt.Kind.CHOICE:
            del self.fields["text"]
        elif prompt.kind == Prompt.Kind.TEXT:
            del self.fields["option"]
        else:
            # The explanation the prompt asks for is the team's rationale: one box, not two.
            del self.fields["rationale"]
            self.fields["text"].help_text = self.base_fields["rationale"].help_text

    def clean_option(self):
        key = self.cleaned_data.get("option")
        return self.options.get(key) if key else None

    def clean_client_token(self) -> str:
        # A browser without JS renders no token; then each POST is its own revision.
        return self.cleaned_data["client_token"] or new_client_token()


class OtherTeamChoices(forms.Form):
    """A form whose ``team_field`` offers the exercise's other teams: their codes and
    labels, read written out (``room_queries.other_team_choices``) unless the caller
    already has them (the room page reads them once for its two forms)."""

    team_field: str
    extra_choices: list[tuple[str, str]] = []

    def __init__(
        self,
        *args,
        exercise: Exercise,
        team: Team,
        choices: list[tuple[str, str]] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.exercise, self.team = exercise, team
        if choices is None:
            choices = other_team_choices(exercise_id=exercise.pk, team_id=team.pk)
        self.fields[self.team_field].choices = self.extra_choices + choices

    def chosen_teams(self, codes: list[str]) -> list[Team]:
        """The teams of ``codes`` (valid choices), in that order, with their organizations
        and roles."""
        rows = self.exercise.teams.exclude(id=self.team.pk).filter(code__in=codes)
        teams = {t.code: t for t in rows.select_related("organization", "role")}
        if len(teams) < len(set(codes)):  # one left the exercise since the form was drawn
            raise forms.ValidationError("Pick the teams again: one has left the exercise.")
        return [teams[code] for code in codes]


class ShareForm(OtherTeamChoices):
    tlp = forms.ChoiceField(
        choices=Tlp.choices,
        initial=Tlp.AMBER,
        label="Marking (TLP 2.0)",
        widget=forms.RadioSelect,
    )
    title = forms.CharField(max_length=TEXT_TITLE)
    body = forms.CharField(max_length=TEXT_SHARE, widget=forms.Textarea(attrs={"rows": 4}))
    recipients = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Needed for RED, AMBER+STRICT and AMBER; GREEN and CLEAR reach every team.",
    )
    client_token = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    team_field = "recipients"

    def clean_recipients(self) -> list[Team]:
        return self.chosen_teams(self.cleaned_data["recipients"])

    def clean_client_token(self) -> str:
        return self.cleaned_data["client_token"] or new_client_token()

    def clean(self):
        cleaned = super().clean()
        tlp = cleaned.get("tlp")
        needs_recipients = tlp in {Tlp.RED, Tlp.AMBER_STRICT, Tlp.AMBER}
        if needs_recipients and not cleaned.get("recipients"):
            self.add_error("recipients", f"TLP:{tlp} needs at least one recipient team.")
        return cleaned


class ObservationForm(forms.Form):
    team = forms.ChoiceField()
    criterion = forms.ChoiceField()
    rating = forms.ChoiceField(
        choices=[(r.value, f"{r.value} – {r.label}") for r in Observation.Rating],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        required=False, max_length=TEXT_NOTE, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, exercise: Exercise, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.teams = {t.code: t for t in exercise.teams.select_related("organization", "role")}
        self.criteria = {c.key: c for c in exercise_criteria(exercise)}
        self.fields["team"].choices = [(c, str(t)) for c, t in self.teams.items()]
        self.fields["criterion"].choices = [(k, c.title) for k, c in self.criteria.items()]

    def clean_team(self) -> Team:
        return self.teams[self.cleaned_data["team"]]

    def clean_criterion(self) -> Criterion:
        return self.criteria[self.cleaned_data["criterion"]]


class ObservationRevisionForm(forms.Form):
    """An evaluator's correction of their own observation: its rating and note."""

    rating = forms.ChoiceField(choices=Observation.Rating.choices)
    note = forms.CharField(required=False, max_length=TEXT_NOTE)


def exercise_criteria(exercise: Exercise) -> list[Criterion]:
    """The rubric criteria evaluators rate in this exercise (empty without a rubric)."""
    rubric_id = exercise.scenario.rubric_id
    return list(Criterion.objects.filter(rubric_id=rubric_id)) if rubric_id else []


class HotwashForm(forms.Form):
    notes = forms.CharField(
        max_length=TEXT_DOCUMENT,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What went well, what did not, what to change: feeds the after-action report.",
    )


class MessageForm(forms.Form):
    """A line of a team's discussion thread."""

    body = forms.CharField(
        label="Message",
        max_length=TEXT_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": TEXT_MESSAGE}),
        help_text="@name notifies a teammate.",
    )


TO_CONTROL = "control"


class RfiForm(OtherTeamChoices):
    """A request for information to the control cell or another team."""

    to = forms.ChoiceField(label="Ask")
    tlp = forms.ChoiceField(
        choices=Tlp.choices, initial=Tlp.AMBER, label="Marking (TLP 2.0)", widget=forms.Select
    )
    question = forms.CharField(
        max_length=TEXT_MESSAGE, widget=forms.Textarea(attrs={"rows": 2, "maxlength": TEXT_MESSAGE})
    )
    client_token = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    team_field = "to"
    extra_choices = [(TO_CONTROL, "The control cell")]

    def clean_to(self) -> Team | None:
        code = self.cleaned_data["to"]
        return None if code == TO_CONTROL else self.chosen_teams([code])[0]

    def clean_client_token(self) -> str:
        return self.cleaned_data["client_token"] or new_client_token()


class RfiAnswerForm(forms.Form):
    """The addressee's answer; the control cell may release an inject with it."""

    answer = forms.CharField(
        max_length=TEXT_MESSAGE, widget=forms.Textarea(attrs={"rows": 2, "maxlength": TEXT_MESSAGE})
    )
    inject = forms.ChoiceField(required=False, label="Release an inject to them as the answer")

    def __init__(self, *args, exercise: Exercise, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.exercise = exercise
        # Read when drawn or validated, not before: every team room carries this form
        # for the RFIs put to its team, and a team answers with no inject.
        self.fields["inject"].choices = self._inject_choices

    @cached_property
    def injects(self) -> dict[str, Inject]:
        return {i.key: i for i in self.exercise.scenario.injects.all()}

    def _inject_choices(self) -> list[tuple[str, str]]:
        return [("", "No inject")] + [(key, inject.title) for key, inject in self.injects.items()]

    def clean_inject(self) -> Inject | None:
        key = self.cleaned_data["inject"]
        return self.injects[key] if key else None
