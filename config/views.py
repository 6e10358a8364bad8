"""Project-level pages that belong to no single app, and the operator's endpoints."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from config import metrics as live_metrics
from config.readiness import readiness
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
    """Alive: the process answers HTTP (for a process manager's liveness probe)."""
    return JsonResponse({"ok": True})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready: the database, Redis and a Celery worker (where configured) answer; 503 if not."""
    checks = readiness()
    ok = all(result == "ok" for result in checks.values())
    return JsonResponse({"ok": ok, "checks": checks}, status=200 if ok else 503)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus figures for a scraper that sends ``Authorization: Bearer $METRICS_TOKEN``;
    404 while no token is configured, 403 for a missing or wrong one."""
    if not settings.METRICS_TOKEN:
        raise Http404("Metrics are off: set METRICS_TOKEN.")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.encode(), settings.METRICS_TOKEN.encode()
    ):
        return HttpResponse("A bearer token is needed.", status=403, content_type="text/plain")
    body, content_type = live_metrics.exposition()
    return HttpResponse(body, content_type=content_type)
