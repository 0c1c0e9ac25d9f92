"""The supervisor's stopping rules and how it spends a time budget (unit tests, and whole
runs on a simulated clock)."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import agents._guard
from agents import ResearchRun, RunConfig
from agents._budget import LAST_ROUND_TRIAL_FACTOR, MIN_EXPERIMENT_S
from agents._context import RunContext
from agents._messages import DatasetProfile, EloSnapshot
from agents._signature import arm_key
from agents._specs import with_budget
from agents.nodes.supervisor import (
    outlook,
    round_time,
    route_experiments,
    spent_fraction,
    stop_reason,
)
from automl_backend import ExperimentResult, ExperimentSpec, TrialConfig
from tools import ArmRun, Toolbox


def _tested(hid: str):
    from agents._messages import Hypothesis, Prediction
    from automl_backend import ExperimentResult, ExperimentSpec, TrialConfig

    result = ExperimentResult(
        status="ok",
        metric="accuracy",
        best_score=0.9,
        fold_scores=[0.9, 0.9],
        best_config=TrialConfig(family="knn"),
    )
    return Hypothesis(
        id=hid,
        round=1,
        origin="generation",
        statement="s",
        status="tested",
        result=result,
        prediction=Prediction(direction="better", min_effect_points=1.0, control="b"),
        experiment=ExperimentSpec.for_families(["knn"]),
        control=ExperimentSpec.for_families(["logistic"]),
    )


def test_stable_elo_with_the_same_leader_stops_the_run() -> None:
    ctx = RunContext(rounds=5, time_budget_s=None, elo_stable_delta=10)
    hypotheses = {h: _tested(h) for h in ("H1", "H2")}

    def state(after: dict, before: dict | None = None) -> dict:
        before = before or {"H1": 1220.0, "H2": 1180.0}
        history = [
            EloSnapshot(round=1, phase="results", ratings=before),
            EloSnapshot(round=2, phase="results", ratings=after),
        ]
        return {"round": 2, "spent_s": 0.0, "elo_history": history, "hypotheses": hypotheses}

    assert "stable" in stop_reason(state({"H1": 1225.0, "H2": 1175.0}), ctx)
    assert stop_reason(state({"H1": 1240.0, "H2": 1160.0}), ctx) is None  # still moving
    close = {"H1": 1201.0, "H2": 1200.0}
    assert stop_reason(state({"H1": 1199.0, "H2": 1202.0}, close), ctx) is None  # new leader


def test_stop_rules() -> None:
    ctx = RunContext(rounds=3, time_budget_s=100)
    assert stop_reason({"round": 3, "spent_s": 0.0}, ctx) == "completed 3 round(s)"
    assert "time budget" in stop_reason({"round": 1, "spent_s": 150.0}, ctx)
    assert stop_reason({"round": 1, "spent_s": 10.0}, ctx) is None


def test_no_new_round_when_the_time_left_cannot_pay_for_more_than_the_llm() -> None:
    ctx = RunContext(rounds=5, time_budget_s=300, llm_share=None)
    state = {"round": 2, "spent_s": 200.0, "llm_s_by_round": {1: 30.0, 2: 60.0}}
    assert "nearly spent" in stop_reason(state, ctx)  # 100 s left < 2 x 60 s + overview
    state["llm_s_by_round"] = {2: 40.0}
    assert stop_reason(state, ctx) is None


# ------------------------------------------------------------------ spending a time budget

# The benchmark's settings (bench/agents.py): 10 nominal LLM calls a round.
BENCH: dict[str, Any] = {
    "rounds": 50,
    "hypotheses_per_round": 4,
    "children_per_round": 1,
    "trials_per_experiment": 60,
    "experiment_time_s": 60.0,
    "time_budget_s": 300.0,
    "llm_matches_per_round": 1,
    "debate_top_k": 1,
    "folds": 3,
    "auto_approve": True,
}
TRIALS = {"H1": 90, "H2": 60, "H3": 50, "H4": 40}
# Round 1 before its experiments: plan 10 s, 45 s of round-1 LLM work (5 s a call).
OPEN_ROUND = {"round": 1, "spent_s": 60.0, "llm_s_by_round": {0: 10.0, 1: 45.0}}


def test_the_share_cap_makes_a_round_the_last_and_it_takes_the_rest() -> None:
    ctx = RunContext(**BENCH)
    trials, seconds, last = round_time(OPEN_ROUND, ctx, TRIALS)
    # 55 s + meta-review 5 + another round 50 + overview 5 > 25 % of 300 s.
    assert last is not None and last.startswith("LLM share cap:")
    reserve = outlook(OPEN_ROUND, ctx, round_done=False).end_reserve_s
    assert reserve == pytest.approx(10.0)  # meta-review and overview, 5 s each
    assert sum(seconds.values()) == pytest.approx(300.0 - 60.0 - reserve)
    assert seconds["H1"] / seconds["H4"] == pytest.approx(90 / 40)
    assert trials == {h: n * LAST_ROUND_TRIAL_FACTOR for h, n in TRIALS.items()}

    # After the round, with the experiments' and the meta-review's seconds booked, the
    # supervisor stops for the same reason.
    after = {"round": 1, "spent_s": 60.0 + sum(seconds.values()) + 5.0}
    after["llm_s_by_round"] = {0: 10.0, 1: 50.0}
    reason = stop_reason(after, ctx)
    assert reason is not None and reason.startswith("LLM share cap:")


def test_without_the_cap_a_round_with_room_after_it_keeps_its_usual_caps() -> None:
    ctx = RunContext(**{**BENCH, "time_budget_s": 3000.0, "llm_share": None})
    trials, seconds, last = round_time(OPEN_ROUND, ctx, TRIALS)
    assert last is None and trials == TRIALS
    assert seconds == {h: 60.0 * n / 60 for h, n in TRIALS.items()}
    after = {**OPEN_ROUND, "spent_s": 60.0 + sum(seconds.values()) + 5.0}
    assert stop_reason(after, ctx) is None  # and the supervisor agrees


def test_a_round_after_which_no_round_fits_in_time_is_the_last() -> None:
    # 190 s to share; even half of it (95 s) would leave 100 s, less than 2 x 50 + 5.
    ctx = RunContext(**{**BENCH, "time_budget_s": 260.0, "llm_share": None})
    trials, seconds, last = round_time(OPEN_ROUND, ctx, TRIALS)
    assert last is not None and last.startswith("time budget nearly spent")
    assert sum(seconds.values()) == pytest.approx(260.0 - 60.0 - 10.0)
    assert trials["H1"] == 90 * LAST_ROUND_TRIAL_FACTOR


def test_the_first_round_takes_half_the_time_left_so_a_second_one_fits() -> None:
    # 330 s to share: the usual caps (240 s) would leave 95 s, too little for another
    # round (2 x 50 + 5); half of it (165 s) leaves 170 s.
    ctx = RunContext(**{**BENCH, "time_budget_s": 400.0, "llm_share": None, "planned_rounds": 2})
    trials, seconds, last = round_time(OPEN_ROUND, ctx, TRIALS)
    assert last is None and trials == TRIALS
    assert sum(seconds.values()) == pytest.approx((400.0 - 60.0 - 10.0) / 2)
    assert seconds["H1"] / seconds["H4"] == pytest.approx(90 / 40)
    # The second round is not held back: its usual caps, or the rest if it is the last.
    second = {**OPEN_ROUND, "round": 2, "spent_s": 60.0 + 165.0 + 55.0}
    second["llm_s_by_round"] = {0: 10.0, 1: 50.0, 2: 45.0}
    trials, seconds, last = round_time(second, ctx, TRIALS)
    assert last is not None and sum(seconds.values()) == pytest.approx(400.0 - 280.0 - 10.0)


def test_the_rounds_limit_makes_the_last_round_take_the_rest() -> None:
    ctx = RunContext(**{**BENCH, "rounds": 1, "time_budget_s": 3000.0, "llm_share": None})
    trials, seconds, last = round_time(OPEN_ROUND, ctx, TRIALS)
    assert last == "round 1 of 1"
    assert sum(seconds.values()) == pytest.approx(3000.0 - 60.0 - 10.0)
    assert trials["H4"] == 40 * LAST_ROUND_TRIAL_FACTOR
    # A budget that is only a ceiling: the same time caps, the allocated trials end them.
    ceiling = ctx.model_copy(update={"fill_time_budget": False})
    assert round_time(OPEN_ROUND, ceiling, TRIALS) == (TRIALS, seconds, last)


def test_without_a_time_budget_nothing_changes() -> None:
    ctx = RunContext(**{**BENCH, "rounds": 1, "time_budget_s": None})
    trials, seconds, last = round_time(OPEN_ROUND, ctx, {**TRIALS, "H5": 6})
    assert last is None and trials == {**TRIALS, "H5": 6}
    assert seconds == {**{h: float(n) for h, n in TRIALS.items()}, "H5": MIN_EXPERIMENT_S}
    # However much the LLM took, the cap needs a budget to apply.
    heavy = {"round": 1, "spent_s": 1e6, "llm_s_by_round": {0: 1e5, 1: 1e5}}
    assert stop_reason(heavy, RunContext(**{**BENCH, "time_budget_s": None})) is None


def test_the_share_cap_stops_the_run_between_rounds() -> None:
    state = {"round": 1, "spent_s": 100.0, "llm_s_by_round": {0: 10.0, 1: 60.0}}
    reason = stop_reason(state, RunContext(**BENCH))
    assert reason is not None and reason.startswith("LLM share cap:")
    assert stop_reason(state, RunContext(**{**BENCH, "llm_share": None})) is None
    assert stop_reason(state, RunContext(**{**BENCH, "llm_share": 0.5})) is None


def test_experiments_get_the_time_caps_kept_in_the_state() -> None:
    ctx = RunContext(**BENCH)
    h = _tested("H1").model_copy(update={"status": "approved", "result": None})
    state: dict[str, Any] = {
        **OPEN_ROUND,
        "hypotheses": {"H1": h},
        "allocation": {"H1": 600},
        "allocation_s": {"H1": 123.0},
        "profile": DatasetProfile.model_construct(name="tiny", task="binary"),
    }
    runtime = SimpleNamespace(context=ctx)
    (send,) = route_experiments(state, runtime)  # type: ignore[arg-type]
    budget = send.arg.spec.budget
    assert (budget.n_trials, budget.time_s) == (600, 123.0 / 2)  # half each for two arms
    assert send.arg.control is not None and send.arg.control.budget == budget
    # A checkpoint from before the caps were kept: recomputed from the state alone.
    del state["allocation_s"]
    (send,) = route_experiments(state, runtime)  # type: ignore[arg-type]
    assert send.arg.spec.budget.time_s == round_time(state, ctx, {"H1": 600})[1]["H1"] / 2


# ---------------------------------------------------------------- whole runs, simulated time


class _Clock:
    """Simulated seconds: LLM calls and experiments advance it, nothing sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


