"""Issue 13, finding 1: over-deep or over-large scenario files are refused before any tree
is built, in a way that cannot overflow the C stack; the server process survives."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from config.limits import MAX_DEPTH, MAX_NODES
from scenarios.formats import ScenarioFormatError, load_document

# The reported file: 80 KB that segfaulted libyaml's composer inside Daphne.
DEEP_YAML = "format: cascade-scenario/1\nkey: deep\na: " + "[" * 40_000 + "]" * 40_000
# Peak RSS of a whole `manage.py import_scenario` process (Django and every app loaded).
IMPORT_PEAK_KIB = 200 * 1024
# Runs manage.py and reports the process's own peak RSS on exit: VmHWM belongs to the
# process image after exec, unlike ru_maxrss, which also counts the forking test process.
WITH_PEAK = (
    "import atexit, re, runpy, sys; "
    "atexit.register(lambda: sys.stderr.write("
    "re.search(r'VmHWM:\\s+\\d+', open('/proc/self/status').read()).group() + '\\n')); "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)
# What one refused import may add to a running server's peak RSS.
SERVER_GROWTH_KIB = 20 * 1024


def _refusal(text: str, filename: str) -> str:
    with pytest.raises(ScenarioFormatError) as caught:
        load_document(text, filename=filename)
    return str(caught.value)


def _flow(depth: int, opener: str) -> str:
    closer = {"[": "]", "{": "}"}[opener]
    inner = "1" if opener == "[" else ""
    return opener * depth + inner + closer * depth


@hypothesis_settings(max_examples=40, deadline=None)
@given(depth=st.integers(MAX_DEPTH + 1, 60_000), opener=st.sampled_from("[{"))
def test_it_refuses_deep_flow_yaml_and_json(depth: int, opener: str) -> None:
    nested = _flow(depth, opener)
    assert "nested deeper than 40 levels" in _refusal(f"key: deep\na: {nested}\n", "x.yaml")
    assert "nested deeper than 40 levels" in _refusal(f'{{"a": {nested}}}', "x.json")


@hypothesis_settings(max_examples=20, deadline=None)
@given(depth=st.integers(MAX_DEPTH + 1, 2_000))
def test_it_refuses_deep_block_yaml(depth: int) -> None:
    text = "".join(f"{'  ' * level}k{level}:\n" for level in range(depth)) + "  " * depth + "x"
    assert "nested deeper than 40 levels" in _refusal(text, "x.yml")


def test_it_accepts_nesting_up_to_the_limit() -> None:
    assert load_document(f"a: {_flow(MAX_DEPTH - 1, '[')}\n", filename="x.yaml")
    assert load_document(f'{{"a": {_flow(MAX_DEPTH - 1, "[")}}}', filename="x.json")


@pytest.mark.parametrize("filename", ["x.yaml", "x.json"])
def test_it_refuses_more_nodes_than_the_limit(filename: str) -> None:
    text = '{"a": [' + ", ".join(["1"] * MAX_NODES) + "]}"
    assert f"more than {MAX_NODES} nodes" in _refusal(text, filename)


def test_it_ignores_brackets_inside_json_strings() -> None:
    doc = load_document('{"a": "' + "[" * 1000 + '"}', filename="x.json")
    assert doc["a"] == "[" * 1000


def test_it_refuses_the_deep_file_in_an_import_process(tmp_path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(DEEP_YAML)
    env = os.environ | {"CASCADE_DATA_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-c", WITH_PEAK, "manage.py", "import_scenario", str(path)]
    done = subprocess.run(command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr  # CommandError, not -11 (SIGSEGV)
    assert "nested deeper than 40 levels" in done.stderr
    peak = int(re.search(r"VmHWM:\s+(\d+)", done.stderr).group(1))
    assert peak < IMPORT_PEAK_KIB  # measured: ~85 MiB


def test_the_server_survives_the_deep_file_with_bounded_memory(server_process) -> None:
    server_process.reset_peak()
    before = server_process.memory_kib("VmRSS")
    answer = server_process.upload("/scenarios/import/", {}, "deep.yaml", DEEP_YAML.encode())
    assert answer.status == 400
    assert "nested deeper than 40 levels" in answer.text
    assert server_process.is_answering()
    assert server_process.memory_kib("VmHWM") - before < SERVER_GROWTH_KIB
