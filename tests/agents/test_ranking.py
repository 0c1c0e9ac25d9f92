"""The ranking nodes: measurements overrule opinions.

Node tests drive ``rank_proposals`` and ``rank_results`` on hand-built states with the
scripted fake LLM (plumbing only: its verdicts are fixed, not judged). The graph test
runs two rounds on data where logistic regression is measurably best, with a fake judge
that always prefers the other side.
"""

from __future__ import annotations

import importlib.util
import statistics
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agents import RunContext
from agents._elo import INITIAL_ELO, K_JUDGED, elo_update, fit_ratings, update_against_anchor
from agents._messages import Budgets, Hypothesis, Match, Prediction, ResearchPlan
from agents._schedule import leader_order
from agents._state import merge_by_key
from agents.nodes.ranking import current_ratings, measured_ratings, rank_proposals, rank_results
from automl_backend import ExperimentResult, ExperimentSpec

CLEARLY_BEST = [0.95, 0.96, 0.94]
"""Far above the others on every fold: wins its measured matches."""
AVERAGE = [0.80, 0.83, 0.78]
AVERAGE_TOO = [0.81, 0.79, 0.80]
"""Noisy and close to AVERAGE: a measured draw."""
GOOD = [0.88, 0.90, 0.87]
POOR = [0.70, 0.72, 0.69]
ROUND_ONE = {"H1": AVERAGE, "H2": CLEARLY_BEST, "H3": AVERAGE_TOO, "H4": POOR, "H5": GOOD}
"""A mix of decisive and drawn measured matches (online Elo would depend on their order)."""


def _plan() -> ResearchPlan:
    budgets = Budgets(
        rounds=2,
        hypotheses_per_round=3,
        children_per_round=0,
        trials_per_experiment=4,
        experiment_time_s=30,
        folds=3,
        seed=0,
    )
    return ResearchPlan(
        goal="Which family is best?",
        task="binary",
        metric="accuracy",
        objective="o",
        dataset="d",
        budgets=budgets,
    )


def _hypothesis(hid: str, round_: int = 1) -> Hypothesis:
    return Hypothesis(
        id=hid,
        round=round_,
        origin="generation",
        statement=f"Claim {hid}",
        prediction=Prediction(direction="better", min_effect_points=1.0, control="b"),
        experiment=ExperimentSpec.for_families(["knn"]),
        status="approved",
    )


def _tested(h: Hypothesis, folds: list[float]) -> Hypothesis:
    result = ExperimentResult(
        status="ok", metric="accuracy", best_score=statistics.mean(folds), fold_scores=folds
    )
    return h.model_copy(update={"status": "tested", "result": result})


def _state(hypotheses: list[Hypothesis], round_: int = 1) -> dict[str, Any]:
    return {
        "plan": _plan(),
        "baseline": None,
        "round": round_,
        "hypotheses": {h.id: h for h in hypotheses},
        "matches": [],
        "elo": dict.fromkeys((h.id for h in hypotheses), INITIAL_ELO),
        "elo_history": [],
        "embeddings": {},
    }


