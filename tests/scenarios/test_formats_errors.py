"""A table of broken scenario files, each with the error (path, line, message) it must produce.

Each case edits one valid base file (``BASE``) by text replacement, so line numbers stay
predictable. These tests need no database: criteria are checked against ``CRITERIA``.
"""

from __future__ import annotations

import json

import pytest

from scenarios.formats import (
    FormatError,
    ScenarioFormatError,
    load_document,
    validate_document,
)

CRITERIA = {"detect", "respond"}

BASE = """\
format: cascade-scenario/1
key: table-test
title: Table test
rubric: table-rubric
start: first
roles:
  - key: cloud
    label: Cloud
    sector: cloud_it
    depends_on: []
  - key: bank
    label: Bank
    sector: finance
    depends_on: [cloud]
stages:
  - key: first
    title: First
    duration: 10m
    injects:
      - key: alert
        title: Alert
        channel: siem
        severity: high
        tlp: AMBER
        audience: {roles: [cloud]}
        release: 2m
        criteria: [detect]
      - key: fallout
        title: Fallout
        channel: partner
        release: consequence
    prompts:
      - key: move
        question: What now?
        kind: choice
        audience: all
        deadline: 5m
        options:
          - key: isolate
            label: Isolate
            effects: {respond: 20}
          - key: wait
            label: Wait
            effects: {respond: -10}
            consequences:
              - inject: fallout
                to: dependents
    transitions:
      - to: good
        when: {mode: any, prompt: move, options: [isolate]}
      - to: bad
        default: true
  - key: good
    title: Good
    transitions:
      - to: end
        default: true
  - key: bad
    title: Bad
    transitions:
      - to: end
        default: true
  - key: end
    title: End
"""

WAIT_OPTION = """\
          - key: wait
            label: Wait
            effects: {respond: -10}
            consequences:
              - inject: fallout
                to: dependents
"""

