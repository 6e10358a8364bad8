"""Issue 13, finding 12 (part): report pages and export downloads are never cached."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scoring.models import ReportExport
from scoring.services import export_run
from tests import factories


@pytest.fixture
def export(db, alice):
    exercise, _ = factories.make_played_exercise(facilitator=alice)
    made = ReportExport.objects.create(exercise=exercise, format="json", requested_by=alice)
    return export_run(export_id=made.id)


def test_it_sends_no_store_on_reports_and_downloads(client, alice, export) -> None:
    code = export.exercise.code
    client.force_login(alice)
    for url in (
        reverse("scoring:list"),
        reverse("scoring:report", args=[code]),
        reverse("scoring:export-status", args=[code, export.code]),
        reverse("scoring:export-download", args=[code, export.code]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
