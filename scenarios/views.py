"""Scenario editor views: access helper → form → service → render.

Editing forms post with htmx and get back the section they belong to, plus
out-of-band swaps of the validation panel, the graph and the sections showing what
changed. "Add" forms are built only when opened (htmx GET), so a big scenario's editor
stays light. Without JavaScript the same URLs work as plain pages and redirects.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from config.limits import MAX_IMPORT_BYTES
from scenarios import services as svc
from scenarios.access import require_author, scenario_for_author
from scenarios.formats import FormatError, ScenarioFormatError
from scenarios.formats.files import import_reading, preview, read_file
from scenarios.forms import (
    ConsequenceForm,
    GridAddForm,
    GridInjectForm,
    ImportForm,
    InjectForm,
    OptionForm,
    PromptWithOptionsForm,
    RoleForm,
    ScenarioCreateForm,
    ScenarioDetailsForm,
    StageForm,
    TransitionForm,
    option_row,
)
from scenarios.models import Consequence, Inject, Option, Prompt, Role, Scenario, Stage, Transition
from scenarios.svg_graph import scenario_cascade_svg, scenario_graph_svg

EDITOR = "scenarios/editor.html"
IMPORT_PREVIEW_SECONDS = 30 * 60


# --- list, create, import, export -------------------------------------------------


@login_required
@require_GET
def scenario_list(request: HttpRequest) -> HttpResponse:
    require_author(request.user)
    groups: dict[str, list[Scenario]] = {}
    for scenario in Scenario.objects.order_by("key", "-version"):
        groups.setdefault(scenario.key, []).append(scenario)
    return render(request, "scenarios/list.html", {"groups": list(groups.values())})


@login_required
def scenario_create(request: HttpRequest) -> HttpResponse:
    require_author(request.user)
    form = ScenarioCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        scenario = svc.scenario_create(created_by=request.user, fields=form.cleaned_data)
        messages.success(request, f"Draft “{scenario.title}” created. Add roles and stages.")
        return redirect("scenarios:scenario_detail", code=scenario.code)
    return render(request, "scenarios/create.html", {"form": form})


@login_required
def scenario_import(request: HttpRequest) -> HttpResponse:
    """Upload → preview (nothing written) → confirm → import.

    The preview keeps the upload in the cache for ``IMPORT_PREVIEW_SECONDS`` under a
    token bound to the user; confirming reads it again through the same path.
    """
    require_author(request.user)
    if request.method == "POST" and "token" in request.POST:
        return _import_confirmed(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method != "POST" or not form.is_valid():
        return render(request, "scenarios/import.html", {"form": form})
    upload = form.cleaned_data["file"]
    data = upload.read(MAX_IMPORT_BYTES + 1)
    options = form.msel_options()
    reading = read_file(data, filename=upload.name, msel=options)
    context: dict[str, Any] = {"form": form, "reading": reading, "errors": reading.errors}
    if reading.errors:
        return render(request, "scenarios/import.html", context, status=400)
    token = secrets.token_urlsafe(16)
    cache.set(_preview_key(request, token), (upload.name, data, options), IMPORT_PREVIEW_SECONDS)
    roles, stages = preview(reading.doc)
    context |= {"token": token, "roles": roles, "stages": stages}
    return render(request, "scenarios/import.html", context)


def _import_confirmed(request: HttpRequest) -> HttpResponse:
    stored = cache.get(_preview_key(request, request.POST["token"]))
    if stored is None:
        messages.error(request, "The preview has expired; upload the file again.")
        return redirect("scenarios:scenario_import")
    filename, data, options = stored
    reading = read_file(data, filename=filename, msel=options)
    try:
        scenario, created = import_reading(reading, created_by=request.user)
    except ScenarioFormatError as exc:  # e.g. the rubric was deleted since the preview
        context = {"form": ImportForm(), "reading": reading, "errors": exc.errors}
        return render(request, "scenarios/import.html", context, status=400)
    cache.delete(_preview_key(request, request.POST["token"]))
    if created:
        messages.success(request, f"Imported “{scenario.title}” (v{scenario.version}).")
    else:
        messages.info(request, f"v{scenario.version} already has this content; nothing new.")
    return redirect("scenarios:scenario_detail", code=scenario.code)


def _preview_key(request: HttpRequest, token: str) -> str:
    return f"scenario-import:{request.user.pk}:{token[:64]}"


EXPORTS = {
    "yaml": ("application/yaml", "yaml"),
    "json": ("application/json", "json"),
    "csv": ("text/csv", "msel.csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "msel.xlsx"),
}


@login_required
@require_GET
def scenario_export(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    scenario = scenario_for_author(request.user, code)
    if fmt not in EXPORTS:
        raise Http404("Unknown export format.")
    content_type, suffix = EXPORTS[fmt]
    response = HttpResponse(
        svc.scenario_export(scenario=scenario, fmt=fmt), content_type=content_type
    )
    filename = f"{scenario.key}-v{scenario.version}.{suffix}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- the editor page ----------------------------------------------------------------


@dataclass
class StageBlock:
    stage: Stage
    briefing_html: str
    transitions: list[tuple[Transition, str]]


@dataclass
class AddForm:
    """An "add" form of the editor, where it posts, and what saving it means."""

    form: Any
    save: Callable[[dict[str, Any]], Any]
    url: str
    section: str
    noun: str
    rows_url: str = ""  # where a prompt's form gets one more option row

    @property
    def target(self) -> str:
        return f"#section-{self.section}"


def _add_form(scenario: Scenario, kind: str, parent: str, data: Any = None) -> AddForm:
    """The form adding a ``kind`` to ``scenario`` (under the stage or prompt ``parent``)."""
    code = scenario.code

    def make(cls: type, prefix: str, **kwargs: Any) -> Any:
        return cls(data, prefix=prefix, scenario=scenario, **kwargs)

    if kind == "role":
        form = make(RoleForm, "role")
        save = partial(svc.role_create, scenario=scenario)
        return AddForm(form, save, reverse("scenarios:role_create", args=[code]), "roles", kind)
    if kind == "stage":
        form = make(StageForm, "stage")
        save = partial(svc.stage_create, scenario=scenario)
        return AddForm(form, save, reverse("scenarios:stage_create", args=[code]), "stages", kind)
    if kind in ("inject", "prompt", "transition"):
        stage = get_object_or_404(Stage, scenario=scenario, key=parent)
        extra = {"stage": stage} if kind == "transition" else {}
        form = make(ADD_FORMS[kind], f"{kind}-{stage.key}", **extra)
        save = partial(getattr(svc, f"{kind}_create"), stage=stage)
        if kind == "prompt":
            save = partial(_prompt_create, stage=stage)
        url = reverse("scenarios:stage_part_create", args=[code, stage.key, kind])
        rows_url = reverse("scenarios:option_row", args=[code, stage.key])
        return AddForm(form, save, url, "stages", kind, rows_url if kind == "prompt" else "")
    if kind in ("option", "consequence"):
        prompt = get_object_or_404(Prompt, scenario=scenario, key=parent)
        form = make(ADD_FORMS[kind], f"{kind}-{prompt.key}", prompt=prompt)
        save = (
            partial(svc.option_create, prompt=prompt) if kind == "option" else _consequence_create
        )
        url = reverse("scenarios:prompt_part_create", args=[code, prompt.key, kind])
        return AddForm(form, save, url, "stages", kind)
    raise Http404("Unknown part.")


ADD_FORMS = {
    "inject": InjectForm,
    "prompt": PromptWithOptionsForm,
    "transition": TransitionForm,
    "option": OptionForm,
    "consequence": ConsequenceForm,
}


def _prompt_create(*, stage: Stage, fields: dict[str, Any]) -> Prompt:
    return svc.prompt_create(stage=stage, fields=fields, options=fields.pop("options"))


def _consequence_create(*, fields: dict[str, Any]) -> Consequence:
    return svc.consequence_create(option=fields.pop("option"), fields=fields)


def _editor_context(
    scenario: Scenario, *, active: AddForm | None = None, details_form: Any = None
) -> dict[str, Any]:
    """Everything the editor shows. Only the "add" form in use (``active``) is built;
    the others load when opened (see ``part_create``), which keeps big scenarios fast."""
    editable = not scenario.is_published
    if details_form is None and editable:
        details_form = ScenarioDetailsForm(prefix="details", scenario=scenario, instance=scenario)
    stages = scenario.stages.prefetch_related(
        "injects__audience_roles",
        "prompts__options__consequences__inject",
        "transitions__to_stage",
    )
    return {
        "scenario": scenario,
        "editable": editable,
        "active": active,
        "details_form": details_form,
        "roles": scenario.roles.prefetch_related("depends_on"),
        "stage_blocks": [
            StageBlock(
                stage,
                svc.render_markdown(stage.briefing),
                [(t, svc.condition_summary(t)) for t in stage.transitions.all()],
            )
            for stage in stages
        ],
        "problems": _locate(svc.scenario_problems(scenario), scenario),
        "warnings": svc.scenario_warnings(scenario),
        "moves": (("up", "up"), ("down", "down")),
        "last_change": svc.last_change(scenario) if editable else None,
        "graph_svg": scenario_graph_svg(scenario),
        "cascade_svg": scenario_cascade_svg(scenario),
        "versions": Scenario.objects.filter(key=scenario.key).order_by("-version"),
    }


PATH_HEAD = re.compile(r"^(roles|stages)\[(\d+)\]")


def _locate(problems: list[FormatError], scenario: Scenario) -> list[tuple[FormatError, str]]:
    """Each problem with the editor anchor of the role or stage its path starts in.

    The exporter lists roles and stages in the editor's order, so ``stages[2]`` is the
    third stage card here.
    """
    keys = {
        "roles": list(scenario.roles.values_list("key", flat=True)),
        "stages": list(scenario.stages.values_list("key", flat=True)),
    }
    located = []
    for problem in problems:
        match = PATH_HEAD.match(problem.path)
        anchor = ""
        if match and int(match[2]) < len(keys[match[1]]):
            anchor = f"#{match[1][:-1]}-{keys[match[1]][int(match[2])]}"
        located.append((problem, anchor))
    return located


@login_required
@require_GET
def scenario_detail(request: HttpRequest, code: str) -> HttpResponse:
    scenario = scenario_for_author(request.user, code)
    return render(request, EDITOR, _editor_context(scenario))


@login_required
@require_GET
def scenario_graph(request: HttpRequest, code: str) -> HttpResponse:
    scenario = scenario_for_author(request.user, code)
    context = {
        "graph_svg": scenario_graph_svg(scenario),
        "cascade_svg": scenario_cascade_svg(scenario),
    }
    return render(request, f"{EDITOR}#graph", context)


def _section_response(
    request: HttpRequest,
    scenario: Scenario,
    section: str,
    *,
    also: Sequence[str] = (),
    **forms: Any,
) -> HttpResponse:
    """After an htmx edit: the section, plus out-of-band panels that depend on it (and
    ``also`` those named)."""
    scenario.refresh_from_db()
    context = _editor_context(scenario, **forms)
    html = render(request, f"{EDITOR}#{section}", context).content.decode()
    context["oob"] = True
    extra = ["problems", "graph", "undo", *DEPENDENT_SECTIONS.get(section, []), *also]
    html += "".join(render(request, f"{EDITOR}#{name}", context).content.decode() for name in extra)
    # 200 even with errors: htmx swaps only 2xx by default, and the errors are in the section.
    return HttpResponse(html)


# Sections that show what another one edits (role keys in stages; the start stage in details).
DEPENDENT_SECTIONS = {"roles": ["stages"], "stages": ["details"]}
FORM_PAGE = "scenarios/part_form.html"


def _draft(request: HttpRequest, code: str) -> Scenario:
    """A draft for editing; a published scenario is immutable (403: edit a new draft)."""
    scenario = scenario_for_author(request.user, code)
    if scenario.is_published:
        raise PermissionDenied("A published scenario cannot be changed; edit it as a new draft.")
    return scenario


def _save(form: Any, save: Callable[..., Any]) -> bool:
    """Validate and save; a service refusal becomes a form error. True when saved."""
    if not form.is_valid():
        return False
    try:
        save(fields=form.fields_for_service())
    except svc.AuthoringError as exc:
        form.add_error(None, str(exc))
        return False
    return True


# --- creating parts -----------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def part_create(request: HttpRequest, code: str, kind: str, parent: str = "") -> HttpResponse:
    """Add a role, stage, inject, prompt, transition, option or consequence.

    GET gives the empty form (a fragment for htmx, else a page); POST saves it. With htmx
    the answer is the section with the form still open (errors in place, or empty for the
    next entry) and focused; without, a redirect to the editor or the page with errors.
    """
    scenario = _draft(request, code)
    add = _add_form(scenario, kind, parent, request.POST if request.method == "POST" else None)
    if request.method == "POST" and _save(add.form, add.save):
        if not request.htmx:
            messages.success(request, f"Added the {kind}.")
            return redirect("scenarios:scenario_detail", code=code)
        add = _add_form(scenario, kind, parent)
    add.form.focus()
    if request.method == "POST" and request.htmx:
        return _section_response(request, scenario, add.section, active=add)
    context = {"scenario": scenario, "add": add, "form": add.form, "heading": f"Add a {kind}"}
    if request.htmx:
        return render(request, "scenarios/partials/add_form_body.html", context)
    status = 422 if request.method == "POST" else 200
    return render(request, FORM_PAGE, context, status=status)


@login_required
@require_POST
def details_update(request: HttpRequest, code: str) -> HttpResponse:
    scenario = _draft(request, code)
    form = ScenarioDetailsForm(request.POST, prefix="details", scenario=scenario, instance=scenario)
    saved = _save(form, partial(svc.scenario_update, scenario=scenario))
    if not request.htmx:
        return redirect("scenarios:scenario_detail", code=code)
    return _section_response(request, scenario, "details", details_form=None if saved else form)


# --- editing and deleting parts (own page; delete from the editor) --------------------


@dataclass(frozen=True)
class PartKind:
    model: type
    form: type
    update: Any
    delete: Any
    section: str


PARTS = {
    "role": PartKind(Role, RoleForm, svc.role_update, svc.role_delete, "roles"),
    "stage": PartKind(Stage, StageForm, svc.stage_update, svc.stage_delete, "stages"),
    "inject": PartKind(Inject, InjectForm, svc.inject_update, svc.inject_delete, "stages"),
    "prompt": PartKind(
        Prompt, PromptWithOptionsForm, svc.prompt_update, svc.prompt_delete, "stages"
    ),
    "option": PartKind(Option, OptionForm, svc.option_update, svc.option_delete, "stages"),
    "consequence": PartKind(
        Consequence, ConsequenceForm, svc.consequence_update, svc.consequence_delete, "stages"
    ),
    "transition": PartKind(
        Transition, TransitionForm, svc.transition_update, svc.transition_delete, "stages"
    ),
}


def _part(scenario: Scenario, kind: str, ref: str) -> tuple[PartKind, Any, dict[str, Any]]:
    """The part named by ``ref`` in ``scenario`` (keys; ``prompt.option`` for options;
    the row id, scoped to the scenario, for keyless transitions and consequences)."""
    part = PARTS.get(kind)
    if part is None:
        raise Http404("Unknown part.")
    extra: dict[str, Any] = {}
    if kind == "option":
        prompt_key, _, option_key = ref.partition(".")
        obj = get_object_or_404(
            Option, prompt__scenario=scenario, prompt__key=prompt_key, key=option_key
        )
        extra["prompt"] = obj.prompt
    elif kind == "consequence":
        obj = get_object_or_404(Consequence, option__prompt__scenario=scenario, pk=_int(ref))
        extra["prompt"] = obj.option.prompt
    elif kind == "transition":
        obj = get_object_or_404(Transition, scenario=scenario, pk=_int(ref))
        extra["stage"] = obj.from_stage
    else:
        obj = get_object_or_404(part.model, scenario=scenario, key=ref)
    return part, obj, extra


def _int(ref: str) -> int:
    if not ref.isdigit():
        raise Http404("No such part.")
    return int(ref)


@login_required
@require_http_methods(["GET", "POST"])
def part_edit(request: HttpRequest, code: str, kind: str, ref: str) -> HttpResponse:
    scenario = _draft(request, code)
    part, obj, extra = _part(scenario, kind, ref)
    form = part.form(request.POST or None, scenario=scenario, instance=obj, **extra)
    if request.method == "POST" and _save(form, partial(_update, part, kind, obj)):
        messages.success(request, f"Saved the {kind} “{obj}”.")
        anchor = f"{kind}-{ref.replace('.', '-')}"
        return redirect(reverse("scenarios:scenario_detail", args=[code]) + f"#{anchor}")
    context = {"scenario": scenario, "form": form, "heading": f"Edit {kind}: {obj}"}
    return render(request, FORM_PAGE, context, status=422 if form.errors else 200)


def _update(part: PartKind, kind: str, obj: Any, *, fields: dict[str, Any]) -> Any:
    if kind == "consequence":
        obj.option = fields.pop("option")  # a consequence may move to another option
    if kind == "prompt":
        return svc.prompt_update(prompt=obj, fields=fields, options=fields.pop("options"))
    return part.update(**{kind: obj}, fields=fields)


DUPLICATES = {
    "stage": svc.stage_duplicate,
    "inject": svc.inject_duplicate,
    "prompt": svc.prompt_duplicate,
}


@login_required
@require_POST
def part_duplicate(request: HttpRequest, code: str, kind: str, ref: str) -> HttpResponse:
    """Copy a stage, inject or prompt beside the original (keys get "-copy")."""
    scenario = _draft(request, code)
    if kind not in DUPLICATES:
        raise Http404("Only stages, injects and prompts are duplicated.")
    part, obj, _ = _part(scenario, kind, ref)
    copy = DUPLICATES[kind](**{kind: obj})
    if not request.htmx:
        messages.success(request, f"Duplicated the {kind} as “{copy.key}”.")
        return redirect("scenarios:scenario_detail", code=code)
    return _section_response(request, scenario, part.section)


@login_required
@require_POST
def part_move(request: HttpRequest, code: str, kind: str, ref: str, step: str) -> HttpResponse:
    """Move a stage, inject or prompt one place up or down (buttons: keyboard-reachable)."""
    scenario = _draft(request, code)
    if kind not in DUPLICATES or step not in ("up", "down"):
        raise Http404("Only stages, injects and prompts move, up or down.")
    part, obj, _ = _part(scenario, kind, ref)
    svc.part_move(item=obj, step=-1 if step == "up" else 1)
    if not request.htmx:
        return redirect(reverse("scenarios:scenario_detail", args=[code]) + f"#{kind}-{ref}")
    return _section_response(request, scenario, part.section)


@login_required
@require_POST
def part_reorder(request: HttpRequest, code: str, kind: str, ref: str) -> HttpResponse:
    """Put a stage, inject or prompt and its siblings in the order dropped (``key`` list)."""
    scenario = _draft(request, code)
    if kind not in DUPLICATES:
        raise Http404("Only stages, injects and prompts are reordered.")
    part, obj, _ = _part(scenario, kind, ref)
    try:
        svc.part_reorder(item=obj, keys=request.POST.getlist("key"))
    except svc.AuthoringError as exc:
        messages.error(request, str(exc))
        return _redirect(request, scenario)
    if not request.htmx:
        return redirect(reverse("scenarios:scenario_detail", args=[code]) + f"#{kind}-{ref}")
    return _section_response(request, scenario, part.section)


@login_required
@require_GET
def prompt_option_row(request: HttpRequest, code: str, parent: str) -> HttpResponse:
    """One more empty option row for the "add a prompt" form of stage ``parent`` (htmx),
    and the formset's new row count (out of band)."""
    scenario = _draft(request, code)
    rows = _add_form(scenario, "prompt", parent).form.option_rows
    try:
        index = int(request.GET.get(f"{rows.prefix}-TOTAL_FORMS", ""))
    except ValueError:
        index = -1
    if not 0 <= index < rows.max_num:
        return HttpResponse(status=204)  # the form holds as many rows as it may
    context = {"row": option_row(rows, index), "rows": rows, "total": index + 1}
    return render(request, "scenarios/partials/option_row.html", context)


