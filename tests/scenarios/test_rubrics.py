"""Loading rubric files: the shipped CSF 2.0 rubric, idempotence, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from scenarios.models import Criterion, Rubric
from scenarios.rubrics import RubricFormatError, load_rubric

SHIPPED = Path(settings.BASE_DIR) / "fixtures" / "rubric" / "cascade-resilience.yaml"
SMALL = """\
key: small
title: Small rubric
criteria:
  - key: de-ae
    title: Adverse event analysis
    group: DE
    reference: DE.AE
  - key: info-sharing
    title: Information sharing
    group: CO
    threshold: 70
    weight: 2
"""


def test_it_loads_the_shipped_rubric_with_every_csf_function_and_collaboration(db):
    rubric = load_rubric(SHIPPED)
    criteria = list(rubric.criteria.all())
    assert {c.group for c in criteria} == {"GV", "ID", "PR", "DE", "RS", "RC", "CO"}
    required = {"gv-oc", "gv-rm", "gv-sc", "id-am", "id-ra", "pr-aa", "pr-ds", "pr-ps"}
    required |= {"de-cm", "de-ae", "rs-ma", "rs-an", "rs-co", "rs-mi", "rc-rp", "rc-co"}
    required |= {"info-sharing", "coordination", "dependency-awareness"}
    required |= {"graceful-degradation", "public-communication"}
    assert required <= {c.key for c in criteria}
    for criterion in criteria:
        assert criterion.threshold == 60
        assert len(criterion.description) > 60, criterion.key
        if criterion.group != "CO":
            assert criterion.reference == criterion.key.upper().replace("-", ".")
            assert criterion.reference[:2] == criterion.group


def test_it_loads_again_without_duplicating_and_applies_changes(db):
    load_rubric(SMALL)
    changed = SMALL.replace("title: Information sharing", "title: Sharing").replace(
        "threshold: 70", "threshold: 50"
    )
    rubric = load_rubric(changed)
    assert Rubric.objects.count() == 1
    assert rubric.criteria.count() == 2
    sharing = rubric.criteria.get(key="info-sharing")
    assert (sharing.title, sharing.threshold, sharing.weight, sharing.order) == (
        "Sharing",
        50,
        2.0,
        1,
    )


def test_it_keeps_criteria_dropped_from_the_file_but_orders_them_last(db):
    rubric = load_rubric(SMALL)
    load_rubric(SMALL.split("  - key: info-sharing")[0])
    assert list(rubric.criteria.values_list("key", "order")) == [("de-ae", 0), ("info-sharing", 1)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- a list", "the rubric file must be a mapping"),
        ("key: Bad Key\ntitle: T\ncriteria: []", "key: must be a slug"),
        ("key: k\ntitle: T\ncriteria: []", "criteria: must be a non-empty list"),
        (SMALL.replace("group: DE", "group: XX"), "criteria[0].group: must be one of"),
        (SMALL.replace("threshold: 70", "threshold: 170"), "criteria[1].threshold"),
        (SMALL.replace("key: info-sharing", "key: de-ae"), "criteria[1].key: duplicate 'de-ae'"),
        (SMALL.replace("weight: 2", "weight: -1"), "criteria[1].weight: must be a positive"),
    ],
)
def test_it_refuses_broken_rubric_files_and_changes_nothing(db, text, problem):
    with pytest.raises(RubricFormatError) as caught:
        load_rubric(text)
    assert problem in str(caught.value)
    assert Criterion.objects.count() == 0