class _ClockedFakeLLM:
    """FOR TESTS ONLY: the scripted fake LLM, each call "taking" ``call_s`` simulated
    seconds (plumbing for the budget rules; says nothing about a real model)."""

    def __init__(self, inner: Any, clock: _Clock, call_s: float) -> None:
        self.inner, self.clock, self.call_s = inner, clock, call_s

    def complete(self, messages: Any, schema: Any = None, **kwargs: Any) -> Any:
        self.clock.now += self.call_s
        return self.inner.complete(messages, schema, **kwargs)


# Simulated seconds per trial and score. The fast families would finish their usual 60
# trials in 9-12 s, far inside a 60 s cap; ten times as many fill it.
_FAMILIES = {
    "logistic": (0.15, 0.960),
    "knn": (0.2, 0.930),
    "random_forest": (1.0, 0.950),
    "extra_trees": (0.8, 0.955),
}


class _SimulatedToolbox(Toolbox):
    """FOR TESTS ONLY: a toolbox whose experiments are simulated, not run: each "takes"
    its trials' seconds or its time cap, whichever is less. A control arm identical to
    one already simulated is reused at no cost, as the real toolbox does. ``crash`` names
    experiments that raise once, as a killed process would stop them."""

    def __init__(self, *args: Any, crash: set[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.crash = set(crash or ())
        self.specs: dict[str, ExperimentSpec] = {}
        self.resumed: list[str] = []
        """Experiments run after a resume (filled by ``_simulated_run``)."""
        self.shared: dict[str, ExperimentResult] = {}
        self.reused: list[str] = []
        """Control arms answered with the result of an identical arm already simulated."""

    def run_arm(
        self,
        name: str,
        spec: ExperimentSpec,
        *,
        warm_start: Any = (),
        progress: Any = None,
        reuse_key: str | None = None,
    ) -> ArmRun:
        if reuse_key is not None and reuse_key in self.shared:
            self.reused.append(name)
            return ArmRun(self.shared[reuse_key], 0.0)
        self.specs[name] = spec
        if name in self.crash:
            self.crash.discard(name)
            raise RuntimeError(f"simulated kill during {name}")
        family = spec.models[0].family
        per_trial, score = _FAMILIES.get(family, (2.0, 0.94))
        time_s, n = spec.budget.time_s or math.inf, spec.budget.n_trials or 1
        result = ExperimentResult(
            status="ok",
            metric=spec.metric or "accuracy",
            best_score=score,
            fold_scores=[score - 0.01, score, score + 0.01],
            best_config=TrialConfig(family=family),
            n_trials=min(n, max(1, int(time_s / per_trial))),
            fit_time_s=min(time_s, n * per_trial),
        )
        if reuse_key is not None:
            self.shared[reuse_key] = result
        return ArmRun(result, result.fit_time_s)


def _simulated_run(
    fakes: Any,
    run_dir: Path,
    context: RunContext,
    monkeypatch: pytest.MonkeyPatch,
    *,
    crash: set[str] | None = None,
    call_s: float = 5.0,
) -> tuple[ResearchRun, _SimulatedToolbox]:
    clock = _Clock()
    monkeypatch.setattr(agents._guard, "time", SimpleNamespace(perf_counter=clock.perf_counter))
    config = RunConfig(
        goal="Which model family predicts the target best?",
        data="sklearn:breast_cancer",
        context=context,
        use_memory=False,
    )
    run = ResearchRun.create(run_dir, config)
    llm = _ClockedFakeLLM(fakes.ScriptedFakeLLM(), clock, call_s=call_s)

    def toolbox(crash: set[str] | None) -> _SimulatedToolbox:
        return _SimulatedToolbox(
            config.data, run_dir=run.dir, embed=fakes.hash_embed, run_name="sim", crash=crash
        )

    tools = toolbox(crash)
    try:
        list(run.advance(llm, tools))
    except RuntimeError as exc:
        assert "simulated kill" in str(exc)
        state = ResearchRun.open(run_dir).state()
        resumed = toolbox(None)
        # The arms that finished before the kill are on disk, where the real toolbox finds
        # an identical control again.
        resumed.shared = tools.shared
        list(ResearchRun.open(run_dir).advance(llm, resumed))
        for name, spec in resumed.specs.items():
            hid = name.removesuffix("-control")
            # Each arm gets the hypothesis's trials (the treatment no more than its
            # control completed) and half its time.
            assert spec.budget.n_trials <= state["allocation"][hid]
            assert spec.budget.time_s == state["allocation_s"][hid] / 2
        tools.specs.update(resumed.specs)
        tools.resumed = sorted(resumed.specs)
    return run, tools


def _llm_s(state: dict[str, Any]) -> float:
    return sum(state["llm_s_by_round"].values())


@pytest.fixture
def capped_run(
    fakes: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[ResearchRun, _SimulatedToolbox]:
    return _simulated_run(fakes, tmp_path / "run", RunContext(**BENCH), monkeypatch)


def test_a_capped_run_keeps_the_llm_share_and_gives_both_arms_equal_trials(
    capped_run: tuple[ResearchRun, _SimulatedToolbox],
) -> None:
    run, tools = capped_run
    state = run.state()
    assert run.status() == "finished"
    assert state["stop_reason"].startswith("LLM share cap:")
    assert state["round"] == 1
    assert _llm_s(state) <= 0.25 * 300.0
    assert state["spent_s"] <= 300.0
    for name in state["allocation"]:
        h = state["hypotheses"][name]
        control_spec = tools.specs.get(f"{name}-control")
        if control_spec is not None:
            # Time, not the (multiplied) trial limit, ended the control's search ...
            assert h.control_result.fit_time_s == pytest.approx(control_spec.budget.time_s)
            assert h.control_result.n_trials < control_spec.budget.n_trials
        # ... and the treatment got no more trials than its control completed.
        assert tools.specs[name].budget.n_trials <= h.control_result.n_trials
        assert h.result.n_trials <= h.control_result.n_trials


def test_without_the_cap_the_same_run_goes_on_and_the_llm_takes_more(
    fakes: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shorter experiments leave room for more rounds; only time ends the run.
    settings = {**BENCH, "experiment_time_s": 20.0, "llm_share": None, "elo_stable_delta": 0.0}
    run, _ = _simulated_run(fakes, tmp_path / "run", RunContext(**settings), monkeypatch)
    state = run.state()
    assert state["round"] >= 2
    assert _llm_s(state) > 0.25 * 300.0
    assert state["stop_reason"].startswith("time budget nearly spent")
    assert 300.0 - 15.0 <= state["spent_s"] <= 300.0  # its last round took the rest too
    capped = RunContext(**{**settings, "llm_share": 0.25})
    run, _ = _simulated_run(fakes, tmp_path / "capped", capped, monkeypatch)
    assert run.state()["round"] == 1 and _llm_s(run.state()) <= 0.25 * 300.0


def _arm(family: str) -> ExperimentSpec:
    return ExperimentSpec.model_validate({"models": [{"family": family}], "seed": 0})


def _sharing_round() -> dict[str, Any]:
    """OPEN_ROUND with four hypotheses: H1-H3 share a control, H4 has its own."""
    shared, own = _arm("hist_gradient_boosting"), _arm("random_forest")
    hypotheses = {
        h: SimpleNamespace(control=c)
        for h, c in (("H1", shared), ("H2", shared), ("H3", shared), ("H4", own))
    }
    return {**OPEN_ROUND, "hypotheses": hypotheses}


def test_a_control_shared_by_several_hypotheses_is_planned_once() -> None:
    state = _sharing_round()
    equal = dict.fromkeys(TRIALS, 60)
    # Four treatments and two distinct controls: six arms of the eight paid for.
    assert spent_fraction(state, equal) == pytest.approx(6 / 8)
    # An earlier round ran the shared control with these trials: it is not run again.
    key = arm_key(with_budget(state["hypotheses"]["H1"].control, 60, 1.0))
    done = ExperimentResult(status="ok", metric="accuracy", best_score=0.9)
    assert spent_fraction({**state, "arms": {key: done}}, equal) == pytest.approx(5 / 8)
    # A failed one is.
    failed = ExperimentResult(status="failed", metric="accuracy", reason="r")
    assert spent_fraction({**state, "arms": {key: failed}}, equal) == pytest.approx(6 / 8)
    # Without controls, every hypothesis's seconds are spent.
    no_controls = {**state, "hypotheses": {h: SimpleNamespace(control=None) for h in equal}}
    assert spent_fraction(no_controls, equal) == 1.0


def test_the_last_round_spends_the_time_its_shared_controls_leave() -> None:
    ctx = RunContext(**BENCH)
    state = _sharing_round()
    equal = dict.fromkeys(TRIALS, 60)
    trials, seconds, last = round_time(state, ctx, equal)
    assert last is not None and set(trials.values()) == {60 * LAST_ROUND_TRIAL_FACTOR}
    reserve = outlook(state, ctx, round_done=False).end_reserve_s
    # Half of each hypothesis's seconds per arm; the arms that run use all the time left.
    arm_s = {h: t / 2 for h, t in seconds.items()}
    assert sum(arm_s.values()) + arm_s["H1"] + arm_s["H4"] == pytest.approx(300.0 - 60.0 - reserve)
    assert len(set(arm_s.values())) == 1  # equal trials, equal caps


def test_by_default_the_first_round_is_not_held_back_for_a_second() -> None:
    # The same 400 s as above without planned_rounds: the usual caps (240 s) leave too
    # little for another round, so this round is the last and takes all the time left.
    ctx = RunContext(**{**BENCH, "time_budget_s": 400.0, "llm_share": None})
    trials, seconds, last = round_time(OPEN_ROUND, ctx, TRIALS)
    assert last is not None
    assert sum(seconds.values()) == pytest.approx(400.0 - 60.0 - 10.0)
    assert trials["H1"] == 90 * LAST_ROUND_TRIAL_FACTOR


def test_a_round_is_held_back_only_if_the_next_one_fits_the_share_cap_with_a_margin() -> None:
    ctx = RunContext(**BENCH, planned_rounds=2)  # 25 % of 300 s: 75 s of LLM time
    # Plan 10 s, 20 s of round 1 so far: another round fits even at 1.5 times its cost.
    fits = {"round": 1, "spent_s": 60.0, "llm_s_by_round": {0: 10.0, 1: 20.0}}
    _, seconds, last = round_time(fits, ctx, TRIALS)
    assert last is None and sum(seconds.values()) == pytest.approx((300.0 - 60.0 - 5.0) / 2)
    # 25 s so far: the next round fits the cap only as estimated (35 + 28 + 2 x 2.8 s),
    # not with the margin, so this round keeps its usual caps and turns out the last.
    borderline = {"round": 1, "spent_s": 60.0, "llm_s_by_round": {0: 10.0, 1: 25.0}}
    _, seconds, last = round_time(borderline, ctx, TRIALS)
    reserve = outlook(borderline, ctx, round_done=False).end_reserve_s
    assert last is not None and sum(seconds.values()) == pytest.approx(300.0 - 60.0 - reserve)


def test_a_fast_llm_gets_two_rounds_at_300_s_with_equal_arms(
    fakes: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The benchmark's settings with 2 s LLM calls and searches slow enough to fill any
    # time cap: round 1's experiments take half the time left, so a second round (with
    # evolution) fits within the 25 % LLM share. Given all they could use, they would
    # leave too little for another round.
    monkeypatch.setitem(globals(), "_FAMILIES", {})
    run_dir = tmp_path / "run"
    ctx = RunContext(**BENCH, planned_rounds=2)
    run, tools = _simulated_run(fakes, run_dir, ctx, monkeypatch, call_s=2.0)
    state = run.state()
    assert run.status() == "finished"
    assert state["round"] >= 2
    assert any(h.origin == "evolution" for h in state["hypotheses"].values())
    assert _llm_s(state) <= 0.25 * 300.0 and state["spent_s"] <= 300.0
    for name, spec in tools.specs.items():
        control = tools.specs.get(f"{name}-control")
        if control is not None:
            assert spec.budget.time_s == control.budget.time_s
            assert spec.budget.n_trials <= control.budget.n_trials


def test_a_run_killed_during_its_experiments_resumes_with_the_same_budget(
    fakes: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capped_run: tuple[ResearchRun, _SimulatedToolbox],
) -> None:
    run, tools = _simulated_run(
        fakes, tmp_path / "killed", RunContext(**BENCH), monkeypatch, crash={"H2"}
    )
    # H2 was killed and ran again (its siblings too, if the kill stopped them first).
    assert "H2" in tools.resumed
    again, straight = run.state(), capped_run[0].state()
    for key in ("stop_reason", "allocation", "allocation_s", "llm_s_by_round", "spent_s"):
        assert again[key] == straight[key], key