def _apply(state: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """The graph's reducers for the keys the ranking nodes write."""
    for key in ("matches", "elo_history"):
        state[key] = state[key] + update.get(key, [])
    for key in ("elo", "hypotheses"):
        state[key] = merge_by_key(state[key], update.get(key))
    return state


def _runtime(**context: Any) -> SimpleNamespace:
    events: list[Any] = []
    ctx = RunContext(llm_matches_per_round=10, time_budget_s=None, **context)
    return SimpleNamespace(context=ctx, stream_writer=events.append, events=events)


def _test(state: dict[str, Any], folds: dict[str, list[float]]) -> dict[str, Any]:
    """What the experiment step would write: these hypotheses now have results."""
    hypotheses = state["hypotheses"]
    return _apply(state, {"hypotheses": {h: _tested(hypotheses[h], f) for h, f in folds.items()}})


def test_a_judged_match_against_a_tested_hypothesis_moves_only_the_untested_side(
    fakes: Any,
) -> None:
    state = _test(_state([_hypothesis("H1"), _hypothesis("H3")]), {"H1": CLEARLY_BEST})
    state = _test(state, {"H3": AVERAGE})
    state = _apply(state, rank_results(state, _runtime()))
    anchors = {"H1": state["elo"]["H1"], "H3": state["elo"]["H3"]}
    assert anchors["H1"] > INITIAL_ELO > anchors["H3"]  # H1 won its measured match
    state = _apply(state, {"hypotheses": {"H2": _hypothesis("H2", 2), "H4": _hypothesis("H4", 2)}})
    state["round"] = 2
    update = rank_proposals(state, _runtime(), llm=fakes.ScriptedFakeLLM(verdict="A"))
    judged = update["matches"]
    assert len(judged) == 5  # H2 and H4 against everyone in play
    for m in judged:
        before = {m.a: m.elo_before[0], m.b: m.elo_before[1]}
        after = {m.a: m.elo_after[0], m.b: m.elo_after[1]}
        if m.anchor is None:  # two untested hypotheses: an ordinary zero-sum match
            assert {m.a, m.b} == {"H2", "H4"}
            assert m.elo_after == pytest.approx(elo_update(*m.elo_before, 1.0, k=K_JUDGED))
            continue
        mover = ({m.a, m.b} - {m.anchor}).pop()
        assert m.anchor in anchors and mover in ("H2", "H4")
        assert after[m.anchor] == before[m.anchor] == anchors[m.anchor]
        mover_score = 1.0 if (m.winner == "a") == (m.a == mover) else 0.0
        expected = update_against_anchor(before[mover], before[m.anchor], mover_score)
        assert after[mover] == pytest.approx(expected) and after[mover] != before[mover]
        assert f"{m.anchor} is tested" in m.reason and f"only {mover}'s rating moved" in m.reason
    assert {h: update["elo"][h] for h in anchors} == anchors
    assert update["elo_history"][0].phase == "proposals"


def _two_rounds(fakes: Any, verdict: str) -> tuple[dict[str, Any], dict[str, float]]:
    """Round 1: five proposals judged, then tested; round 2: a newcomer judged against
    the tested ones, then tested. Returns the final state and the pre-test ratings."""
    runtime = _runtime()
    llm = fakes.ScriptedFakeLLM(verdict=verdict)
    state = _state([_hypothesis(h) for h in ROUND_ONE])
    state = _apply(state, rank_proposals(state, runtime, llm=llm))
    pre_test = dict(state["elo"])
    state = _test(state, ROUND_ONE)
    state = _apply(state, rank_results(state, runtime))
    state["round"] = 2
    state = _apply(state, {"hypotheses": {"H6": _hypothesis("H6", 2)}, "elo": {"H6": INITIAL_ELO}})
    tested_before = {h: state["elo"][h] for h in ROUND_ONE}
    state = _apply(state, rank_proposals(state, runtime, llm=llm))
    assert {h: state["elo"][h] for h in tested_before} == tested_before  # anchors held
    pre_test["H6"] = state["elo"]["H6"]
    state = _test(state, {"H6": AVERAGE})
    state = _apply(state, rank_results(state, runtime))
    return state, pre_test


def test_a_tested_rating_does_not_depend_on_the_llm_matches_before_testing(fakes: Any) -> None:
    fond_of_a, pre_a = _two_rounds(fakes, "A")
    fond_of_b, pre_b = _two_rounds(fakes, "B")
    assert pre_a != pre_b  # the judge's opinions differed ...
    assert fond_of_a["elo"] == fond_of_b["elo"]  # ... and the tested ratings do not care
    measured = [(m.a, m.b, m.winner) for m in fond_of_a["matches"] if m.method == "measured"]
    assert measured == [
        (m.a, m.b, m.winner) for m in fond_of_b["matches"] if m.method == "measured"
    ]
    # Both judged rounds really played and were kept in the history with their reasons.
    judged = [m for m in fond_of_a["matches"] if m.method != "measured"]
    assert {m.round for m in judged} == {1, 2} and all(m.reason for m in judged)
    assert all(m.anchor is not None for m in judged if m.round == 2)
    # The measured winner leads, and the measured loser trails.
    order = leader_order(fond_of_a["hypotheses"], fond_of_a["elo"])
    assert order[0] == "H2" and order[-1] == "H4"


def test_rebuilt_ratings_fit_all_measured_matches_and_record_what_they_superseded(
    fakes: Any,
) -> None:
    state, pre_test = _two_rounds(fakes, "A")
    tested = [*ROUND_ONE, "H6"]
    measured = [m for m in state["matches"] if m.method == "measured"]
    games = [(m.a, m.b, {"a": 1.0, "b": 0.0, "draw": 0.5}[m.winner]) for m in measured]
    assert {h: state["elo"][h] for h in tested} == fit_ratings(games, tested)
    assert measured_ratings(state["matches"], tested) == fit_ratings(games[::-1], tested)
    # Each measured match records its own online update from the ratings it was played at.
    for m in measured:
        score = {"a": 1.0, "b": 0.0, "draw": 0.5}[m.winner]
        assert m.elo_after == pytest.approx(elo_update(*m.elo_before, score), abs=1e-9)
    results = [s for s in state["elo_history"] if s.phase == "results"]
    assert [s.round for s in results] == [1, 2]
    assert results[0].superseded == {h: pre_test[h] for h in ROUND_ONE}
    assert results[1].superseded == {"H6": pre_test["H6"]}
    assert results[-1].ratings == state["elo"]


def test_ratings_are_derived_from_the_state_alone(fakes: Any) -> None:
    state, _ = _two_rounds(fakes, "A")
    tested = {h: state["elo"][h] for h in (*ROUND_ONE, "H6")}
    # A state whose stored ratings were lost or tampered with rates the same after a pass.
    damaged = {**state, "elo": {**state["elo"], "H1": 1500.0, "H2": 900.0}}
    rebuilt, superseded = current_ratings(damaged)
    assert {h: rebuilt[h] for h in tested} == tested
    assert superseded == {"H1": 1500.0, "H2": 900.0}
    # A second results pass (as after a resume) finds nothing new and changes nothing.
    again = rank_results(state, _runtime())
    assert again["matches"] == [] and again["elo"] == state["elo"]
    assert again["elo_history"][0].superseded == {}


def _bench_agents() -> Any:
    """bench/agents.py as a module (bench/ is scripts, not a package)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "agents.py"
    spec = importlib.util.spec_from_file_location("bench_agents_for_tests", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_all_measured_draws_leave_everyone_at_1200_and_the_best_score_leads(fakes: Any) -> None:
    runtime = _runtime()
    state = _state([_hypothesis("H1"), _hypothesis("H2"), _hypothesis("H3")])
    state = _apply(state, rank_proposals(state, runtime, llm=fakes.ScriptedFakeLLM(verdict="A")))
    assert len(set(state["elo"].values())) > 1  # the judge had opinions
    close = {"H1": [0.80, 0.82, 0.78], "H2": [0.81, 0.79, 0.82], "H3": [0.79, 0.80, 0.80]}
    state = _test(state, close)
    state = _apply(state, rank_results(state, runtime))
    measured = [m for m in state["matches"] if m.method == "measured"]
    assert len(measured) == 3 and all(m.winner == "draw" for m in measured)
    assert {h: state["elo"][h] for h in close} == dict.fromkeys(close, 1200.0)
    # No measured difference, so nobody leads on Elo: the measured mean score decides.
    assert leader_order(state["hypotheses"], state["elo"]) == ["H2", "H1", "H3"]
    scores = {h: state["hypotheses"][h].result.best_score for h in close}
    kendall_tau = _bench_agents().kendall_tau
    assert kendall_tau({h: state["elo"][h] for h in close}, scores) is None  # undefined
    assert kendall_tau({"H1": 1216.0, "H2": 1200.0, "H3": 1184.0}, scores) == pytest.approx(1 / 3)


def test_the_bench_pools_folds_into_one_paired_comparison() -> None:
    bench = _bench_agents()

    def row(system: str, fold: int, wrong: list[int], n: int = 10) -> dict[str, Any]:
        figures = {"wall_s": 300.0, "llm_s": 60.0, "rounds": 2, "tested": 6,
                   "decisive_measured": 1, "measured_matches": 9, "kendall_tau": None}  # fmt: skip
        return {"system": system, "dataset": "german", "fold": fold, "n_test": n,
                "error_rate": len(wrong) / n, "wrong_rows": wrong, **figures}  # fmt: skip

    rows = [
        row("backend", 0, [1, 2]), row("cosci", 0, [1, 3, 4]),  # cosci alone: 3, 4; backend: 2
        row("backend", 1, [5, 6]), row("cosci", 1, [6]),  # backend alone: 5
    ]  # fmt: skip
    summary = bench.summarise(rows)
    assert summary["cases"] == 2
    # Per fold 3/2 and 1/2: the geometric mean of the two ratios.
    assert summary["geomean error ratio cosci/backend"] == pytest.approx(
        (1.5 * 0.5) ** 0.5, abs=1e-3
    )
    paired = summary["paired test rows"]
    assert (paired["test rows"], paired["only cosci wrong"], paired["only backend wrong"]) == (
        20, 2, 2,
    )  # fmt: skip
    assert paired["McNemar exact p"] == 1.0
    # Rows from before the wrong rows were recorded: no paired comparison, no crash.
    old = [{k: v for k, v in r.items() if k != "wrong_rows"} for r in rows]
    assert "paired test rows" not in bench.summarise(old)
    # Both folds appear in the table, each under its own label.
    table = bench._table(rows, [("german", 0), ("german", 1)], 300)
    assert "german (fold 0)" in table and "german (fold 1)" in table


@pytest.mark.slow
def test_two_round_run_ranks_tested_hypotheses_by_measurement_despite_the_judge(
    fakes: Any, linear_csv: Path, tmp_path: Path
) -> None:
    """The judge always prefers the side that is not logistic regression, which on this
    data is measurably the best family; the final ratings of tested hypotheses follow the
    measurements anyway."""

    def contrarian(messages: list[Any], schema: Any) -> dict[str, Any]:
        case = messages[1].content  # the match's case, in single turns and debates alike
        side_a = case.split("Hypothesis A (", 1)[1].split("Hypothesis B (", 1)[0]
        return {"winner": "B" if "logistic" in side_a else "A", "reason": "Scripted contrarian."}

    llm = fakes.ScriptedFakeLLM(
        ["knn", "logistic", "extra_trees", "logistic"], answers={"MatchVerdict": contrarian}
    )
    context = RunContext(
        rounds=2,
        hypotheses_per_round=2,
        children_per_round=0,
        trials_per_experiment=3,
        experiment_time_s=60.0,
        time_budget_s=None,
        folds=3,
        auto_approve=True,
        llm_matches_per_round=4,
    )
    run = fakes.start_run(tmp_path / "run", llm, context, data=str(linear_csv), target="label")
    state = run.state()
    assert run.status() == "finished"
    hypotheses = state["hypotheses"]
    tested = sorted(h.id for h in hypotheses.values() if h.tested)
    assert len(tested) == 4
    matches: list[Match] = state["matches"]
    judged = [m for m in matches if m.method != "measured"]
    assert judged and any(m.anchor for m in judged)  # round 2 judged newcomers vs tested ones
    elo = state["elo"]
    assert {h: elo[h] for h in tested} == measured_ratings(matches, tested)
    decisive = [m for m in matches if m.method == "measured" and m.winner != "draw"]
    assert decisive
    for m in decisive:
        winner, loser = (m.a, m.b) if m.winner == "a" else (m.b, m.a)
        assert elo[winner] > elo[loser], m.reason
    leader = hypotheses[leader_order(hypotheses, elo)[0]]
    assert leader.families == ["logistic"]
    best = max(tested, key=lambda h: hypotheses[h].result.best_score)
    assert leader.result.best_score == hypotheses[best].result.best_score


def test_unpaired_fold_scores_are_a_draw_not_a_crash() -> None:
    # A checkpoint from before the run's one fold plan: 3 folds against a 1-split holdout.
    state = _test(_state([_hypothesis("H1"), _hypothesis("H2")]), {"H1": CLEARLY_BEST})
    state = _test(state, {"H2": [0.8]})
    update = rank_results(state, _runtime())
    (match,) = update["matches"]
    assert match.winner == "draw" and "not comparable" in match.reason
