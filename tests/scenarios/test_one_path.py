"""One parser path: the CLI and the web import read every file alike; warnings; re-imports."""

from __future__ import annotations

import contextlib
import html
import io
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils.text import slugify
from openpyxl import Workbook

from config.limits import MAX_IMPORT_BYTES
from scenarios.formats.files import MselOptions, import_reading, read_file
from scenarios.formats.warnings import edit_distance, scenario_warnings
from scenarios.models import Scenario
from scenarios.rubrics import load_rubric
from tests import factories

ROOT = Path(settings.BASE_DIR)
CLOUD = ROOT / "fixtures" / "scenarios" / "cloud-ransomware.yaml"
DATA = ROOT / "tests" / "data"


def formula_sheet() -> bytes:
    workbook = Workbook()
    for row in (["Stage", "To", "Inject", "Time"], ["One", "Bank", "Go", "=D1+1"]):
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# (file name, bytes, MSEL time model, whether it imports)
FILES = [
    ("cloud-ransomware.yaml", CLOUD.read_bytes(), None, True),
    ("hseep-title-rows.xlsx", (DATA / "hseep-title-rows.xlsx").read_bytes(), None, True),
    ("ctep-moves.xlsx", (DATA / "ctep-moves.xlsx").read_bytes(), None, True),
    ("clock-time.xlsx", (DATA / "clock-time.xlsx").read_bytes(), "clock", True),
    ("cp1252-semicolons.csv", (DATA / "cp1252-semicolons.csv").read_bytes(), None, True),
    ("windows.yaml", CLOUD.read_text().replace("Cloud", "Café").encode("cp1252"), None, False),
    ("broken.yaml", b"format: cascade-scenario/1\nkey: broken\nstart: [\n", None, False),
    ("invalid.yaml", b"format: cascade-scenario/1\nkey: x\ntitle: X\nstart: no\n", None, False),
    ("huge.yaml", b"#" * (MAX_IMPORT_BYTES + 1), None, False),
    ("notes.txt", b"hello", None, False),
    ("empty.csv", b"\n\n", None, False),
    ("rows.csv", b"Stage,Time,To,Inject,TLP\nA,soon,Bank,Go,PURPLE\nA,,Bank,,\n", None, False),
    ("formula.xlsx", formula_sheet(), None, False),
]  # fmt: skip
IDS = [name for name, *_ in FILES]


@pytest.fixture
def rubric(db):
    return load_rubric(ROOT / "fixtures" / "rubric" / "cascade-resilience.yaml")


def cli(tmp_path: Path, name: str, data: bytes, model: str | None) -> tuple[list[str], str]:
    """(problems without the file prefix, stdout) of ``import_scenario``."""
    path = tmp_path / name
    path.write_bytes(data)
    args = ["import_scenario", str(path), "--draft"] + (["--time-model", model] if model else [])
    out, err = StringIO(), StringIO()
    with contextlib.suppress(CommandError):  # the problems are what is compared
        call_command(*args, stdout=out, stderr=err)
    problems = [line.removeprefix(f"{path}: ") for line in err.getvalue().splitlines()]
    return problems, out.getvalue()


def web(client, name: str, data: bytes, model: str | None) -> tuple[list[str], str]:
    """(problems as the CLI prints them, page) of the web import's upload step."""
    stem = name.rsplit(".", 1)[0]
    fields = {"title": stem.replace("-", " ").title(), "key": slugify(stem), "time_model": model}
    fields = {key: value for key, value in fields.items() if value}
    response = client.post(
        reverse("scenarios:scenario_import"), {"file": SimpleUploadedFile(name, data), **fields}
    )
    page = response.content.decode()
    cells = re.findall(r"<tr><td><code>(.*?)</code></td><td>(.*?)</td><td>(.*?)</td></tr>", page)
    problems = [
        html.unescape(f"{path}{f' (line {line})' if line else ''}: {message}")
        for path, line, message in cells
    ]
    return problems, page


@pytest.mark.parametrize(("name", "data", "model", "imports"), FILES, ids=IDS)
def test_cli_and_web_import_read_every_file_alike(
    rubric, client, alice, tmp_path, name, data, model, imports
):
    client.force_login(factories.grant_authoring(alice))
    cli_problems, cli_out = cli(tmp_path, name, data, model)
    web_problems, page = web(client, name, data, model)
    assert cli_problems == web_problems
    assert bool(cli_problems) is not imports
    warnings = re.findall(r"warning: (.*)", cli_out)
    assert all(html.escape(warning, quote=False) in page for warning in warnings)


def test_a_non_utf8_yaml_is_refused_not_published_with_replacement_characters(rubric, tmp_path):
    data = CLOUD.read_text().replace("Cloud", "Café").encode("cp1252")
    problems, _ = cli(tmp_path, "windows.yaml", data, None)
    assert problems[0].startswith("file: not UTF-8 text (byte ")
    assert not Scenario.objects.exists()