# (case id, text to replace, replacement, expected path, expected line, message fragment)
CASES = [
    (
        "wrong-format",
        "format: cascade-scenario/1",
        "format: cascade-scenario/2",
        "format",
        1,
        "must be 'cascade-scenario/1', not 'cascade-scenario/2'",
    ),
    (
        "unknown-field",
        "title: Table test\n",
        "title: Table test\ncolour: red\n",
        "colour",
        4,
        "unknown field 'colour'",
    ),
    (
        "missing-required-field",
        "    label: Bank\n",
        "",
        "roles[1].label",
        11,
        "is required",
    ),
    (
        "blank-required-text",
        "    title: Bad\n",
        "    title: ''\n",
        "stages[2].title",
        59,
        "is required",
    ),
    (
        "coordinating-not-a-flag",
        "    label: Bank\n",
        "    label: Bank\n    coordinating: yes please\n",
        "roles[1].coordinating",
        13,
        "must be true or false",
    ),
    ("bad-key", "  - key: bank", "  - key: Bank Co", "roles[1].key", 11, "'Bank Co' is not a key"),
    (
        "duplicate-role-key",
        "  - key: bank",
        "  - key: cloud",
        "roles[1].key",
        11,
        "duplicate role key 'cloud' (first at roles[0])",
    ),
    (
        "unknown-sector",
        "sector: finance",
        "sector: banking",
        "roles[1].sector",
        13,
        "'banking' is not one of: energy, finance",
    ),
    (
        "unknown-role-reference",
        "audience: {roles: [cloud]}",
        "audience: {roles: [cloud, banks]}",
        "stages[0].injects[0].audience.roles[1]",
        25,
        "unknown role 'banks'",
    ),
    (
        "dependency-cycle",
        "    depends_on: []",
        "    depends_on: [bank]",
        "roles[0].depends_on",
        10,
        "dependency cycle cloud → bank → cloud",
    ),
    (
        "unknown-stage-reference",
        "      - to: good\n",
        "      - to: gud\n",
        "stages[0].transitions[0].to",
        49,
        "unknown stage 'gud'",
    ),
    (
        "unknown-start-stage",
        "start: first",
        "start: frist",
        "start",
        5,
        "unknown stage 'frist'",
    ),
    (
        "unknown-prompt-in-condition",
        "prompt: move, options: [isolate]",
        "prompt: mvoe, options: [isolate]",
        "stages[0].transitions[0].when.prompt",
        50,
        "unknown prompt 'mvoe'",
    ),
    (
        "unknown-option-in-condition",
        "options: [isolate]}",
        "options: [isolat]}",
        "stages[0].transitions[0].when.options[0]",
        50,
        "unknown option 'isolat' of prompt 'move'",
    ),
    (
        "at-least-without-count",
        "{mode: any, prompt: move",
        "{mode: at_least, prompt: move",
        "stages[0].transitions[0].when.count",
        50,
        "at_least needs a count of at least 1",
    ),
    (
        "unknown-criterion",
        "criteria: [detect]",
        "criteria: [detect, telepathy]",
        "stages[0].injects[0].criteria[1]",
        27,
        "unknown criterion 'telepathy'",
    ),
    (
        "unknown-criterion-in-effects",
        "effects: {respond: 20}",
        "effects: {respnd: 20}",
        "stages[0].prompts[0].options[0].effects.respnd",
        41,
        "unknown criterion 'respnd'",
    ),
    (
        "effect-out-of-range",
        "effects: {respond: 20}",
        "effects: {respond: 120}",
        "stages[0].prompts[0].options[0].effects.respond",
        41,
        "120 is not points in -100..100",
    ),
    (
        "no-default-transition",
        "      - to: bad\n        default: true\n",
        "      - to: bad\n        when: {mode: none, prompt: move, options: [wait]}\n",
        "stages[0].transitions",
        48,
        "no default transition",
    ),
    (
        "two-default-transitions",
        "      - to: end\n        default: true\n  - key: bad",
        "      - to: end\n        default: true\n      - to: bad\n        default: true\n"
        "  - key: bad",
        "stages[1].transitions[1].default",
        59,
        "a second default transition",
    ),
    (
        "condition-on-default",
        "        default: true\n  - key: good",
        "        default: true\n        when: {mode: any, prompt: move, options: [wait]}\n"
        "  - key: good",
        "stages[0].transitions[1].when",
        53,
        "a default transition takes no condition",
    ),
    (
        "transition-without-condition",
        "        when: {mode: any, prompt: move, options: [isolate]}\n",
        "",
        "stages[0].transitions[0]",
        49,
        "needs `when` unless it is the default",
    ),
    (
        "unreachable-stage",
        "    title: End\n",
        "    title: End\n  - key: orphan\n    title: Orphan\n",
        "stages[4]",
        65,
        "stage 'orphan' is unreachable from start 'first'",
    ),
    (
        "no-path-to-an-end",
        "    title: End\n",
        "    title: End\n    transitions:\n      - to: good\n        default: true\n",
        "stages[3]",
        63,
        "stage 'end' has no path to an ending stage",
    ),
    (
        "consequence-to-a-timed-inject",
        "              - inject: fallout",
        "              - inject: alert",
        "stages[0].prompts[0].options[1].consequences[0].inject",
        46,
        "inject 'alert' has release 'timed', not 'consequence'",
    ),
    (
        "consequence-inject-never-released",
        "            consequences:\n              - inject: fallout\n"
        "                to: dependents\n",
        "",
        "stages[0].injects[1].release",
        31,
        "consequence inject 'fallout' is never released",
    ),
    (
        "bad-offset",
        "release: 2m",
        "release: 2 minutes",
        "stages[0].injects[0].release",
        26,
        "'2 minutes' is not a duration",
    ),
    (
        "bad-duration",
        "duration: 10m",
        "duration: -5",
        "stages[0].duration",
        18,
        "-5 is not a positive duration",
    ),
    (
        "choice-with-one-option",
        WAIT_OPTION,
        "",
        "stages[0].prompts[0].options",
        38,
        "a choice prompt needs at least two options",
    ),
    (
        "prompt-to-control",
        "        audience: all\n        deadline",
        "        audience: control\n        deadline",
        "stages[0].prompts[0].audience",
        36,
        "a prompt cannot be put to control only",
    ),
    (
        "wrong-type",
        "    title: Good",
        "    title: [Good]",
        "stages[1].title",
        54,
        "must be text, not a list",
    ),
    (
        "duplicate-yaml-key",
        "title: Table test\n",
        "title: Table test\ntitle: Again\n",
        "title",
        4,
        "duplicate key 'title'",
    ),
    (
        "yaml-syntax",
        "title: Table test\n",
        "title: [unclosed\n",
        "",
        4,
        "invalid YAML",
    ),
]


