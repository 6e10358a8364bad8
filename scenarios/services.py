"""Scenario authoring services: the only code that writes scenarios from the editor.

Every service refuses to touch a published scenario (published versions are
immutable; ``scenario_new_draft`` copies one into a new draft version). Services
take keyword-only arguments; ``fields`` dicts come from validated forms and may
hold many-to-many values (lists of roles), which are assigned after saving.

Every editing service is ``@undoable``: it snapshots the draft first, in its own
transaction, and ``scenario_undo`` puts the latest snapshot back.

``role_view`` is the pure "what does role R see in stage S" used by the preview.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import markdown
import nh3
from django.core import serializers
from django.db import models, transaction
from django.db.models import Max, ProtectedError
from django.utils import timezone

from scenarios import panel
from scenarios.formats import (
    dump_document,
    export_document,
    validate_document,
)
from scenarios.formats.msel import msel_export
from scenarios.formats.msel_read import slug, unique
from scenarios.formats.warnings import scenario_warnings as document_warnings
from scenarios.models import (
    Audience,
    Consequence,
    DraftSnapshot,
    Inject,
    Option,
    Prompt,
    Role,
    Scenario,
    Stage,
    Transition,
)


class AuthoringError(Exception):
    """A change the editor must refuse, with a message for the author."""


class PublishError(AuthoringError):
    def __init__(self, errors: list) -> None:
        super().__init__(f"{len(errors)} problem(s) must be fixed before publishing.")
        self.errors = errors


def ensure_draft(scenario: Scenario) -> None:
    if scenario.is_published:
        raise AuthoringError("A published scenario cannot be changed; edit it as a new draft.")


# --- undo: a snapshot of the draft before each editing service ----------------------

UNDO_DEPTH = 20  # snapshots kept per draft; older ones are dropped
VERBS = {"create": "add", "update": "edit"}
Service = TypeVar("Service", bound=Callable[..., Any])


def undoable(service: Service) -> Service:
    """Run ``service`` in a transaction after snapshotting its draft, so "Undo" can put
    the draft back. A refused change rolls its snapshot back with it."""
    noun, _, verb = service.__name__.rpartition("_")
    label = f"{VERBS.get(verb, verb)} {noun.replace('_', ' ')}"

    @functools.wraps(service)
    def wrapper(**kwargs: Any) -> Any:
        scenario = _scenario_of(kwargs)
        with transaction.atomic():
            ensure_draft(scenario)
            _snapshot(scenario, label)
            return service(**kwargs)

    return wrapper  # type: ignore[return-value]


def _scenario_of(kwargs: dict[str, Any]) -> Scenario:
    for value in kwargs.values():
        if isinstance(value, Scenario):
            return value
        if isinstance(value, Option):
            return value.prompt.scenario
        if isinstance(value, Consequence):
            return value.option.prompt.scenario
        if isinstance(value, Role | Stage | Inject | Prompt | Transition):
            return value.scenario
    raise TypeError("An undoable service names its scenario or one of its parts.")


SNAPSHOT_DETAILS = ("title", "summary", "sectors", "rubric_id", "start_stage_id")


def _parts(scenario: Scenario) -> list[models.Model]:
    """Every row of a draft's contents, parents before children."""
    return [
        *scenario.roles.all(),
        *scenario.stages.all(),
        *scenario.injects.all(),
        *scenario.prompts.all(),
        *Option.objects.filter(prompt__scenario=scenario),
        *Consequence.objects.filter(option__prompt__scenario=scenario),
        *scenario.transitions.all(),
    ]


def _snapshot(scenario: Scenario, label: str) -> None:
    DraftSnapshot.objects.create(
        scenario=scenario,
        label=label,
        rows=serializers.serialize("json", _parts(scenario)),
        details={name: getattr(scenario, name) for name in SNAPSHOT_DETAILS},
    )
    stale = scenario.snapshots.values_list("pk", flat=True)[UNDO_DEPTH:]
    DraftSnapshot.objects.filter(pk__in=list(stale)).delete()


def last_change(scenario: Scenario) -> str | None:
    """What "Undo" would take back ("add prompt"), or None when there is nothing."""
    return scenario.snapshots.values_list("label", flat=True).first()