def test_identical_reimports_make_no_new_version(rubric, tmp_path):
    path = tmp_path / "cloud.yaml"
    path.write_bytes(CLOUD.read_bytes())
    for _ in range(2):
        out = StringIO()
        call_command("import_scenario", str(path), stdout=out)
    assert "Unchanged: cloud-ransomware v1 (published) has this content." in out.getvalue()
    assert Scenario.objects.filter(key="cloud-ransomware").count() == 1
    path.write_text(CLOUD.read_text().replace("duration: 20m", "duration: 25m", 1))
    call_command("import_scenario", str(path), stdout=StringIO())
    assert Scenario.objects.filter(key="cloud-ransomware").count() == 2


def test_an_identical_msel_reimport_is_recognised(db):
    data = (DATA / "ctep-moves.xlsx").read_bytes()
    options = MselOptions(title="CTEP", key="ctep")
    first, created = import_reading(read_file(data, filename="c.xlsx", msel=options))
    again, created_again = import_reading(read_file(data, filename="c.xlsx", msel=options))
    assert (created, created_again, again) == (True, False, first)


def test_validate_scenario_reads_msels(db):
    out = StringIO()
    call_command("validate_scenario", str(DATA / "clock-time.xlsx"), stdout=out)
    assert "look like clock times" in out.getvalue()
    assert out.getvalue().strip().endswith(f"{DATA / 'clock-time.xlsx'}: valid")


def test_validate_scenario_works_before_migrate(tmp_path):
    """A fresh clone: an empty database file, no tables; the shipped rubric is used."""
    database = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": "test-only"}
    broken = tmp_path / "broken.yaml"
    broken.write_text(CLOUD.read_text().replace("- de-ae", "- de-zz", 1))
    command = [sys.executable, "manage.py", "validate_scenario"]
    good = subprocess.run([*command, str(CLOUD)], cwd=ROOT, env=env, capture_output=True)
    assert good.returncode == 0, good.stderr.decode()
    assert good.stdout.decode().strip().endswith("valid")
    bad = subprocess.run([*command, str(broken)], cwd=ROOT, env=env, capture_output=True)
    assert bad.returncode == 1
    assert "unknown criterion 'de-zz'" in bad.stdout.decode()
    assert "Traceback" not in bad.stderr.decode()


# -- warnings: one per case of silent bad data ---------------------------------------------


def msel(text: str) -> list[str]:
    reading = read_file(text.encode(), filename="m.csv", msel=MselOptions(title="T", key="t"))
    assert reading.errors == []
    return reading.warnings


def test_a_typo_in_a_role_name_warns():
    warnings = msel("Stage,To,Inject\nA,Riverside Hospital,One\nA,Riverside Hospitl,Two\n")
    assert warnings == [
        "roles 'Riverside Hospital' and 'Riverside Hospitl' differ by 1 letter(s): "
        "is one a typo of the other?"
    ]


def test_a_sector_audience_with_no_role_in_it_warns():
    warnings = msel("Stage,To,Inject\nA,Riverside Hospital,One\nA,Sector: Water,Two\n")
    assert warnings == [
        "stages[0].injects[1] 'Two': no role is in sector water; it reaches nobody there"
    ]


def test_clock_looking_times_warn():
    warnings = msel("Stage,Time,To,Inject\nA,09:40,Bank,One\n")
    assert warnings[0].startswith("rows 2: times such as '09:40' look like clock times")
    assert warnings[1] == (
        "stages[0].injects[0] 'One': released 9h40m into its stage; was that a clock time? "
        "Offsets count from the stage's start"
    )


def test_a_red_inject_for_every_team_warns():
    warnings = msel("Stage,To,Inject,TLP\nA,Bank,One,\nA,All players,Two,TLP:RED\n")
    assert warnings == [
        "stages[0].injects[1] 'Two': TLP:RED but its audience is every team; "
        "name the roles it is for"
    ]


def test_a_red_consequence_left_to_every_team_warns(rubric):
    doc = read_file(CLOUD.read_bytes(), filename="c.yaml").doc
    consequence = next(
        inject
        for stage in doc["stages"]
        for inject in stage.get("injects", [])
        if inject.get("release") == "consequence"
    )
    consequence["tlp"], consequence["audience"] = "RED", "all"
    assert any("TLP:RED but its audience is every team" in w for w in scenario_warnings(doc))


def test_a_stage_whose_every_way_out_is_conditional_warns(rubric):
    doc = read_file(CLOUD.read_bytes(), filename="c.yaml").doc
    stage = next(s for s in doc["stages"] if any(t.get("when") for t in s.get("transitions", [])))
    for transition in stage["transitions"]:
        transition.pop("default", None)
    stage["transitions"] = [t for t in stage["transitions"] if t.get("when")]
    assert any("every way out has a condition" in w for w in scenario_warnings(doc))


def test_the_shipped_scenario_has_no_warning(rubric):
    assert read_file(CLOUD.read_bytes(), filename="c.yaml").warnings == []


@pytest.mark.parametrize(
    ("a", "b", "distance"), [("kitten", "sitting", 3), ("bank", "bank", 0), ("ab", "ba", 2)]
)
def test_edit_distance(a, b, distance):
    assert edit_distance(a, b, limit=5) == distance
