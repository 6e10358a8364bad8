"""Project-level pages that belong to no single app."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from exercises.access import can_run_exercises
from exercises.live_state import seats_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "organizations": request.user.organizations.all(),
        "seats": seats_for(request.user),
        "can_run": can_run_exercises(request.user),
    }
    return render(request, "home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})