@transaction.atomic
def scenario_undo(*, scenario: Scenario) -> str:
    """Put the draft back as it was before its last change; returns that change's label.

    Refused when there is nothing to undo, and for a draft exercises run (their teams
    and decisions point at its rows, which a restore replaces).
    """
    ensure_draft(scenario)
    snapshot = scenario.snapshots.select_for_update().first()
    if snapshot is None:
        raise AuthoringError("Nothing to undo.")
    if scenario.exercises.exists():
        raise AuthoringError("Exercises use this draft; its changes cannot be undone.")
    scenario.stages.all().delete()
    scenario.roles.all().delete()
    restored = list(serializers.deserialize("json", snapshot.rows))
    links = [(row.object, row.m2m_data or {}) for row in restored]
    for row in restored:  # every row first: links may point at rows restored later
        row.save(save_m2m=False)
    for obj, m2m in links:
        for name, pks in m2m.items():
            getattr(obj, name).set(pks)
    for name, value in snapshot.details.items():
        setattr(scenario, name, value)
    scenario.save()
    snapshot.delete()
    return snapshot.label


# --- scenario ---------------------------------------------------------------------


def scenario_create(*, created_by: Any, fields: dict[str, Any]) -> Scenario:
    return Scenario.objects.create(created_by=created_by, **fields)


@undoable
def scenario_update(*, scenario: Scenario, fields: dict[str, Any]) -> Scenario:
    ensure_draft(scenario)
    return _save(scenario, fields)


def scenario_delete(*, scenario: Scenario) -> None:
    ensure_draft(scenario)
    try:
        scenario.delete()
    except ProtectedError as exc:
        raise AuthoringError("Exercises use this draft; it cannot be deleted.") from exc


def scenario_problems(scenario: Scenario) -> list:
    """What the file-format validator says about the scenario as it stands."""
    rubric = scenario.rubric
    criteria = set(rubric.criteria.values_list("key", flat=True)) if rubric else None
    return validate_document(export_document(scenario), criteria=criteria)


def scenario_warnings(scenario: Scenario) -> list[str]:
    """What would run wrong (near-duplicate roles, audiences reaching nobody, ...), then
    what the checks other apps registered say (``scenarios.panel``)."""
    return [*document_warnings(export_document(scenario)), *panel.extra_warnings(scenario)]


def scenario_export(*, scenario: Scenario, fmt: str) -> str | bytes:
    """The scenario as a file: yaml or json (scenario format), csv or xlsx (MSEL)."""
    if fmt in ("csv", "xlsx"):
        return msel_export(scenario, fmt)
    return dump_document(export_document(scenario), fmt=fmt)


@transaction.atomic
def scenario_publish(*, scenario: Scenario) -> Scenario:
    """Publish a valid draft; raises ``PublishError`` listing the problems otherwise."""
    ensure_draft(scenario)
    errors = scenario_problems(scenario)
    if errors:
        raise PublishError(errors)
    scenario.status = Scenario.Status.PUBLISHED
    scenario.published_at = timezone.now()
    scenario.save(update_fields=["status", "published_at", "updated_at"])
    scenario.snapshots.all().delete()  # a published version is never changed, nor undone
    return scenario


def scenario_new_draft(*, scenario: Scenario, created_by: Any) -> Scenario:
    """Copy a published scenario into a new draft version (version after the latest)."""
    if not scenario.is_published:
        raise AuthoringError("Only a published scenario is edited as a new draft version.")
    with transaction.atomic():
        draft = Scenario.objects.create_next_version(
            key=scenario.key,
            title=scenario.title,
            summary=scenario.summary,
            sectors=list(scenario.sectors),
            rubric=scenario.rubric,
            previous_version=scenario,
            created_by=created_by,
        )
        _copy_contents(scenario, draft)
    return draft


def scenario_duplicate(*, scenario: Scenario, created_by: Any) -> Scenario:
    """A new scenario (key "<key>-copy", version 1, draft) with the contents of this one."""
    taken = set(Scenario.objects.values_list("key", flat=True).distinct())
    with transaction.atomic():
        copy = Scenario.objects.create_next_version(
            key=_copy_key(scenario.key, taken),
            title=f"{scenario.title} (copy)"[:200],
            summary=scenario.summary,
            sectors=list(scenario.sectors),
            rubric=scenario.rubric,
            created_by=created_by,
        )
        _copy_contents(scenario, copy)
    return copy