@login_required
@require_POST
def scenario_undo(request: HttpRequest, code: str) -> HttpResponse:
    """Take back the draft's last change (one snapshot; earlier ones stay for more)."""
    scenario = _draft(request, code)
    try:
        label = svc.scenario_undo(scenario=scenario)
    except svc.AuthoringError as exc:
        messages.error(request, str(exc))
        label = None
    if request.POST.get("next") == "grid":  # the grid's button: a plain post, back there
        if label:
            messages.success(request, f"Undone: {label}.")
        return redirect("scenarios:scenario_grid", code=code)
    if label is None:
        return _redirect(request, scenario)
    if not request.htmx:
        messages.success(request, f"Undone: {label}.")
        return redirect("scenarios:scenario_detail", code=code)
    return _section_response(request, scenario, "roles", also=["details"])


@login_required
@require_POST
def part_delete(request: HttpRequest, code: str, kind: str, ref: str) -> HttpResponse:
    scenario = _draft(request, code)
    part, obj, _ = _part(scenario, kind, ref)
    part.delete(**{kind: obj})
    if not request.htmx:
        messages.success(request, f"Deleted the {kind}.")
        return redirect("scenarios:scenario_detail", code=code)
    return _section_response(request, scenario, part.section)


# --- lifecycle ------------------------------------------------------------------------


