"""After-action pages: access helper → form → service → render.

A GET never writes: the report shows the scores as stored (computed when the exercise
ended, or by Recompute), and says so when the timeline has moved on since.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import Organization
from exercises.models import Exercise
from scoring import access, charts, jobs, services
from scoring.compare import compare_table
from scoring.exports import sharing
from scoring.exports import trends as trend_exports
from scoring.forms import ExportForm, ImprovementItemForm, PlanFilterForm, TrendFilterForm
from scoring.models import ImprovementItem, ReportExport
from scoring.report import build_report
from scoring.trends import Series
from scoring.trends_collect import (
    TrendFilter,
    TrendView,
    trend_organizations,
    trend_rubrics,
    trend_view,
)


@login_required
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    exercises = access.readable_exercises(request.user)
    return render(request, "scoring/list.html", {"exercises": exercises})


@login_required
@require_GET
def report_detail(request: HttpRequest, code: str) -> HttpResponse:
    acc = access.report_access(request.user, code)
    report = build_report(acc)
    exports = access.own_exports(acc, request.user)
    export_form = ExportForm(formats=acc.export_formats)
    context = {"report": report, "exports": exports, "export_form": export_form}
    return render(request, "scoring/report.html", context)


@login_required
@require_POST
def report_recompute(request: HttpRequest, code: str) -> HttpResponse:
    acc = access.require_editor(request.user, code)
    services.report_compute(exercise=acc.exercise, actor=request.user)
    if request.htmx:
        return HttpResponseClientRedirect(reverse("scoring:report", args=[code]))
    return redirect("scoring:report", code=code)


def _item_context(acc: access.ReportAccess, item: ImprovementItem, form=None) -> dict:
    report = {"access": acc, "exercise": acc.exercise}
    return {"report": report, "item": item, "form": form, "interactive": True}


@login_required
@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, code: str, item: str) -> HttpResponse:
    acc, row = access.editable_item(request.user, code, item)
    orgs = Organization.objects.filter(teams__exercise=acc.exercise).distinct()
    if request.method == "GET":
        form = ImprovementItemForm(instance=row, organizations=orgs)
        return render(request, "scoring/_report_body.html#item-form", _item_context(acc, row, form))
    form = ImprovementItemForm(request.POST, instance=row, organizations=orgs)
    if not form.is_valid():
        return render(
            request,
            "scoring/_report_body.html#item-form",
            _item_context(acc, row, form),
            status=422,
        )
    changes = {name: form.cleaned_data[name] for name in form.changed_data}
    row.refresh_from_db()
    services.improvement_update(item=row, actor=request.user, changes=changes)
    return render(request, "scoring/_report_body.html#item-row", _item_context(acc, row))


@login_required
@require_GET
def item_row(request: HttpRequest, code: str, item: str) -> HttpResponse:
    acc, row = access.editable_item(request.user, code, item)
    return render(request, "scoring/_report_body.html#item-row", _item_context(acc, row))


@login_required
@require_POST
def export_create(request: HttpRequest, code: str) -> HttpResponse:
    acc = access.require_export(request.user, code)
    form = ExportForm(request.POST, formats=acc.export_formats)
    if not form.is_valid():
        if request.POST.get("format") in ReportExport.Format.values:
            raise PermissionDenied("You may not export this report in this format.")
        return HttpResponse("Choose an export format.", status=422)
    export = jobs.export_request(
        exercise=acc.exercise, fmt=form.cleaned_data["format"], user=request.user
    )
    export.refresh_from_db()
    context = {"export": export, "code": code}
    if request.htmx:
        return render(request, "scoring/report.html#export-status", context)
    return redirect("scoring:report", code=code)


@login_required
@require_GET
def export_status(request: HttpRequest, code: str, export: str) -> HttpResponse:
    row = access.readable_export(request.user, code, export)
    jobs.export_resume(row)
    return render(request, "scoring/report.html#export-status", {"export": row, "code": code})


@login_required
@require_GET
def export_download(request: HttpRequest, code: str, export: str) -> HttpResponse:
    row = access.readable_export(request.user, code, export)
    if row.status != ReportExport.Status.DONE or not row.file:
        raise Http404("This export is not ready.")
    name = row.file.name.rsplit("/", 1)[-1]
    return FileResponse(row.file.open("rb"), as_attachment=True, filename=name)


@login_required
@require_GET
def plan_index(request: HttpRequest) -> HttpResponse:
    items = access.readable_items(request.user)
    orgs = Organization.objects.filter(id__in=items.values("organization_id")).order_by("name")
    form = PlanFilterForm(request.GET or None, organizations=orgs)
    if form.is_valid():
        if form.cleaned_data["status"]:
            items = items.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["organization"]:
            items = items.filter(organization=form.cleaned_data["organization"])
    items = items.order_by("-exercise__created_at", "criterion__order", "id")
    return render(request, "scoring/plan.html", {"items": items, "form": form})


@login_required
@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    exercises = access.readable_exercises(request.user)
    context = compare_table(request.user, exercises, request.GET.get("series", ""))
    return render(request, "scoring/compare.html", context)


@login_required
@require_GET
def sharing_export(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    """The reader's shares, relays and RFIs as STIX 2.1 or MISP, within their TLP rights
    (every reader of the report may download their own view)."""
    acc = access.report_access(request.user, code)
    chosen = sharing.FORMATS.get(fmt)
    if chosen is None:
        raise Http404("No such format.")
    response = HttpResponse(chosen.render(acc), content_type=chosen.content_type)
    response["Content-Disposition"] = f'attachment; filename="{sharing.filename(acc, fmt)}"'
    return response


def _trends(request: HttpRequest) -> tuple[TrendFilterForm, TrendView | None]:
    """The trends the filters ask for, within the reader's scope (None: nothing to show)."""
    scope = access.trend_scope(request.user)
    form = TrendFilterForm(
        request.GET, rubrics=trend_rubrics(scope), organizations=trend_organizations(scope)
    )
    if not form.is_valid() or form.cleaned_data["rubric"] is None:
        return form, None
    data = form.cleaned_data
    chosen = TrendFilter(
        rubric=data["rubric"],
        organization=data["organization"],
        sector=data["sector"],
        group=data["group"],
    )
    return form, trend_view(scope, chosen, by=data["by"], per=data["per"])


def _trend_row(series: Series, exercises: list[Exercise]) -> dict:
    by_exercise = {p.exercise: p for p in series.points}
    chart = charts.trend_svg(
        [(p.held_at.strftime("%Y-%m-%d"), p.value, p.low) for p in series.points],
        [(len(s.items), any(i.done for i in s.items)) for s in series.steps],
        title=f"{series.title}: score over {len(series.points)} exercises",
    )
    cells = [by_exercise.get(e.code) for e in exercises]
    return {"series": series, "cells": cells, "chart": chart}


@login_required
@require_GET
def trends_page(request: HttpRequest) -> HttpResponse:
    form, view = _trends(request)
    rows = [_trend_row(s, view.data.exercises) for s in view.series] if view else []
    context = {"form": form, "view": view, "rows": rows, "formats": trend_exports.FORMATS}
    return render(request, "scoring/trends.html", context, status=200 if form.is_valid() else 422)


@login_required
@require_GET
def trends_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The trends the page shows with the same filters, as CSV, XLSX or JSON."""
    chosen = trend_exports.FORMATS.get(fmt)
    if chosen is None:
        raise Http404("No such format.")
    _, view = _trends(request)
    if view is None:
        raise Http404("No trends to export.")
    response = HttpResponse(chosen.render(view), content_type=chosen.content_type)
    name = trend_exports.filename(view, fmt)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