def _copy_contents(source: Scenario, draft: Scenario) -> None:
    roles = {r.pk: _clone(r, scenario=draft) for r in source.roles.all()}
    for role in source.roles.prefetch_related("depends_on"):
        roles[role.pk].depends_on.set([roles[d.pk] for d in role.depends_on.all()])
    stages = {s.pk: _clone(s, scenario=draft) for s in source.stages.all()}
    injects = {}
    for inject in source.injects.prefetch_related("audience_roles"):
        injects[inject.pk] = _clone(inject, scenario=draft, stage=stages[inject.stage_id])
        injects[inject.pk].audience_roles.set([roles[r.pk] for r in inject.audience_roles.all()])
    for prompt in source.prompts.prefetch_related("audience_roles", "options__consequences"):
        copy = _clone(prompt, scenario=draft, stage=stages[prompt.stage_id])
        copy.audience_roles.set([roles[r.pk] for r in prompt.audience_roles.all()])
        for option in prompt.options.all():
            option_copy = _clone(option, prompt=copy)
            for consequence in option.consequences.prefetch_related("target_roles"):
                c = _clone(consequence, option=option_copy, inject=injects[consequence.inject_id])
                c.target_roles.set([roles[r.pk] for r in consequence.target_roles.all()])
    for t in source.transitions.all():
        _clone(
            t, scenario=draft, from_stage=stages[t.from_stage_id], to_stage=stages[t.to_stage_id]
        )
    if source.start_stage_id:
        draft.start_stage = stages[source.start_stage_id]
        draft.save(update_fields=["start_stage"])


def _clone(instance: models.Model, **overrides: Any) -> Any:
    """A saved copy of ``instance`` with new parents; many-to-many values are not copied."""
    values = {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if not f.primary_key
    }
    for name, value in overrides.items():
        values.pop(f"{name}_id", None)
        values[name] = value
    return type(instance).objects.create(**values)


# --- parts of a scenario ----------------------------------------------------------


@transaction.atomic
def _save(instance: models.Model, fields: dict[str, Any]) -> Any:
    """Set plain fields, save, then assign many-to-many ones (they need a primary key)."""
    many = {f.name for f in instance._meta.many_to_many}
    for name, value in fields.items():
        if name not in many:
            setattr(instance, name, value)
    instance.save()
    for name in many & fields.keys():
        getattr(instance, name).set(fields[name])
    return instance


def _next_order(queryset: models.QuerySet) -> int:
    return (queryset.aggregate(m=Max("order"))["m"] or 0) + 1 if queryset.exists() else 0


@undoable
@transaction.atomic
def role_create(*, scenario: Scenario, fields: dict[str, Any]) -> Role:
    ensure_draft(scenario)
    role = _save(Role(scenario=scenario, order=_next_order(scenario.roles)), fields)
    _sync_sectors(scenario)
    return role


@undoable
@transaction.atomic
def role_update(*, role: Role, fields: dict[str, Any]) -> Role:
    ensure_draft(role.scenario)
    old_key = role.key
    _save(role, fields)
    _rename_in_conditions(role.scenario, "roles", old_key, role.key)
    _sync_sectors(role.scenario)
    return role


@undoable
@transaction.atomic
def role_delete(*, role: Role) -> None:
    ensure_draft(role.scenario)
    role.delete()
    _sync_sectors(role.scenario)


def _rename_in_conditions(
    scenario: Scenario, name: str, old: str, new: str, *, prompt: str | None = None
) -> None:
    """Keep transition conditions pointing at a renamed role, prompt or option.

    ``name`` is the condition field ("prompt", "roles" or "options"); option keys are
    only unique within their prompt, so an option rename only touches that prompt's.
    """
    if old == new:
        return
    for transition in scenario.transitions.exclude(condition={}):
        condition = transition.condition
        if prompt is not None and condition.get("prompt") != prompt:
            continue
        value = condition.get(name)
        if isinstance(value, list) and old in value:
            condition[name] = [new if item == old else item for item in value]
        elif value == old:
            condition[name] = new
        else:
            continue
        transition.save(update_fields=["condition"])