@login_required
@require_POST
def scenario_publish(request: HttpRequest, code: str) -> HttpResponse:
    """Publish (irreversible) once the author has confirmed, having seen the findings."""
    scenario = _draft(request, code)
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the confirmation: publishing cannot be undone.")
        return _redirect(request, scenario)
    try:
        svc.scenario_publish(scenario=scenario)
    except svc.PublishError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Published “{scenario.title}” v{scenario.version}.")
    return _redirect(request, scenario)


@login_required
@require_POST
def scenario_duplicate(request: HttpRequest, code: str) -> HttpResponse:
    """Copy any version into a new scenario of its own (a new key, a draft)."""
    scenario = scenario_for_author(request.user, code)
    copy = svc.scenario_duplicate(scenario=scenario, created_by=request.user)
    messages.success(request, f"Duplicated as “{copy.title}” ({copy.key}), a draft.")
    return _redirect(request, copy)


@login_required
@require_POST
def scenario_new_draft(request: HttpRequest, code: str) -> HttpResponse:
    scenario = scenario_for_author(request.user, code)
    try:
        draft = svc.scenario_new_draft(scenario=scenario, created_by=request.user)
    except svc.AuthoringError as exc:
        messages.error(request, str(exc))
        return _redirect(request, scenario)
    messages.success(request, f"Editing a new draft: version {draft.version}.")
    return _redirect(request, draft)


