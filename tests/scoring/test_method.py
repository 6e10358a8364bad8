"""The scoring method on hand-built exercises with known expected scores and gaps."""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import method as e

CLOUD, HOSPITAL, BANK = 1, 2, 3


def criteria() -> tuple[e.CriterionIn, ...]:
    return (
        e.CriterionIn("detect", "Detect", "DE"),
        e.CriterionIn("respond", "Respond", "RS"),
        e.CriterionIn("info-sharing", "Information sharing", "CO"),
        e.CriterionIn("dependency-awareness", "Dependency awareness", "CO"),
    )


def teams() -> tuple[e.TeamIn, ...]:
    return (
        e.TeamIn(CLOUD, "Nimbus (Cloud)", "cloud", "cloud_it", 11, "Nimbus"),
        e.TeamIn(
            HOSPITAL, "Mary (Hospital)", "hospital", "healthcare", 12, "Mary", frozenset({"cloud"})
        ),
        e.TeamIn(BANK, "Vault (Bank)", "bank", "finance", 13, "Vault", frozenset({"cloud"})),
    )


def tiny() -> e.ExerciseIn:
    """The cloud pays the ransom (cascading a leak to its dependents), warns only the
    hospital about the SIEM alert; the bank decides without knowing."""
    prompt = e.PromptIn(
        10,
        "first-move",
        "What do you do first?",
        options=(
            e.OptionIn(101, "isolate", "Isolate", {"respond": 20, "detect": 10}),
            e.OptionIn(102, "pay", "Pay the ransom", {"respond": -20}, frozenset({500})),
            e.OptionIn(103, "wait", "Wait", {"respond": -5}),
        ),
        criteria=("respond",),
        deadline_seconds=600,
        asked_team_ids=frozenset({CLOUD, HOSPITAL, BANK}),
    )
    return e.ExerciseIn(
        criteria=criteria(),
        teams=teams(),
        prompts=(prompt,),
        decisions=(
            e.DecisionIn(201, CLOUD, 10, 102, latency_seconds=300, clock_seconds=300),
            e.DecisionIn(202, HOSPITAL, 10, 101, latency_seconds=600, clock_seconds=600),
            e.DecisionIn(203, BANK, 10, 103, latency_seconds=900, clock_seconds=900),
        ),
        observations=(
            e.ObservationIn(301, HOSPITAL, "detect", 7, "S", clock_seconds=100),
            e.ObservationIn(302, HOSPITAL, "detect", 7, "P", clock_seconds=200),
            e.ObservationIn(303, HOSPITAL, "detect", 8, "M", clock_seconds=150),
        ),
        releases=(
            e.ReleaseIn(900, 400, "SIEM: mass encryption", frozenset({CLOUD}), 10),
            e.ReleaseIn(901, 500, "Leak site", frozenset({HOSPITAL, BANK}), 310),
        ),
        shares=(e.ShareIn(700, CLOUD, frozenset({CLOUD, HOSPITAL}), 130, "Heads up", "RED", 400),),
    )


def table(ex: e.ExerciseIn) -> dict[tuple[int, str], float | None]:
    return {(s.team_id, s.criterion_key): s.value for s in e.compute_scores(ex)}


def test_it_scores_decision_effects_timeliness_and_observations():
    scores = table(tiny())
    # cloud: worst option (0) blended with an on-time decision (100): (0*.45+100*.15)/.6
    assert scores[(CLOUD, "respond")] == 25.0
    assert scores[(HOSPITAL, "respond")] == 87.5  # best option, decided at the deadline
    assert scores[(BANK, "respond")] == 34.4  # (-5 in -20..20 → 37.5) late (25)
    assert scores[(CLOUD, "detect")] == 0.0
    # hospital detect: best option (100) and observations: latest per evaluator P, M → 70
    assert scores[(HOSPITAL, "detect")] == 85.9


def test_it_scores_collaboration_from_share_behaviour():
    scores = table(tiny())
    # cloud warned 1 of 2 dependents after 120 s: .7 * 50 + .3 * 100
    assert scores[(CLOUD, "info-sharing")] == 65.0
    assert scores[(HOSPITAL, "info-sharing")] is None  # no evidence
    assert scores[(HOSPITAL, "dependency-awareness")] == 100.0
    assert scores[(BANK, "dependency-awareness")] == 0.0
    assert scores[(CLOUD, "dependency-awareness")] is None


def test_it_keeps_evidence_with_ids_and_text():
    score = next(
        s for s in e.compute_scores(tiny()) if (s.team_id, s.criterion_key) == (HOSPITAL, "detect")
    )
    ids = {(item["kind"], item["id"]) for item in score.evidence}
    assert ids == {("decision", 202), ("observation", 302), ("observation", 303)}
    assert all(item["text"] for item in score.evidence)
    assert score.components == {"effects": 100.0, "observations": 70.0}