def _sync_sectors(scenario: Scenario) -> None:
    """The scenario's sectors are those of its roles, in role order."""
    sectors = list(dict.fromkeys(scenario.roles.values_list("sector", flat=True)))
    Scenario.objects.filter(pk=scenario.pk).update(sectors=sectors)
    scenario.sectors = sectors


@undoable
@transaction.atomic
def stage_create(*, scenario: Scenario, fields: dict[str, Any]) -> Stage:
    """Add a stage; the first stage of a scenario becomes its start."""
    ensure_draft(scenario)
    stage = _save(Stage(scenario=scenario, order=_next_order(scenario.stages)), fields)
    if scenario.start_stage_id is None:
        scenario.start_stage = stage
        scenario.save(update_fields=["start_stage", "updated_at"])
    return stage


@undoable
def stage_update(*, stage: Stage, fields: dict[str, Any]) -> Stage:
    ensure_draft(stage.scenario)
    return _save(stage, fields)


@undoable
def stage_delete(*, stage: Stage) -> None:
    ensure_draft(stage.scenario)
    stage.delete()


@undoable
def inject_create(*, stage: Stage, fields: dict[str, Any]) -> Inject:
    ensure_draft(stage.scenario)
    order = _next_order(stage.injects)
    return _save(Inject(scenario=stage.scenario, stage=stage, order=order), fields)


@undoable
def inject_update(*, inject: Inject, fields: dict[str, Any]) -> Inject:
    ensure_draft(inject.scenario)
    return _save(inject, fields)


@undoable
def inject_delete(*, inject: Inject) -> None:
    ensure_draft(inject.scenario)
    inject.delete()


@dataclass(frozen=True)
class OptionDraft:
    """An option written with its prompt: key, label, rubric effects, and optionally
    the title of the consequence inject choosing it releases (and to whom)."""

    key: str
    label: str
    effects: dict[str, int] = field(default_factory=dict)
    consequence_title: str = ""
    consequence_target: str = Consequence.Target.DEPENDENTS
    option_id: int | None = None  # the option this row edits; None: a new option
    keep_consequences: bool = False  # consequences not written in the row: left as they are


@undoable
def prompt_create(
    *, stage: Stage, fields: dict[str, Any], options: Sequence[OptionDraft] = ()
) -> Prompt:
    """Add a prompt with its options; an option's consequence becomes a new inject of
    the stage, released as a consequence, and the consequence that releases it."""
    order = _next_order(stage.prompts)
    prompt = _save(Prompt(scenario=stage.scenario, stage=stage, order=order), fields)
    for draft in options:
        _add_option(prompt, draft)
    return prompt


def _add_option(prompt: Prompt, draft: OptionDraft) -> Option:
    """A new option after the prompt's others, with its consequence inject if it has one."""
    if prompt.options.filter(key=draft.key).exists():
        raise AuthoringError(f"The prompt has an option “{draft.key}” already.")
    option = Option.objects.create(
        prompt=prompt,
        key=draft.key,
        label=draft.label,
        effects=draft.effects,
        order=_next_order(prompt.options),
    )
    if draft.consequence_title:
        _add_consequence(option, draft)
    return option


def _add_consequence(option: Option, draft: OptionDraft) -> Consequence:
    """A consequence inject in the prompt's stage (key ``<prompt>-<option>``), released as
    a consequence, and the consequence of ``option`` that releases it."""
    prompt = option.prompt
    taken = set(Inject.objects.filter(scenario=prompt.scenario).values_list("key", flat=True))
    inject = Inject.objects.create(
        scenario=prompt.scenario,
        stage=prompt.stage,
        key=unique(slug(f"{prompt.key}-{option.key}", 60), taken),
        title=draft.consequence_title,
        release=Inject.Release.CONSEQUENCE,
        order=_next_order(prompt.stage.injects),
    )
    return Consequence.objects.create(option=option, inject=inject, target=draft.consequence_target)


