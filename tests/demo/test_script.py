"""The played demo's script: data in fixtures/demo/, read and checked by demo.script."""

from __future__ import annotations

from datetime import timedelta

import pytest

from demo.people import DEMO_ORGANIZATIONS
from demo.script import Decide, ScriptError, Warn, load_script, script_path
from scenarios.models import Tlp

ROLES = [key for key, *_ in DEMO_ORGANIZATIONS]
STEP = """\
format: cascade-demo-script/1
scenario: cloud-ransomware
stages:
  - stage: detection
    then: null
    steps:
      - at: "6:10"
{step}
hotwash: Notes.
"""


def _load(tmp_path, text: str):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return load_script(path, roles=ROLES)


def test_it_reads_the_shipped_script():
    script = load_script(script_path(), roles=ROLES)
    assert script.scenario == "cloud-ransomware"
    assert [play.stage for play in script.stages] == [
        "detection",
        "clean-outage",
        "extortion",
        "joint-recovery",
        "public-pressure",
        "recovery",
        "hotwash",
    ]
    assert script.stages[-1].then is None
    first = script.stages[0].steps[1]
    assert first.at == timedelta(minutes=6, seconds=10)
    assert first.step == Decide(
        "cloud",
        "provider-first-move",
        "isolate-platform",
        rationale="Encryption is spreading on the management layer: pull the plug now and "
        "tell the customers once the platform is isolated.",
    )
    warnings = [t.step for play in script.stages for t in play.steps if isinstance(t.step, Warn)]
    assert {w.tlp for w in warnings} == set(Tlp.values)
    assert script.hotwash.startswith("**What went well.**")


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("        decide: {role: cloud, prompt: p, optoin: x}", "decide: unknown field(s) optoin"),
        ("        decide: {role: cloud}", "decide: missing prompt"),
        ("        decide: {role: nasa, prompt: p}", "decide.role: 'nasa' is not one of"),
        ("        decide: {role: cloud, prompt: p, by: -1}", "decide.by: must be a player index"),
        ("        warn: {role: cloud, tlp: PINK, to: [], title: t, body: b}", "warn.tlp: 'PINK'"),
        ("        warn: {role: cloud, tlp: RED, to: [nasa], title: t, body: b}", "warn.to[0]"),
        ("        rate: {role: cloud, criterion: c, rating: X, note: n}", "rate.rating: 'X'"),
        ("        release: ''", "release.inject: must be text"),
        ("        dance: cloud", "needs exactly one of release, open, decide, warn, rate"),
        ("        open: p\n        release: i", "needs exactly one of"),
    ],
)
def test_it_names_the_file_and_the_step_of_a_bad_entry(tmp_path, step, message):
    with pytest.raises(ScriptError) as raised:
        _load(tmp_path, STEP.format(step=step))
    text = str(raised.value)
    assert text.startswith(f"{tmp_path / 'bad.yaml'}: stages[0] (detection).steps[0] at 6:10")
    assert message in text


def test_it_asks_to_quote_the_time(tmp_path):
    text = STEP.format(step="        open: p").replace('"6:10"', "6:10")
    with pytest.raises(ScriptError, match=r'steps\[0\]: at must be quoted "m:ss".*370'):
        _load(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("format: other/1\nscenario: s\nstages: []\nhotwash: h\n", "format must be"),
        ("scenario: s\nstages: []\nhotwash: h\n", "missing format"),
        ("format: cascade-demo-script/1\nscenario: s\nstages: [{stage: a}]\nhotwash: h\n",
         "stages[0]: missing steps, then"),
        ("[unclosed", "cannot be read"),
    ],
)  # fmt: skip
def test_it_rejects_a_bad_file(tmp_path, text, message):
    with pytest.raises(ScriptError, match="^" + str(tmp_path / "bad.yaml")) as raised:
        _load(tmp_path, text)
    assert message in str(raised.value)
