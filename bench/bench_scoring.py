"""Scoring and after-action report at scale: 100 teams, 1,000 decisions.

Builds the exercise in a throwaway SQLite database (Django's test database, in
memory), then times: scoring + gaps + storing them (``report_compute``), the AAR
context (``build_report``), and the PDF. Targets: scoring + AAR < 2 s, PDF < 5 s.

    .venv/bin/python bench/bench_scoring.py [--teams 100] [--prompts 10]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from datetime import timedelta  # noqa: E402

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

TARGET_SCORING, TARGET_PDF = 2.0, 5.0


def build(n_teams: int, n_prompts: int, seed: int = 7):
    """An ended exercise: a dependency tree of ``n_teams`` roles, ``n_prompts`` prompts put
    to every team (n_teams × n_prompts decisions), releases, shares and observations."""
    from accounts.models import Organization
    from exercises.models import (
        Decision,
        Event,
        Exercise,
        InjectRelease,
        Observation,
        PromptWindow,
        Share,
        Team,
    )
    from scenarios.models import Consequence, Inject, Option, Prompt, Role, Scenario, Stage
    from tests.factories import make_rubric, make_user

    rng = random.Random(seed)
    rubric = make_rubric(key="bench-rubric")
    criteria = list(rubric.criteria.all())
    scenario = Scenario.objects.create(
        key="bench", title="Bench", rubric=rubric, status="published"
    )
    stage = Stage.objects.create(scenario=scenario, key="s", title="Stage")
    sectors = ["energy", "finance", "healthcare", "transport", "telecom", "cloud_it", "water"]
    roles = Role.objects.bulk_create(
        Role(scenario=scenario, key=f"r{i}", label=f"Role {i}", sector=sectors[i % 7], order=i)
        for i in range(n_teams)
    )
    through = Role.depends_on.through
    through.objects.bulk_create(
        through(from_role_id=roles[i].id, to_role_id=roles[(i - 1) // 2].id)
        for i in range(1, n_teams)
    )
    injects = Inject.objects.bulk_create(
        Inject(scenario=scenario, stage=stage, key=f"i{k}", title=f"Inject {k}", order=k)
        for k in range(n_prompts * 2)
    )
    prompts = Prompt.objects.bulk_create(
        Prompt(
            scenario=scenario,
            stage=stage,
            key=f"p{k}",
            question=f"Question {k}?",
            criteria=[criteria[k % len(criteria)].key],
            deadline_seconds=600,
            order=k,
        )
        for k in range(n_prompts)
    )
    options = Option.objects.bulk_create(
        Option(
            prompt=p,
            key=f"o{j}",
            label=f"Option {j}",
            effects={c.key: rng.randint(-30, 30) for c in criteria},
            order=j,
        )
        for p in prompts
        for j in range(3)
    )
    Consequence.objects.bulk_create(
        Consequence(option=o, inject=injects[n_prompts + i // 3])
        for i, o in enumerate(options)
        if o.key == "o2"
    )
    exercise = Exercise.objects.create(name="Bench run", scenario=scenario, status="ended")
    orgs = Organization.objects.bulk_create(
        Organization(name=f"Bench org {i}", sector=sectors[i % 7]) for i in range(n_teams)
    )
    teams = Team.objects.bulk_create(
        Team(exercise=exercise, role=roles[i], organization=orgs[i]) for i in range(n_teams)
    )
    now = timezone.now()
    PromptWindow.objects.bulk_create(
        PromptWindow(
            exercise=exercise,
            prompt=p,
            opened_at=now,
            opened_at_clock=k * 900,
            deadline_clock=k * 900 + 600,
        )
        for k, p in enumerate(prompts)
    )
    by_prompt = {}
    for o in options:
        by_prompt.setdefault(o.prompt_id, []).append(o)
    decisions = []
    for k, p in enumerate(prompts):
        for t in teams:
            latency = rng.uniform(30, 1200)
            decisions.append(
                Decision(
                    exercise=exercise,
                    team=t,
                    prompt=p,
                    option=rng.choice(by_prompt[p.id]),
                    latency_seconds=latency,
                    submitted_at=now + timedelta(seconds=k * 900 + latency),
                )
            )
    Decision.objects.bulk_create(decisions, batch_size=500)
    seq = 0
    releases = []
    for k, inject in enumerate(injects):
        seq += 1
        targets = sorted(t.id for t in rng.sample(teams, max(1, n_teams // 5)))
        event = Event.objects.create(
            exercise=exercise,
            seq=seq,
            kind="inject.released",
            payload={"title": inject.title},
            visibility="some",
            team_ids=targets,
            clock_seconds=k * 450,
        )
        releases.append(
            InjectRelease(
                exercise=exercise,
                inject=inject,
                release_key=f"b{k}",
                team_ids=targets,
                event=event,
                clock_seconds=k * 450,
            )
        )
    InjectRelease.objects.bulk_create(releases)
    shares = Share.objects.bulk_create(
        Share(
            exercise=exercise,
            from_team=rng.choice(teams),
            tlp=rng.choice(["RED", "AMBER", "GREEN"]),
            title=f"Share {i}",
            body="…",
            client_token=f"s{i}",
            clock_seconds=rng.uniform(0, n_prompts * 900),
            about_inject=rng.choice(injects),
        )
        for i in range(n_teams * 2)
    )
    Share.recipients.through.objects.bulk_create(
        Share.recipients.through(share_id=s.id, team_id=rng.choice(teams).id) for s in shares
    )
    evaluator = make_user("bench-evaluator")
    Observation.objects.bulk_create(
        Observation(
            exercise=exercise,
            team=rng.choice(teams),
            criterion=rng.choice(criteria),
            evaluator=evaluator,
            rating=rng.choice("PSMU"),
            clock_seconds=rng.uniform(0, n_prompts * 900),
        )
        for _ in range(n_teams * 3)
    )
    exercise.last_seq = seq
    exercise.save(update_fields=["last_seq"])
    return exercise, len(decisions)


def timed(label: str, fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    elapsed = time.perf_counter() - start
    print(f"{label:<42} {elapsed:7.3f} s")
    return result, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--prompts", type=int, default=10)
    args = parser.parse_args()

    from scoring import method
    from scoring.access import ReportAccess
    from scoring.collect import load_exercise
    from scoring.exports import pdf
    from scoring.report import build_report

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)
    (exercise, n_decisions), _ = timed(
        "build the exercise (not measured)", build, args.teams, args.prompts
    )
    print(f"teams={args.teams} decisions={n_decisions}")
    data, _ = timed("load into dataclasses", load_exercise, exercise)
    scores, _ = timed("method: scores", method.compute_scores, data)
    timed("method: gaps", method.compute_gaps, data, scores)
    result, t_compute = timed("report_compute (load+score+gaps+store)", report_compute_kw, exercise)
    access = ReportAccess(exercise, "facilitator")
    report, t_report = timed("AAR context (build_report)", build_report, access)
    timed("WeasyPrint warm-up (once per process)", warm_up)
    _, t_pdf = timed("PDF (WeasyPrint)", pdf.render, report)
    print(f"gaps={len(result.gaps)} improvement items={result.created_items}")
    scoring_total = t_compute + t_report
    print(f"scoring + gaps + AAR context: {scoring_total:.3f} s (target < {TARGET_SCORING} s)")
    print(f"PDF: {t_pdf:.3f} s (target < {TARGET_PDF} s)")
    return 0 if scoring_total < TARGET_SCORING and t_pdf < TARGET_PDF else 1


def warm_up() -> None:
    """Import WeasyPrint and lay out a trivial page: a worker pays this once, not per PDF."""
    from weasyprint import HTML

    HTML(string="<p>warm-up</p>").write_pdf()


def report_compute_kw(exercise):
    from scoring.services import report_compute

    return report_compute(exercise=exercise)


if __name__ == "__main__":
    sys.exit(main())