def test_it_counts_an_unanswered_prompt_as_worst_and_late():
    ex = tiny()
    ex = replace(ex, decisions=tuple(d for d in ex.decisions if d.team_id != BANK))
    assert table(ex)[(BANK, "respond")] == 0.0


def test_it_finds_team_systemic_and_cascade_gaps():
    ex = tiny()
    gaps = e.compute_gaps(ex, e.compute_scores(ex))
    found = {(g.kind, g.criterion_key, g.team_id): g for g in gaps}
    assert set(found) == {
        ("team", "respond", CLOUD),
        ("team", "respond", BANK),
        ("team", "detect", CLOUD),
        ("team", "detect", BANK),
        ("team", "dependency-awareness", BANK),
        ("systemic", "respond", None),
        ("systemic", "detect", None),
        ("cascade", "respond", CLOUD),
    }
    assert found[("systemic", "respond", None)].severity == 30.3
    assert found[("systemic", "respond", None)].evidence["team_ids"] == [CLOUD, BANK]
    cascade = found[("cascade", "respond", CLOUD)]
    assert cascade.severity == 40.0  # regret: the best option (+20) minus the chosen (−20)
    assert cascade.evidence["decision_id"] == 201
    assert cascade.evidence["injects"] == ["Leak site"]
    assert [d["team_id"] for d in cascade.evidence["dependents"]] == [HOSPITAL, BANK]
    assert cascade.evidence["dependents"][1]["scores"] == {"respond": 34.4}
    assert gaps[0].severity >= gaps[-1].severity


def test_it_finds_a_systemic_gap_of_a_whole_sector():
    crit = (e.CriterionIn("recover", "Recover", "RC"),)
    sectors = ["finance", "finance", "energy", "water", "health"]
    ts = tuple(e.TeamIn(i, f"T{i}", f"r{i}", s, i, f"Org{i}") for i, s in enumerate(sectors, 1))
    obs = tuple(
        e.ObservationIn(100 + i, i, "recover", 1, "U" if i <= 2 else "P", 0) for i in range(1, 6)
    )
    ex = e.ExerciseIn(criteria=crit, teams=ts, observations=obs)
    systemic = [g for g in e.compute_gaps(ex, e.compute_scores(ex)) if g.kind == "systemic"]
    assert len(systemic) == 1
    assert systemic[0].evidence["sectors"] == ["finance"]
    assert "finance" in systemic[0].summary


def test_it_gives_no_systemic_gap_for_a_single_weak_team():
    crit = (e.CriterionIn("recover", "Recover", "RC"),)
    ts = tuple(e.TeamIn(i, f"T{i}", f"r{i}", "energy", i, f"Org{i}") for i in range(1, 4))
    obs = (e.ObservationIn(1, 1, "recover", 1, "U", 0), e.ObservationIn(2, 2, "recover", 1, "P", 0))
    ex = e.ExerciseIn(criteria=crit, teams=ts, observations=obs)
    kinds = [g.kind for g in e.compute_gaps(ex, e.compute_scores(ex))]
    assert kinds == ["team"]


def test_it_measures_collaboration():
    metrics = e.collaboration_metrics(tiny())
    assert metrics["shares_sent"] == 1
    assert metrics["warn_opportunities"] == 1
    assert metrics["withheld"] == 0
    assert metrics["mean_seconds_to_warn"] == 120.0
    assert metrics["uninformed_decisions"] == 1
    assert metrics["uninformed"][0]["team_id"] == BANK
    assert metrics["teams"][CLOUD]["dependents_warned"] == 1
    assert metrics["teams"][CLOUD]["dependents_to_warn"] == 2


def test_it_counts_withheld_intel():
    ex = replace(tiny(), shares=())
    metrics = e.collaboration_metrics(ex)
    assert metrics["withheld"] == 1
    assert metrics["mean_seconds_to_warn"] is None
    assert table(ex)[(CLOUD, "info-sharing")] == 0.0


def test_it_scores_timeliness_piecewise():
    assert e.timeliness_value(100, 600) == 100.0
    assert e.timeliness_value(600, 600) == 50.0
    assert e.timeliness_value(1200, 600) == 0.0
    assert e.warn_speed_value(1050) == 50.0