@undoable
@transaction.atomic
def prompt_update(
    *, prompt: Prompt, fields: dict[str, Any], options: Sequence[OptionDraft] | None = None
) -> Prompt:
    """Save the prompt and, given ``options`` (its rows), its options: a row naming an
    option edits it (label, key, effects, and its one consequence unless the row keeps
    them), a row naming none adds one; options without a row stay as they are."""
    ensure_draft(prompt.scenario)
    old_key = prompt.key
    _save(prompt, fields)
    _rename_in_conditions(prompt.scenario, "prompt", old_key, prompt.key)
    for draft in options or ():
        if draft.option_id is None:
            _add_option(prompt, draft)
        else:
            _edit_option(prompt, draft)
    return prompt


def _edit_option(prompt: Prompt, draft: OptionDraft) -> None:
    option = prompt.options.filter(pk=draft.option_id).first()
    if option is None:
        raise AuthoringError("An option row names an option of another prompt.")
    if draft.key != option.key and prompt.options.filter(key=draft.key).exists():
        # Swapping two keys in one save would rewrite the conditions naming them twice.
        raise AuthoringError(f"“{draft.key}” is another option's key: rename in two saves.")
    old_key = option.key
    _save(option, {"key": draft.key, "label": draft.label, "effects": draft.effects})
    _rename_in_conditions(prompt.scenario, "options", old_key, option.key, prompt=prompt.key)
    if draft.keep_consequences:
        return
    consequence = option.consequences.select_related("inject").first()
    if consequence is None:
        if draft.consequence_title:
            _add_consequence(option, draft)
    elif draft.consequence_title:
        _save(consequence.inject, {"title": draft.consequence_title})
        _save(consequence, {"target": draft.consequence_target})
    else:  # the inject stays (it may have a body by now); the panel reports it unreleased
        consequence.delete()


@undoable
def prompt_delete(*, prompt: Prompt) -> None:
    ensure_draft(prompt.scenario)
    prompt.delete()


@undoable
def option_create(*, prompt: Prompt, fields: dict[str, Any]) -> Option:
    ensure_draft(prompt.scenario)
    return _save(Option(prompt=prompt, order=_next_order(prompt.options)), fields)


@undoable
@transaction.atomic
def option_update(*, option: Option, fields: dict[str, Any]) -> Option:
    prompt = option.prompt
    ensure_draft(prompt.scenario)
    old_key = option.key
    _save(option, fields)
    _rename_in_conditions(prompt.scenario, "options", old_key, option.key, prompt=prompt.key)
    return option


@undoable
def option_delete(*, option: Option) -> None:
    ensure_draft(option.prompt.scenario)
    option.delete()


@undoable
def consequence_create(*, option: Option, fields: dict[str, Any]) -> Consequence:
    ensure_draft(option.prompt.scenario)
    order = _next_order(option.consequences)
    return _save(Consequence(option=option, order=order), fields)


@undoable
def consequence_update(*, consequence: Consequence, fields: dict[str, Any]) -> Consequence:
    ensure_draft(consequence.option.prompt.scenario)
    return _save(consequence, fields)


@undoable
def consequence_delete(*, consequence: Consequence) -> None:
    ensure_draft(consequence.option.prompt.scenario)
    consequence.delete()


@undoable
@transaction.atomic
def transition_create(*, stage: Stage, fields: dict[str, Any]) -> Transition:
    ensure_draft(stage.scenario)
    transition = Transition(
        scenario=stage.scenario, from_stage=stage, order=_next_order(stage.transitions)
    )
    return _save_transition(transition, fields)


@undoable
@transaction.atomic
def transition_update(*, transition: Transition, fields: dict[str, Any]) -> Transition:
    ensure_draft(transition.scenario)
    return _save_transition(transition, fields)


@undoable
def transition_delete(*, transition: Transition) -> None:
    ensure_draft(transition.scenario)
    transition.delete()


def _save_transition(transition: Transition, fields: dict[str, Any]) -> Transition:
    """Exactly one default per stage; a default transition carries no condition."""
    fields = dict(fields)
    if fields.get("is_default"):
        fields["condition"] = {}
        others = transition.from_stage.transitions.filter(is_default=True)
        if others.exclude(pk=transition.pk).exists():
            raise AuthoringError(
                f"Stage “{transition.from_stage.key}” already has a default transition; "
                "make this one conditional or edit the default."
            )
    return _save(transition, fields)


# --- reading ----------------------------------------------------------------------

MARKDOWN_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "code", "pre", "blockquote"}
MARKDOWN_TAGS |= {"h3", "h4", "h5", "hr", "table", "thead", "tbody", "tr", "th", "td"}


