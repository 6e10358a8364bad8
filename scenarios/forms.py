"""Forms of the scenario editor. They only validate; ``fields()`` hands the service
the values to save (including many-to-many ones and the data built from several
inputs: a transition's condition, an option's effects)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.validators import RegexValidator

from accounts.models import Sector
from scenarios.formats.files import MSEL_SUFFIXES, MselOptions
from scenarios.formats.msel import DEFAULT_TIME_MODEL, TIME_MODELS
from scenarios.formats.msel_read import slug, unique
from scenarios.formats.parse import clock_text, parse_duration
from scenarios.models import (
    Audience,
    Consequence,
    Inject,
    Option,
    Prompt,
    Role,
    Rubric,
    Scenario,
    Stage,
    Transition,
)
from scenarios.services import OptionDraft

KEY_HELP = "Lowercase letters, digits and hyphens; used by references and the file format."
KEY_SOURCES = ("label", "title", "question")
key_validator = RegexValidator(r"^[a-z0-9][a-z0-9-]*$", "Use lowercase letters, digits, hyphens.")


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses ids no database integer holds: SQLite raises OverflowError on
    ``pk__in=[huge]`` (Django guards exact lookups, not ``in``), which was a 500."""

    def _check_values(self, value: Any) -> Any:
        for pk in value:
            try:
                too_big = abs(int(pk)) >= 2**63
            except (TypeError, ValueError):
                continue  # the parent class reports it
            if too_big:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class PartForm(forms.ModelForm):
    """A form for a part of ``scenario``; checks that ``key`` is unique in its scope."""

    def __init__(self, *args: Any, scenario: Scenario, **kwargs: Any) -> None:
        self.scenario = scenario
        super().__init__(*args, **kwargs)
        if "key" in self.fields:
            self.fields["key"].validators.append(key_validator)
            self.fields["key"].max_length = 60
            source = self.key_source()
            if source:  # planners name things; the key follows the name, and may be left out
                self.fields["key"].required = False
                self.fields["key"].help_text = f"{KEY_HELP} Empty: made from the {source}."
                order = [name for name in self.fields if name != "key"]
                order.insert(order.index(source) + 1, "key")
                self.order_fields(order)
            else:
                self.fields["key"].help_text = KEY_HELP
        for field in self.fields.values():
            if type(field) is forms.ModelMultipleChoiceField:
                field.__class__ = BoundedModelMultipleChoiceField
            if isinstance(field, forms.MultipleChoiceField):
                field.widget = forms.CheckboxSelectMultiple(choices=field.choices)
            if isinstance(field.widget, forms.Textarea):
                field.widget.attrs["rows"] = 3

    def focus(self) -> None:
        """Mark the first field with an error (else the first field) ``autofocus``:
        htmx focuses it after the swap, so keyboard users continue where they were."""
        names = [n for n in self.fields if n in self.errors] or list(self.fields)
        if names:
            self.fields[names[0]].widget.attrs["autofocus"] = True

    def key_scope(self) -> Any:
        return type(self.instance).objects.filter(scenario=self.scenario)

    def key_source(self) -> str | None:
        """The field an empty key is made from (label, title or question), if any."""
        return next((name for name in KEY_SOURCES if name in self.fields), None)

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if key and self.key_scope().filter(key=key).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(f"“{key}” is already used here; keys must be unique.")
        return key

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        source = self.key_source() if "key" in self.fields else None
        if source and not data.get("key") and "key" not in self.errors and data.get(source):
            taken = self.key_scope().exclude(pk=self.instance.pk).values_list("key", flat=True)
            base = slug(data[source], 55) or self._meta.model._meta.model_name
            data["key"] = unique(base, taken)
        return data

    def fields_for_service(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self._meta.fields}

    def _roles(self) -> Any:
        return self.scenario.roles.all()

    def _criteria(self) -> list[tuple[str, str]]:
        rubric = self.scenario.rubric
        if rubric is None:
            return []
        return [(c.key, f"{c.key} — {c.title}") for c in rubric.criteria.all()]

    def _criteria_by_group(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The rubric's criteria under their group (Govern, Identify ...), for a compact list."""
        rubric = self.scenario.rubric
        groups: dict[str, list[tuple[str, str]]] = {}
        for c in rubric.criteria.all() if rubric else []:
            groups.setdefault(c.get_group_display(), []).append((c.key, f"{c.key} — {c.title}"))
        return list(groups.items())


class ScenarioCreateForm(forms.ModelForm):
    class Meta:
        model = Scenario
        fields = ["title", "key", "summary", "rubric"]
        widgets = {"summary": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key"].validators.append(key_validator)
        self.fields["key"].required = False
        self.fields[
            "key"
        ].help_text = (
            f"Names the scenario across its versions. {KEY_HELP} Empty: made from the title."
        )
        self.fields["rubric"].queryset = rubrics = Rubric.objects.all()
        if len(rubrics) == 1:  # the usual case: the shipped rubric
            self.fields["rubric"].initial = rubrics[0].pk

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if key and Scenario.objects.filter(key=key).exists():
            raise forms.ValidationError("A scenario with this key exists; edit that one instead.")
        return key

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("key") and "key" not in self.errors and data.get("title"):
            taken = Scenario.objects.values_list("key", flat=True).distinct()
            data["key"] = unique(slug(data["title"], 70) or "scenario", taken)
        return data


class ScenarioDetailsForm(PartForm):
    class Meta:
        model = Scenario
        fields = ["title", "summary", "rubric", "start_stage"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["start_stage"].queryset = self.scenario.stages.all()
        self.fields["start_stage"].label = "Start stage"


class RoleForm(PartForm):
    class Meta:
        model = Role
        fields = ["key", "label", "sector", "description", "depends_on", "coordinating"]
        widgets = {"depends_on": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["depends_on"].queryset = self._roles().exclude(pk=self.instance.pk)
        self.fields["depends_on"].help_text = "Seats this role needs (the dependency graph)."


class ClockDurationField(forms.Field):
    """A duration typed as ``mm:ss``, ``h:mm:ss``, ``5m``/``1h30m`` or whole seconds."""

    widget = forms.TextInput(attrs={"placeholder": "mm:ss or h:mm:ss", "inputmode": "text"})
    default_error_messages = {"invalid": "Write mm:ss, h:mm:ss or 5m / 1h30m."}

    def __init__(self, *, min_value: int | None = None, max_value: int | None = None, **kwargs):
        self.min_value, self.max_value = min_value, max_value
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return clock_text(value) if isinstance(value, int) else value

    def to_python(self, value: Any) -> int | None:
        text = str(value or "").strip()
        if not text:
            return None
        parts = text.split(":")
        if len(parts) in (2, 3) and all(part.isdigit() for part in parts):
            numbers = [int(part) for part in parts]
            if any(number > 59 for number in numbers[1:]):
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            hours, minutes, secs = ([0] * (3 - len(numbers)) + numbers)[-3:]
            seconds: int | None = hours * 3600 + minutes * 60 + secs
        else:
            seconds = parse_duration(text)
        if seconds is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if self.max_value is not None and seconds > self.max_value:
            raise forms.ValidationError(f"At most {clock_text(self.max_value)}.")
        return seconds


class StageForm(PartForm):
    class Meta:
        model = Stage
        fields = ["key", "title", "briefing", "duration_seconds"]
        labels = {"duration_seconds": "Planned duration (mm:ss or h:mm:ss)"}
        field_classes = {"duration_seconds": ClockDurationField}


class AudienceMixin:
    """Audience fields shared by injects and prompts, checked for consistency."""

    def _setup_audience(self) -> None:
        self.fields["audience_roles"].queryset = self._roles()
        self.fields["audience_roles"].widget = forms.CheckboxSelectMultiple()
        self.fields["audience_roles"].widget.choices = self.fields["audience_roles"].choices
        self.fields["audience_sectors"] = forms.MultipleChoiceField(
            choices=Sector.choices, required=False, widget=forms.CheckboxSelectMultiple
        )
        # A list of 8 rows grouped by function, not a checkbox per criterion (24 made the
        # add forms thousands of pixels tall); typing a key's first letters jumps to it.
        self.fields["criteria"] = forms.MultipleChoiceField(
            choices=self._criteria_by_group(),
            required=False,
            widget=forms.SelectMultiple(attrs={"size": 8, "class": "criteria-list"}),
            help_text="Rubric criteria this exercises (Ctrl/⌘-click or Shift for several).",
        )

    def _clean_audience(self, data: dict[str, Any]) -> None:
        audience = data.get("audience")
        if audience == Audience.ROLES and not data.get("audience_roles"):
            self.add_error("audience_roles", "Pick at least one role for this audience.")
        if audience == Audience.SECTORS and not data.get("audience_sectors"):
            self.add_error("audience_sectors", "Pick at least one sector for this audience.")
        if audience != Audience.ROLES:
            data["audience_roles"] = []
        if audience != Audience.SECTORS:
            data["audience_sectors"] = []


class InjectForm(AudienceMixin, PartForm):
    class Meta:
        model = Inject
        fields = [
            "key",
            "title",
            "body",
            "sender",
            "channel",
            "channel_label",
            "severity",
            "tlp",
            "audience",
            "audience_roles",
            "audience_sectors",
            "release",
            "offset_seconds",
            "expected_action",
            "criteria",
            "notes",
        ]
        labels = {
            "offset_seconds": "Offset into the stage (mm:ss or h:mm:ss)",
            "sender": "From",
            "channel_label": "Method name, for Other (Briefing, Radio …)",
        }
        field_classes = {"offset_seconds": ClockDurationField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_audience()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._clean_audience(data)
        if data.get("release") == Inject.Release.TIMED and data.get("offset_seconds") is None:
            self.add_error("offset_seconds", "A timed inject needs its offset into the stage.")
        if data.get("release") != Inject.Release.TIMED:
            data["offset_seconds"] = None
        return data


class PromptForm(AudienceMixin, PartForm):
    class Meta:
        model = Prompt
        fields = [
            "key",
            "question",
            "kind",
            "audience",
            "audience_roles",
            "audience_sectors",
            "open_offset_seconds",
            "deadline_seconds",
            "criteria",
        ]
        labels = {
            "open_offset_seconds": "Opens after (mm:ss)",
            "deadline_seconds": "Time to answer (mm:ss)",
        }
        field_classes = {
            "open_offset_seconds": ClockDurationField,
            "deadline_seconds": ClockDurationField,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_audience()
        self.fields["audience"].choices = [c for c in Audience.choices if c[0] != Audience.CONTROL]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._clean_audience(data)
        return data


EFFECT = re.compile(r"^([a-z0-9][a-z0-9-]*)\s*[:=]?\s*([+-]?\d{1,3})$")


def parse_effects(text: str, criteria: set[str]) -> dict[str, int]:
    """``"contain:10, share -5"`` → ``{"contain": 10, "share": -5}``; raises ValidationError
    naming the first piece that is not "criterion points" with a known criterion."""
    effects: dict[str, int] = {}
    for piece in filter(None, (p.strip() for p in re.split(r"[,;\n]", text or ""))):
        match = EFFECT.match(piece.lower())
        if match is None:
            raise forms.ValidationError(f"“{piece}”: write criterion:points, e.g. contain:10.")
        key, points = match[1], int(match[2])
        if key not in criteria:
            raise forms.ValidationError(f"“{key}” is not a criterion of the rubric.")
        if not -100 <= points <= 100:
            raise forms.ValidationError(f"“{piece}”: points are between -100 and 100.")
        effects[key] = points
    return effects


class OptionRowForm(forms.Form):
    """One option of a prompt written in the prompt's own form; a new row without a label
    is left out. The key is made from the label unless typed. A row of an existing option
    carries its id; one whose consequences a row cannot show (several, or to named roles)
    has its consequence cells disabled (``initial["keep_consequences"]``)."""

    option = forms.IntegerField(required=False, widget=forms.HiddenInput)
    label = forms.CharField(max_length=200, required=False, label="Option")
    key = forms.CharField(
        max_length=60,
        required=False,
        validators=[key_validator],
        help_text="Empty: from the label.",
    )
    effects = forms.CharField(
        required=False,
        max_length=500,
        label="Rubric effects",
        help_text="criterion:points, comma-separated (contain:10, share:-5).",
        widget=forms.TextInput(attrs={"placeholder": "contain:10, share:-5"}),
    )
    consequence = forms.CharField(
        max_length=200, required=False, label="Consequence inject (title; empty: none)"
    )
    target = forms.ChoiceField(
        choices=[c for c in Consequence.Target.choices if c[0] != Consequence.Target.ROLES],
        initial=Consequence.Target.DEPENDENTS,
        required=False,
        label="Released to",
    )

    def __init__(self, *args: Any, criteria: set[str], **kwargs: Any) -> None:
        self.criteria = criteria
        super().__init__(*args, **kwargs)
        index = (self.prefix or "").rsplit("-", 1)[-1]
        self.number = int(index) + 1 if index.isdigit() else 0
        self.fields["label"].label = f"Option {self.number}"
        if self.initial.get("keep_consequences"):
            for name in ("consequence", "target"):
                self.fields[name].disabled = True
            self.fields["consequence"].help_text = "Edited under the prompt (several or to roles)."

    def clean_effects(self) -> dict[str, int]:
        return parse_effects(self.cleaned_data["effects"], self.criteria)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("option") and not data.get("label"):
            self.add_error("label", "An option keeps its label; delete it with its Delete button.")
        if data.get("label") and not data.get("key"):
            data["key"] = slug(data["label"], 60) or f"option-{self.number}"
        return data

    def draft(self) -> OptionDraft | None:
        data = self.cleaned_data
        if not data.get("label"):
            return None
        return OptionDraft(
            key=data["key"],
            label=data["label"],
            effects=data["effects"],
            consequence_title=data["consequence"] or "",
            consequence_target=data["target"] or Consequence.Target.DEPENDENTS,
            option_id=data.get("option"),
            keep_consequences=bool(self.initial.get("keep_consequences")),
        )


def option_row_initial(option: Option) -> dict[str, Any]:
    """The row of an existing option: its effects as text, its one consequence (if a row
    can show it: a single one, not to named roles)."""
    row: dict[str, Any] = {
        "option": option.pk,
        "label": option.label,
        "key": option.key,
        # By key: PostgreSQL's jsonb does not keep the order the effects were typed in.
        "effects": ", ".join(f"{key}:{points}" for key, points in sorted(option.effects.items())),
    }
    consequences = list(option.consequences.all())
    if len(consequences) > 1 or any(c.target == Consequence.Target.ROLES for c in consequences):
        row["keep_consequences"] = True
    elif consequences:
        row.update(consequence=consequences[0].inject.title, target=consequences[0].target)
    return row


class BaseOptionRows(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        keys = [d.key for d in self.drafts()]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise forms.ValidationError(f"Two options have the key “{repeated[0]}”.")

    def drafts(self) -> list[OptionDraft]:
        return [d for d in (form.draft() for form in self.forms) if d is not None]


OptionRows = forms.formset_factory(
    OptionRowForm, formset=BaseOptionRows, extra=2, max_num=12, absolute_max=12, validate_max=True
)


class PromptWithOptionsForm(PromptForm):
    """A prompt with its options (and their effects and consequences) in one form: a new
    prompt's rows are empty, an existing prompt's start with a row per option; in the
    "add" form ``option_rows`` grows by a row at a time (``option_row``) without a page
    load."""

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)
        existing = []
        if self.instance.pk:
            options = self.instance.options.prefetch_related("consequences__inject")
            existing = [option_row_initial(option) for option in options]
        self.option_rows = OptionRows(
            data,
            initial=existing,
            prefix=f"{self.prefix}-options" if self.prefix else "options",
            form_kwargs={"criteria": self.criterion_keys()},
        )

    def criterion_keys(self) -> set[str]:
        return {key for key, _ in self._criteria()}

    def is_valid(self) -> bool:
        prompt_ok = super().is_valid()
        return self.option_rows.is_valid() and prompt_ok

    def fields_for_service(self) -> dict[str, Any]:
        return {**super().fields_for_service(), "options": self.option_rows.drafts()}


def option_row(formset: forms.BaseFormSet, index: int) -> forms.Form:
    """The empty row number ``index`` of ``formset`` (the "add another option" button)."""
    return formset.form(
        prefix=formset.add_prefix(index),
        empty_permitted=True,
        use_required_attribute=False,
        **formset.get_form_kwargs(index),
    )


class OptionForm(PartForm):
    """An option, with one points field per rubric criterion for its effects."""

    class Meta:
        model = Option
        fields = ["key", "label", "description"]

    def __init__(self, *args: Any, prompt: Prompt, **kwargs: Any) -> None:
        self.prompt = prompt
        super().__init__(*args, **kwargs)
        effects = self.instance.effects or {}
        for key, label in self._criteria():
            self.fields[f"effect_{key}"] = forms.IntegerField(
                label=f"Points: {label}",
                required=False,
                min_value=-100,
                max_value=100,
                initial=effects.get(key),
            )

    def key_scope(self) -> Any:
        return self.prompt.options.all()

    def fields_for_service(self) -> dict[str, Any]:
        fields = super().fields_for_service()
        fields["effects"] = {
            key: self.cleaned_data[f"effect_{key}"]
            for key, _ in self._criteria()
            if self.cleaned_data.get(f"effect_{key}") not in (None, 0)
        }
        return fields


class ConsequenceForm(PartForm):
    class Meta:
        model = Consequence
        fields = ["option", "inject", "target", "target_roles", "delay_seconds"]
        labels = {"inject": "Releases inject", "delay_seconds": "Delay (mm:ss)"}
        field_classes = {"delay_seconds": ClockDurationField}

    def __init__(self, *args: Any, prompt: Prompt, **kwargs: Any) -> None:
        self.prompt = prompt
        super().__init__(*args, **kwargs)
        self.fields["option"] = forms.ModelChoiceField(
            queryset=prompt.options.all(), label="When this option is chosen"
        )
        self.fields["inject"].queryset = self.scenario.injects.filter(
            release=Inject.Release.CONSEQUENCE
        )
        self.fields["inject"].help_text = "Only injects whose release is “consequence”."
        self.fields["target_roles"].queryset = self._roles()
        self.fields["target_roles"].widget = forms.CheckboxSelectMultiple()
        self.fields["target_roles"].widget.choices = self.fields["target_roles"].choices
        if self.instance.pk:
            self.initial["option"] = self.instance.option_id

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("target") == Consequence.Target.ROLES and not data.get("target_roles"):
            self.add_error("target_roles", "Pick at least one role.")
        if data.get("target") != Consequence.Target.ROLES:
            data["target_roles"] = []
        return data


class TransitionForm(PartForm):
    """A transition with a condition builder (mode, prompt, options, roles, count)."""

    mode = forms.ChoiceField(
        choices=Transition.Mode.choices,
        required=False,
        help_text="Leave the condition (this and below) empty for the default (otherwise) "
        "transition.",
    )
    prompt = forms.ChoiceField(required=False, label="Decision on prompt")
    options = forms.MultipleChoiceField(required=False, label="Chose one of")
    roles = forms.MultipleChoiceField(
        required=False, label="Counting only these roles", help_text="None: every team asked."
    )
    count = forms.IntegerField(required=False, min_value=1, label="N (for “at least N”)")

    class Meta:
        model = Transition
        fields = ["to_stage", "label", "is_default", "order"]
        labels = {
            "to_stage": "Go to stage",
            "is_default": "Default (otherwise) transition",
            "order": "Position (conditions are tried lowest first)",
        }

    def __init__(self, *args: Any, stage: Stage, **kwargs: Any) -> None:
        self.stage = stage
        super().__init__(*args, **kwargs)
        self.fields["to_stage"].queryset = self.scenario.stages.all()
        prompts = self.scenario.prompts.prefetch_related("options")
        self.fields["prompt"].choices = [("", "—")] + [(p.key, p.key) for p in prompts]
        self.fields["options"].choices = [
            (o.key, f"{p.key}: {o.label} ({o.key})") for p in prompts for o in p.options.all()
        ]
        self.fields["roles"].choices = [(r.key, r.label) for r in self._roles()]
        for name in ("options", "roles"):
            self.fields[name].widget = forms.CheckboxSelectMultiple(
                choices=self.fields[name].choices
            )
        self.initial.update(self.instance.condition or {})
        self.fields["order"].required = False
        if self.instance.pk is None:
            self.fields["order"].initial = None
            self.fields["order"].help_text = "Empty: after the existing ones."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not any(data.get(name) for name in ("prompt", "options", "roles", "count")):
            # No condition at all: the "otherwise" way out. The service still refuses a
            # second default, so two unconditional transitions remain an error.
            data["is_default"] = True
        if data.get("is_default"):
            return data
        prompt = self.scenario.prompts.filter(key=data.get("prompt") or "").first()
        if prompt is None:
            self.add_error("prompt", "A conditional transition needs the prompt it reads.")
            return data
        known = set(prompt.options.values_list("key", flat=True))
        chosen = data.get("options") or []
        if not chosen:
            self.add_error("options", "Pick the option(s) that trigger this transition.")
        elif set(chosen) - known:
            self.add_error("options", f"Only options of “{prompt.key}”: {', '.join(known)}.")
        if data.get("mode") == Transition.Mode.AT_LEAST and not data.get("count"):
            self.add_error("count", "“At least N” needs N.")
        return data

    def fields_for_service(self) -> dict[str, Any]:
        fields = super().fields_for_service()
        if fields["order"] is None:
            del fields["order"]  # the service appends it
        data = self.cleaned_data
        if not data["is_default"]:
            condition = {
                "mode": data["mode"] or Transition.Mode.ANY,
                "prompt": data["prompt"],
                "options": data["options"],
                "roles": data["roles"],
            }
            if condition["mode"] == Transition.Mode.AT_LEAST:
                condition["count"] = data["count"]
            fields["condition"] = condition
        return fields


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="A scenario file (.yaml, .yml, .json) or an MSEL (.csv, .xlsx)."
    )
    title = forms.CharField(required=False, max_length=200, help_text="MSEL only: the title.")
    key = forms.CharField(
        required=False, max_length=80, validators=[key_validator], help_text="MSEL only: the key."
    )
    rubric = forms.ModelChoiceField(
        queryset=Rubric.objects.all(), required=False, help_text="MSEL only: the rubric."
    )
    time_model = forms.ChoiceField(
        required=False,
        label="Times in the MSEL are",
        choices=[("", f"{TIME_MODELS[DEFAULT_TIME_MODEL]} (default)")]
        + [(name, text) for name, text in TIME_MODELS.items() if name != DEFAULT_TIME_MODEL],
        help_text="MSEL only. Cascade's own export says its model in its time column.",
    )
    start = forms.CharField(
        required=False,
        max_length=8,
        label="Exercise start (clock time)",
        help_text="MSEL with clock times only, H:MM; default: the earliest time in the sheet.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("file")
        # Size and type are checked by read_file, with the CLI's messages.
        if upload and upload.name.lower().endswith(MSEL_SUFFIXES):
            for name in ("title", "key"):
                if not data.get(name):
                    self.add_error(name, "An MSEL import needs a title and a key.")
        return data

    def msel_options(self) -> MselOptions:
        data = self.cleaned_data
        return MselOptions(
            title=data["title"],
            key=data["key"],
            rubric_key=data["rubric"].key if data["rubric"] else None,
            time_model=data["time_model"] or None,
            start=data["start"],
        )


class GridInjectForm(PartForm):
    """One row of the MSEL grid, edited in place: what planners change most."""

    class Meta:
        model = Inject
        fields = ["title", "release", "offset_seconds", "channel", "tlp", "severity"]
        labels = {"offset_seconds": "Offset (mm:ss)", "tlp": "TLP"}
        field_classes = {"offset_seconds": ClockDurationField}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("release") == Inject.Release.TIMED and data.get("offset_seconds") is None:
            self.add_error("offset_seconds", "A timed inject needs its offset into the stage.")
        if data.get("release") != Inject.Release.TIMED:
            data["offset_seconds"] = None
        return data


class GridAddForm(GridInjectForm):
    """A new grid row: its stage and the grid's cells; the key is made from the title."""

    class Meta(GridInjectForm.Meta):
        fields = ["stage", *GridInjectForm.Meta.fields]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = self.scenario.stages.all()
        self.fields["release"].initial = Inject.Release.TIMED

    def fields_for_service(self) -> dict[str, Any]:
        fields = super().fields_for_service()
        taken = self.scenario.injects.values_list("key", flat=True)
        fields["key"] = unique(slug(fields["title"], 55) or "inject", taken)
        return fields