def _shuffled(ex: e.ExerciseIn, seed: int) -> e.ExerciseIn:
    rng = random.Random(seed)

    def mix(items):
        items = list(items)
        rng.shuffle(items)
        return tuple(items)

    prompts = tuple(replace(p, options=mix(p.options)) for p in ex.prompts)
    return replace(
        ex,
        teams=mix(ex.teams),
        prompts=mix(prompts),
        decisions=mix(ex.decisions),
        observations=mix(ex.observations),
        releases=mix(ex.releases),
        shares=mix(ex.shares),
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_it_is_independent_of_row_order(seed):
    ex = tiny()
    shuffled = _shuffled(ex, seed)
    assert e.compute_scores(shuffled) == e.compute_scores(ex)
    assert e.compute_gaps(shuffled, e.compute_scores(shuffled)) == e.compute_gaps(
        ex, e.compute_scores(ex)
    )
    assert e.collaboration_metrics(shuffled) == e.collaboration_metrics(ex)


def test_it_scores_coordination_from_exchanges_with_partners():
    ex = tiny()
    ex = replace(ex, criteria=(*ex.criteria, e.CriterionIn("coordination", "Coordination", "CO")))
    scores = table(ex)
    assert scores[(CLOUD, "coordination")] == 50.0  # hospital yes, bank no
    assert scores[(HOSPITAL, "coordination")] == 100.0  # its only partner, the cloud
    assert scores[(BANK, "coordination")] == 0.0


def test_it_links_a_consequence_only_to_the_team_that_caused_it():
    ex = tiny()
    caused_by_bank = replace(ex.releases[1], cause_team_id=BANK)
    ex = replace(ex, releases=(ex.releases[0], caused_by_bank))
    assert e.cascade_chains(ex) == []
    caused_by_cloud = replace(ex.releases[1], cause_team_id=CLOUD)
    ex = replace(ex, releases=(ex.releases[0], caused_by_cloud))
    assert [c.decision.id for c in e.cascade_chains(ex)] == [201]


def test_it_counts_evidence_and_rates_confidence():
    scores = {(s.team_id, s.criterion_key): s for s in e.compute_scores(tiny())}
    hospital = scores[(HOSPITAL, "detect")]  # a decision and two evaluators' ratings
    assert (hospital.evidence_count, hospital.confidence) == (3, e.HIGH)
    cloud = scores[(CLOUD, "detect")]  # one decision only
    assert (cloud.evidence_count, cloud.confidence) == (1, e.LOW)
    # a decision feeding effects and timeliness is one item
    assert scores[(CLOUD, "respond")].evidence_count == 1
    assert e.confidence_of(4, frozenset({"timeliness"})) == e.LOW
    assert e.confidence_of(2, frozenset({"effects", "observations"})) == e.MEDIUM


def test_it_scores_no_timeliness_for_a_free_text_prompt():
    lessons = e.PromptIn(11, "lessons", "Lessons?", criteria=("respond",), deadline_seconds=60)
    ex = replace(tiny(), prompts=(lessons,), decisions=(e.DecisionIn(1, CLOUD, 11, None, 5, 5),))
    assert table(ex)[(CLOUD, "respond")] is None


def test_it_does_not_exercise_a_criterion_on_an_immaterial_difference():
    prompt = replace(
        tiny().prompts[0],
        options=(
            e.OptionIn(101, "a", "A", {"detect": 5}),
            e.OptionIn(102, "b", "B", {"detect": 0}),
        ),
        criteria=(),
    )
    ex = replace(tiny(), prompts=(prompt,), observations=())
    assert table(ex)[(CLOUD, "detect")] is None


def test_it_sees_a_trade_off_as_no_cascade_gap():
    """Isolating: best on mitigation, 5 points worse than the others on dependency
    awareness, and its outage notice reaches the dependents: a trade-off."""
    ex = tiny()
    prompt = replace(
        ex.prompts[0],
        options=(
            e.OptionIn(101, "isolate", "Isolate", {"respond": 25, "dependency-awareness": -5}),
            e.OptionIn(102, "pay", "Pay", {"respond": -20}, frozenset({500})),
            e.OptionIn(103, "warn", "Warn", {"respond": 5}),
        ),
    )
    tradeoff = replace(prompt.options[0], consequence_inject_ids=frozenset({500}))
    ex = replace(ex, prompts=(replace(prompt, options=(tradeoff, *prompt.options[1:])),))
    decisions = (replace(ex.decisions[0], option_id=101), *ex.decisions[1:])
    ex = replace(ex, decisions=decisions)
    assert e.cascade_chains(ex) == []
    assert not [g for g in e.compute_gaps(ex, e.compute_scores(ex)) if g.kind == "cascade"]


def test_it_credits_a_warning_that_a_teams_own_decision_released():
    ex = replace(tiny(), shares=())
    warning = replace(ex.releases[1], cause_team_id=CLOUD, clock_seconds=100)
    ex = replace(ex, releases=(ex.releases[0], warning))
    metrics = e.collaboration_metrics(ex)
    assert metrics["teams"][CLOUD]["dependents_warned"] == 2
    assert metrics["dependents_warned"] == metrics["dependents_to_warn"] == 2
    assert metrics["uninformed_decisions"] == 0


def test_it_finds_no_uninformed_decision_about_what_nobody_could_pass_on():
    """A TLP:RED note only the provider read: nobody may pass it on, so nobody is
    uninformed for lacking it, and withholding it is no missed warning."""
    ex = replace(tiny(), shares=())
    red = replace(ex.releases[0], tlp="RED")
    ex = replace(ex, releases=(red,))
    metrics = e.collaboration_metrics(ex)
    assert metrics["uninformed_decisions"] == 0
    assert metrics["warn_opportunities"] == 0
    amber = replace(red, tlp="AMBER")
    assert e.collaboration_metrics(replace(ex, releases=(amber,)))["uninformed_decisions"] == 2


def test_it_headlines_only_criteria_several_teams_were_scored_on_with_enough_evidence():
    rows = [
        ("a", 90.0, e.HIGH),
        ("a", 80.0, e.MEDIUM),
        ("b", 100.0, e.LOW),  # one item behind it
        ("b", 100.0, e.HIGH),
        ("c", 10.0, e.HIGH),
        ("c", 30.0, e.HIGH),
        ("d", 0.0, e.HIGH),  # one team only
    ]
    summaries = e.summarize_criteria(["a", "b", "c", "d"], rows, teams=3)
    assert [s.mean for s in summaries] == [85.0, 100.0, 20.0, 0.0]
    best, worst = e.strongest_and_weakest(summaries)
    assert (best.key, worst.key) == ("a", "c")


def test_it_maps_what_each_teams_decisions_released_to_whom():
    """The leak the cloud's payment released reached both dependents; a release with no
    cause (the SIEM alert) is no part of the map; a consequence sent to the cloud's own
    team or to a team that does not depend on the sender is shown as such."""
    ex = tiny()
    caused = replace(ex.releases[1], cause_team_id=CLOUD)
    to_bank = e.ReleaseIn(902, 501, "Bank run", frozenset({CLOUD, HOSPITAL}), 950, BANK)
    pay = replace(ex.prompts[0].options[1], consequence_inject_ids=frozenset({500}))
    wait = replace(ex.prompts[0].options[2], consequence_inject_ids=frozenset({501}))
    prompt = replace(ex.prompts[0], options=(ex.prompts[0].options[0], pay, wait))
    ex = replace(ex, prompts=(prompt,), releases=(ex.releases[0], caused, to_bank))
    links = e.cascade_map(ex)
    assert [(link.source.id, link.target.id, link.dependent) for link in links] == [
        (CLOUD, HOSPITAL, True),
        (CLOUD, BANK, True),
        (BANK, CLOUD, False),
        (BANK, HOSPITAL, False),
    ]
    assert links[0].items == (("Pay the ransom", "Leak site"),)
    assert links[2].items == (("Wait", "Bank run"),)
    assert e.cascade_map(tiny()) == []  # no release names the team that caused it


def test_rfis_over_shares_and_community_warnings_feed_the_collaboration_criteria():
    isac = e.TeamIn(4, "Sector ISAC", "isac", "finance", 14, "ISAC")
    coordination = e.CriterionIn("coordination", "Coordination", "CO")
    ex = replace(
        tiny(),
        criteria=(*criteria(), coordination),
        teams=(*teams(), isac),
        rfis=(
            e.RfiIn(1, CLOUD, BANK, 100.0, 400.0),  # answered after 300 s: 100
            e.RfiIn(2, CLOUD, BANK, 100.0, None),  # left open: 0
            e.RfiIn(3, BANK, None, 0.0, 10.0),  # to the control cell: nobody's behaviour
        ),
        attempts=(e.SharingAttemptsIn(HOSPITAL, 1, 1), e.SharingAttemptsIn(CLOUD, 2, 0)),
        # The first report at 200 s, the warning at 1250 s: 1050 s, (1800 - 1050) / 1500.
        coordinating=(e.CoordinatingIn(4, (200.0, 900.0), (1250.0,)),),
    )
    scores = {(s.team_id, s.criterion_key): s for s in e.compute_scores(ex)}
    # The bank exchanged nothing with the cloud (0), answered one RFI fast, one never.
    assert scores[(BANK, "coordination")].components["behaviour"] == round((0 + 100 + 0) / 3, 1)
    assert scores[(4, "coordination")].value == 50.0
    assert any(
        "Warned every team 1050 s" in i["text"] for i in scores[(4, "coordination")].evidence
    )
    # One of the hospital's two sharing attempts was an over-share.
    assert scores[(HOSPITAL, "info-sharing")].components["behaviour"] == 50.0
    # A team whose markings refused nothing keeps its figure.
    assert scores[(CLOUD, "info-sharing")].value == table(tiny())[(CLOUD, "info-sharing")]
    assert e.community_warning_delay(ex.coordinating[0]) == 1050.0