def errors_of(text: str) -> list[FormatError]:
    try:
        doc = load_document(text, filename="case.yaml")
    except ScenarioFormatError as error:
        return error.errors
    return validate_document(doc, criteria=CRITERIA)


def test_it_accepts_the_base_file():
    assert errors_of(BASE) == []


@pytest.mark.parametrize(
    ("old", "new", "path", "line", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_it_reports_each_broken_file_with_path_line_and_message(old, new, path, line, message):
    assert BASE.count(old) == 1, "the case must edit exactly one place"
    errors = errors_of(BASE.replace(old, new))
    matching = [error for error in errors if error.path == path and message in error.message]
    assert matching, f"expected {path} (line {line}): {message}\ngot:\n" + "\n".join(
        map(str, errors)
    )
    assert matching[0].line == line


def test_it_reports_every_problem_not_only_the_first():
    text = BASE.replace("sector: finance", "sector: banking").replace(
        "release: 2m", "release: soon"
    )
    paths = [error.path for error in errors_of(text)]
    assert paths == ["roles[1].sector", "stages[0].injects[0].release"]


def test_it_formats_an_error_with_path_and_line():
    text = BASE.replace("audience: {roles: [cloud]}", "audience: {roles: [cloud, banks]}")
    [error] = errors_of(text)
    assert str(error) == "stages[0].injects[0].audience.roles[1] (line 25): unknown role 'banks'"


def test_it_reports_json_syntax_errors_with_line_and_column():
    with pytest.raises(ScenarioFormatError) as caught:
        load_document('{\n  "format": "cascade-scenario/1",\n  "key": oops\n}', filename="a.json")
    errors = caught.value.errors
    assert len(errors) == 1
    assert errors[0].line == 3
    assert errors[0].message.startswith("invalid JSON: Expecting value (column")


def test_it_refuses_a_condition_on_a_prompt_of_a_stage_that_does_not_lead_here():
    # "bad" cannot be reached from "good", so a condition in "good" may not ask about a
    # prompt put in "bad".
    text = BASE.replace(
        "  - key: bad\n    title: Bad\n",
        "  - key: bad\n    title: Bad\n    prompts:\n      - key: later\n        question: Q?\n"
        "        kind: text\n",
    ).replace(
        "  - key: good\n    title: Good\n    transitions:\n",
        "  - key: good\n    title: Good\n    transitions:\n      - to: end\n"
        "        when: {mode: any, prompt: later, options: [x]}\n",
    )
    messages = [str(error) for error in errors_of(text)]
    assert (
        "stages[1].transitions[0].when.prompt (line 57): prompt 'later' is not in this stage "
        "or one leading to it"
    ) in messages


def test_it_skips_criterion_checks_without_a_rubric():
    doc = load_document(BASE.replace("criteria: [detect]", "criteria: [anything]"))
    assert validate_document(doc, criteria=None) == []


def test_it_gives_lines_for_json_documents_too():
    doc = load_document(BASE, filename="base.yaml")
    text = json.dumps(dict(doc), indent=2)
    text = text.replace('"sector": "finance"', '"sector": "banking"')
    errors = validate_document(load_document(text, filename="base.json"), criteria=CRITERIA)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"banking"' in row)
    assert [str(error) for error in errors] == [
        f"roles[1].sector (line {line}): 'banking' is not one of: energy, finance, healthcare, "
        "transport, telecom, cloud_it, water, government, manufacturing"
    ]
