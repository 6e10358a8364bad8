"""Property tests: random damage to a valid scenario never crashes the importer.

Whatever a mutation does (delete fields, change types, swap references, random text), the
only way import may fail is ``ScenarioFormatError`` — never a KeyError, TypeError or a
database error.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.formats import (
    ScenarioFormatError,
    dump_document,
    export_document,
    import_scenario,
    load_document,
    validate_document,
)
from scenarios.models import Scenario
from tests.factories import make_rubric
from tests.scenarios.test_formats_errors import BASE

BASE_DOC = load_document(BASE)
REFERENCES = ["cloud", "bank", "first", "good", "bad", "end", "move", "isolate", "wait", "alert"]
REFERENCES += ["fallout", "detect", "respond", "consequence", "manual", "all", "control"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True),
    st.text(max_size=80),
    st.sampled_from(REFERENCES),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=8,
)


def containers(node: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every dict and list inside ``node``."""
    found = [path]
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in items:
        if isinstance(child, dict | list):
            found += containers(child, (*path, key))
    return found


def at(node: Any, path: tuple) -> Any:
    for key in path:
        node = node[key]
    return node


@st.composite
def mutated_documents(draw) -> dict:
    doc = copy.deepcopy(dict(BASE_DOC))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        target = at(doc, draw(st.sampled_from(containers(doc))))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        action = draw(st.sampled_from(["delete", "replace", "reference", "duplicate", "add"]))
        if action == "add" or not keys:
            if isinstance(target, dict):
                target[draw(st.text(max_size=12))] = draw(values)
            else:
                target.append(draw(values))
            continue
        key = draw(st.sampled_from(keys))
        if action == "delete":
            del target[key]
        elif action == "replace":
            target[key] = draw(values)
        elif action == "reference":
            target[key] = draw(st.sampled_from(REFERENCES))
        elif isinstance(target, list):
            target.append(copy.deepcopy(target[key]))
    return doc


@pytest.fixture
def criteria_rubric(db):
    rubric = make_rubric(key="table-rubric")
    return rubric


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=mutated_documents())
def test_it_only_ever_raises_format_errors_on_mutated_documents(criteria_rubric, doc):
    assert isinstance(validate_document(doc, criteria={"detect", "respond"}), list)
    try:
        scenario = import_scenario(doc)
    except ScenarioFormatError as error:
        refusal = error
    else:
        refusal = None
        assert Scenario.objects.filter(pk=scenario.pk).exists()
    assert refusal is None or refusal.errors, "a refusal always says why"


@settings(max_examples=150, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=len(BASE)),
    length=st.integers(min_value=0, max_value=40),
    junk=st.text(max_size=30),
    fmt=st.sampled_from(["yaml", "json"]),
)
def test_it_only_ever_raises_format_errors_on_damaged_text(start, length, junk, fmt):
    text = BASE if fmt == "yaml" else dump_document(dict(BASE_DOC), "json")
    damaged = text[:start] + junk + text[start + length :]
    try:
        doc = load_document(damaged, filename=f"damaged.{fmt}")
    except ScenarioFormatError as error:
        refusal = error
    else:
        refusal = None
        assert isinstance(validate_document(doc, criteria={"detect", "respond"}), list)
    assert refusal is None or refusal.errors


texts = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=120
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    title=texts.filter(str.strip),
    body=texts,
    label=texts.filter(str.strip),
    fmt=st.sampled_from(["yaml", "json"]),
)
def test_it_round_trips_any_text(criteria_rubric, title, body, label, fmt):
    doc = copy.deepcopy(dict(BASE_DOC))
    doc["title"] = title
    doc["stages"][0]["briefing"] = body
    doc["stages"][0]["injects"][0]["body"] = body
    doc["roles"][0]["label"] = label
    exported = export_document(import_scenario(doc))
    text = dump_document(exported, fmt)
    again = export_document(import_scenario(text, filename=f"again.{fmt}"))
    assert again == exported
    assert again["title"] == title
    assert again["roles"][0]["label"] == label
    assert again["stages"][0].get("briefing", "") == body


@pytest.mark.parametrize("text", ["0\x85", "a\u2028b", "p\x85\nq", "x\ry", "trailing \n"])
def test_it_dumps_unicode_line_breaks_so_they_read_back(text):
    doc = {"format": "cascade-scenario/1", "title": text}
    assert load_document(dump_document(doc))["title"] == text