# --- reordering -------------------------------------------------------------------------


def _siblings(item: Stage | Inject | Prompt) -> list[Any]:
    if isinstance(item, Stage):
        return list(item.scenario.stages.all())
    return list(type(item).objects.filter(stage=item.stage))


@undoable
@transaction.atomic
def part_move(*, item: Stage | Inject | Prompt, step: int) -> None:
    """Move a stage, inject or prompt one place up (``step`` -1) or down (+1) among its
    siblings, in the order the editor shows them; at either end nothing changes."""
    ensure_draft(item.scenario)
    siblings = _siblings(item)
    position = next(i for i, sibling in enumerate(siblings) if sibling.pk == item.pk)
    target = position + step
    if not 0 <= target < len(siblings):
        return
    siblings[position], siblings[target] = siblings[target], siblings[position]
    for order, sibling in enumerate(siblings):
        if sibling.order != order:
            sibling.order = order
            sibling.save(update_fields=["order"])


@undoable
def part_reorder(*, item: Stage | Inject | Prompt, keys: Sequence[str]) -> None:
    """Put ``item`` and its siblings (a scenario's stages, a stage's injects or prompts)
    in the order of ``keys``, which must name each of them once (a drag and drop)."""
    siblings = {sibling.key: sibling for sibling in _siblings(item)}
    if sorted(keys) != sorted(siblings):
        raise AuthoringError("The list changed meanwhile; reload the page and drag again.")
    for order, key in enumerate(keys):
        if siblings[key].order != order:
            siblings[key].order = order
            siblings[key].save(update_fields=["order"])


# --- duplicates: a copy beside the original, with "-copy" keys -----------------------


def _copy_key(key: str, taken: set[str]) -> str:
    candidate, number = f"{key[:55]}-copy", 2
    while candidate in taken:
        candidate = f"{key[:52]}-copy{number}"
        number += 1
    return candidate


def _inject_copy(inject: Inject, stage: Stage) -> Inject:
    taken = set(Inject.objects.filter(scenario=stage.scenario).values_list("key", flat=True))
    copy = _clone(inject, stage=stage, key=_copy_key(inject.key, taken))
    copy.audience_roles.set(inject.audience_roles.all())
    return copy


def _prompt_copy(prompt: Prompt, stage: Stage, injects: dict[int, Inject]) -> Prompt:
    """A copy of ``prompt`` with its options; consequences follow ``injects`` (old pk → copy)."""
    taken = set(Prompt.objects.filter(scenario=stage.scenario).values_list("key", flat=True))
    copy = _clone(prompt, stage=stage, key=_copy_key(prompt.key, taken))
    copy.audience_roles.set(prompt.audience_roles.all())
    for option in prompt.options.all():
        option_copy = _clone(option, prompt=copy)
        for consequence in option.consequences.all():
            inject = injects.get(consequence.inject_id, consequence.inject)
            _clone(consequence, option=option_copy, inject=inject).target_roles.set(
                consequence.target_roles.all()
            )
    return copy


@undoable
@transaction.atomic
def inject_duplicate(*, inject: Inject) -> Inject:
    """A copy of ``inject`` in the same stage, right after it in order."""
    ensure_draft(inject.scenario)
    return _inject_copy(inject, inject.stage)


@undoable
@transaction.atomic
def prompt_duplicate(*, prompt: Prompt) -> Prompt:
    """A copy of ``prompt`` with its options and consequences, in the same stage."""
    ensure_draft(prompt.scenario)
    return _prompt_copy(prompt, prompt.stage, {})


@undoable
@transaction.atomic
def stage_duplicate(*, stage: Stage) -> Stage:
    """A copy of ``stage`` last in order: its injects, prompts (options, consequences to
    the copied injects) and outgoing transitions (conditions naming the copied prompts).
    Nothing leads to it yet: the validation panel says so until a transition does."""
    scenario = stage.scenario
    ensure_draft(scenario)
    taken = set(scenario.stages.values_list("key", flat=True))
    copy = _clone(
        stage,
        key=_copy_key(stage.key, taken),
        title=f"{stage.title} (copy)"[:200],
        order=_next_order(scenario.stages.all()),
    )
    injects = {inject.pk: _inject_copy(inject, copy) for inject in stage.injects.all()}
    prompts = {p.key: _prompt_copy(p, copy, injects).key for p in stage.prompts.all()}
    for transition in stage.transitions.all():
        condition = dict(transition.condition)
        if condition.get("prompt") in prompts:
            condition["prompt"] = prompts[condition["prompt"]]
        _clone(transition, from_stage=copy, condition=condition)
    return copy