@login_required
@require_POST
def scenario_delete(request: HttpRequest, code: str) -> HttpResponse:
    scenario = _draft(request, code)
    try:
        svc.scenario_delete(scenario=scenario)
    except svc.AuthoringError as exc:
        messages.error(request, str(exc))
        return _redirect(request, scenario)
    messages.success(request, f"Deleted draft “{scenario.title}” v{scenario.version}.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("scenarios:scenario_list"))
    return redirect("scenarios:scenario_list")


def _redirect(request: HttpRequest, scenario: Scenario) -> HttpResponse:
    url = reverse("scenarios:scenario_detail", args=[scenario.code])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# --- MSEL grid ------------------------------------------------------------------------


@login_required
@require_GET
def scenario_grid(request: HttpRequest, code: str) -> HttpResponse:
    """Every inject in one table: release order, or ``?sort=time`` (offset; manual last)."""
    scenario = scenario_for_author(request.user, code)
    sort = "time" if request.GET.get("sort") == "time" else "stage"
    injects = list(
        Inject.objects.filter(scenario=scenario)
        .select_related("stage")
        .prefetch_related("audience_roles")
        .order_by("stage__order", "stage__key", "order", "offset_seconds", "key")
    )
    if sort == "time":
        injects.sort(key=lambda i: (i.offset_seconds is None, i.offset_seconds or 0))
    editable = not scenario.is_published
    context = {
        "scenario": scenario,
        "injects": injects,
        "sort": sort,
        "editable": editable,
        "add_form": GridAddForm(prefix="new", scenario=scenario) if editable else None,
        "last_change": svc.last_change(scenario) if editable else None,
    }
    return render(request, "scenarios/grid.html", context)


@login_required
@require_POST
def grid_add(request: HttpRequest, code: str) -> HttpResponse:
    """A new inject from the grid's last row (htmx: that row and a fresh one replace it)."""
    scenario = _draft(request, code)
    form = GridAddForm(request.POST, prefix="new", scenario=scenario)
    inject = None
    if form.is_valid():
        fields = form.fields_for_service()
        inject = svc.inject_create(stage=fields.pop("stage"), fields=fields)
        form = GridAddForm(prefix="new", scenario=scenario)
        form.fields["stage"].initial = inject.stage_id
    if not request.htmx:
        if inject is None:
            messages.error(request, "The new row was not added: " + _errors_text(form))
        return redirect("scenarios:scenario_grid", code=code)
    context = {"scenario": scenario, "inject": inject, "add_form": form, "editable": True}
    context["last_change"] = svc.last_change(scenario)
    return render(request, "scenarios/partials/grid_add.html", context)


def _errors_text(form: Any) -> str:
    return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())


