"""Project-level pages that belong to no single app."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


@login_required
def home(request: HttpRequest) -> HttpResponse:
    organizations = request.user.organizations.all()
    return render(request, "home.html", {"organizations": organizations})


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})