MARKDOWN_EXTENSIONS = ["tables", "sane_lists"]


# Every player's room renders the same briefing and inject bodies: at the start of an
# exercise a thousand pages render the same few texts, and Markdown (a new parser per call)
# was a tenth of a room page's CPU. The result depends on the text alone.
@functools.lru_cache(maxsize=512)
def render_markdown(text: str) -> str:
    """Author markdown as safe HTML: Markdown renders, nh3 strips anything unsafe."""
    html = markdown.markdown(text or "", extensions=MARKDOWN_EXTENSIONS)
    return nh3.clean(html, tags=MARKDOWN_TAGS, link_rel="noopener noreferrer")


def prepare_markdown() -> None:
    """Build a parser once, as a server process starts: the first one looks its extensions
    up among every installed package's entry points and compiles their patterns (~6 ms in
    a server process, 20 ms with a cold disk cache; the next ones ~0.1 ms), which the
    process's first page or released inject would pay (bench/README.md, session 16)."""
    markdown.Markdown(extensions=MARKDOWN_EXTENSIONS)


def condition_summary(transition: Transition) -> str:
    """A short human reading of a transition's condition, e.g. "any of cloud: isolate"."""
    if transition.is_default:
        return "otherwise"
    condition = transition.condition or {}
    mode = condition.get("mode", "any")
    who = ", ".join(condition.get("roles") or []) or "teams"
    if mode == "at_least":
        mode = f"at least {condition.get('count', 1)}"
    options = " or ".join(condition.get("options") or []) or "?"
    return f"{mode} of {who} chose {options} on {condition.get('prompt', '?')}"


def addressed_to(item: Inject | Prompt, role: Role) -> bool:
    """Whether an inject or prompt reaches ``role`` by its audience (control: never)."""
    if item.audience == Audience.ALL:
        return True
    if item.audience == Audience.ROLES:
        return any(r.pk == role.pk for r in item.audience_roles.all())
    if item.audience == Audience.SECTORS:
        return role.sector in (item.audience_sectors or [])
    return False


@dataclass
class RoleStageView:
    stage: Stage
    injects: list[Inject]
    prompts: list[Prompt]
    possible_consequences: list[Consequence]
    next_stages: list[tuple[str, Stage]] = field(default_factory=list)


def role_view(*, role: Role, stage: Stage) -> RoleStageView:
    """What ``role`` sees in ``stage``: its briefing, the injects and prompts addressed
    to it, the consequence injects that could reach it, and where the story may go next."""
    injects = [
        i
        for i in stage.injects.prefetch_related("audience_roles")
        if i.release != Inject.Release.CONSEQUENCE and addressed_to(i, role)
    ]
    prompts = list(
        stage.prompts.prefetch_related(
            "audience_roles", "options__consequences__inject", "options__consequences__target_roles"
        )
    )
    mine = [p for p in prompts if addressed_to(p, role)]
    consequences = [
        c
        for p in prompts
        for o in p.options.all()
        for c in o.consequences.all()
        if _consequence_may_reach(c, p, role)
    ]
    following = [
        (t.label or condition_summary(t), t.to_stage)
        for t in stage.transitions.select_related("to_stage")
    ]
    return RoleStageView(stage, injects, mine, consequences, following)


def _consequence_may_reach(consequence: Consequence, prompt: Prompt, role: Role) -> bool:
    target = consequence.target
    if target == Consequence.Target.ALL:
        return True
    if target == Consequence.Target.ROLES:
        return any(r.pk == role.pk for r in consequence.target_roles.all())
    if target == Consequence.Target.CHOOSER:
        return addressed_to(prompt, role)
    # Dependents: the role depends on some role the prompt was put to.
    choosers = [r for r in role.depends_on.all() if addressed_to(prompt, r)]
    return bool(choosers)