@login_required
@require_http_methods(["GET", "POST"])
def grid_row(request: HttpRequest, code: str, key: str) -> HttpResponse:
    """One grid row edited in place (htmx): GET the form (``?cancel=1``: the row as saved,
    which is what Cancel and Escape put back), POST to save and show the row with the
    undo bar out of band."""
    scenario = _draft(request, code)
    inject = get_object_or_404(Inject, scenario=scenario, key=key)
    form: GridInjectForm | None = GridInjectForm(
        request.POST or None, scenario=scenario, instance=inject
    )
    saved = False
    if request.method == "POST" and form.is_valid():
        svc.inject_update(inject=inject, fields=form.cleaned_data)
        if not request.htmx:
            return redirect("scenarios:scenario_grid", code=code)
        form, saved = None, True
    if request.GET.get("cancel"):
        form = None
    context = {"scenario": scenario, "inject": inject, "form": form, "editable": True}
    if saved:
        context.update(undo_oob=True, last_change=svc.last_change(scenario))
    if request.htmx:
        return render(request, "scenarios/partials/grid_row.html", context)
    return render(request, "scenarios/grid.html", {**context, "injects": [inject], "sort": ""})


# --- preview --------------------------------------------------------------------------


@login_required
@require_GET
def scenario_preview(request: HttpRequest, code: str) -> HttpResponse:
    """Walk the scenario as one role sees it, stage by stage."""
    scenario = scenario_for_author(request.user, code)
    roles = list(scenario.roles.prefetch_related("depends_on"))
    role = next((r for r in roles if r.key == request.GET.get("role")), roles[0] if roles else None)
    views = []
    if role is not None:
        for stage in scenario.stages.all():
            view = svc.role_view(role=role, stage=stage)
            views.append((view, svc.render_markdown(stage.briefing), _bodies(view.injects)))
    context = {"scenario": scenario, "roles": roles, "role": role, "views": views}
    return render(request, "scenarios/preview.html", context)


def _bodies(injects: list[Inject]) -> list[tuple[Inject, str]]:
    return [(inject, svc.render_markdown(inject.body)) for inject in injects]
