"""A co-scientist run's outputs: results.json, report.md, elo.png and best_model/.

Everything is derived from the run's checkpointed state and its LLM call log, so a report
can be rewritten at any time (``cosci show`` does it for a stopped run too). The Elo
ranking ranks hypotheses; ``best_model/`` is the ensemble of the tested hypotheses'
models (see ``_best_model``), the model a person should use.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agents import (
    EloSnapshot,
    Hypothesis,
    Match,
    MetaReview,
    ResearchPlan,
    ResearchRun,
    Review,
    leader_order,
)
from cosci._best_model import BestModel, best_model_markdown, read_best_model, write_best_model


class RankedHypothesis(BaseModel):
    """One row of the final ranking."""

    rank: int | None
    """Position among hypotheses in the tournament (None: rejected or failed)."""
    id: str
    elo: float | None
    status: str
    origin: str
    statement: str
    families: list[str]
    score: float | None
    score_sd: float | None
    n_trials: int
    prediction: str
    prediction_held: bool | None
    parents: list[str]
    wins: int
    draws: int
    losses: int


class LLMUsage(BaseModel):
    """What the run spent in the LLM, from its call log (all sessions, resumes included)."""

    calls: int = 0
    failed_calls: int = 0
    seconds: float = 0.0
    per_role_seconds: dict[str, float] = Field(default_factory=dict)


class RunResults(BaseModel):
    """Everything report.md shows, as data."""

    goal: str
    data: str
    run_dir: str
    status: str
    stop_reason: str | None
    plan: ResearchPlan | None
    baseline_score: float | None
    ranking: list[RankedHypothesis]
    best_hypothesis: str | None
    """The tournament leader (highest Elo among tested hypotheses)."""
    best_model_dir: str | None
    best_model: BestModel | None = None
    """What best_model_dir holds: the ensemble's members and weights, or the leader's copy."""
    overview: str | None
    hypotheses: list[Hypothesis]
    reviews: list[Review]
    matches: list[Match]
    elo_history: list[EloSnapshot]
    meta_reviews: list[MetaReview]
    llm: LLMUsage
    experiment_seconds: float
    compute_seconds: float


def _record(h: Hypothesis, matches: list[Match]) -> tuple[int, int, int]:
    wins = draws = losses = 0
    for m in matches:
        if h.id not in (m.a, m.b):
            continue
        if m.winner == "draw":
            draws += 1
        elif (m.winner == "a") == (m.a == h.id):
            wins += 1
        else:
            losses += 1
    return wins, draws, losses


def rank_hypotheses(state: dict[str, Any]) -> list[RankedHypothesis]:
    """Tested hypotheses by Elo, then untested ones in play, then failed and rejected."""
    elo: dict[str, float] = state.get("elo", {})
    matches: list[Match] = state.get("matches", [])
    metric = state["plan"].metric if state.get("plan") else ""
    group = {"tested": 0, "approved": 1, "proposed": 2, "failed": 3, "rejected": 4}

    def score(h: Hypothesis) -> float:
        ok = h.result is not None and h.result.ok and h.result.best_score is not None
        return h.result.best_score if ok else float("-inf")  # type: ignore[union-attr,return-value]

    # Tested ones in the tournament's own leader order (Elo, then measured score, then id);
    # the others by Elo, then score, then id.
    hypotheses = state.get("hypotheses", {})
    position = {hid: i for i, hid in enumerate(leader_order(hypotheses, elo))}
    ordered = sorted(
        hypotheses.values(),
        key=lambda h: (
            group[h.status],
            position.get(h.id, 0),
            -elo.get(h.id, 0.0),
            -score(h),
            int(h.id[1:]),
        ),
    )
    rows, rank = [], 0
    for h in ordered:
        in_play = h.status in ("tested", "approved")
        rank += in_play
        result = h.result if h.result is not None and h.result.ok else None
        scores = result.fold_scores if result else []
        wins, draws, losses = _record(h, matches)
        rows.append(
            RankedHypothesis(
                rank=rank if in_play else None,
                id=h.id,
                elo=round(elo[h.id], 1) if h.id in elo else None,
                status=h.status,
                origin=h.origin,
                statement=h.statement,
                families=h.families,
                score=result.best_score if result else None,
                score_sd=statistics.stdev(scores) if len(scores) > 1 else None,
                n_trials=h.result.n_trials if h.result else 0,
                prediction=h.prediction.describe(metric),
                prediction_held=h.prediction_held,
                parents=h.parent_ids,
                wins=wins,
                draws=draws,
                losses=losses,
            )
        )
    return rows


def llm_usage(log: Path) -> LLMUsage:
    from agents.llm import LLMError, read_call_log

    usage = LLMUsage()
    try:
        entries = read_call_log(log) if log.is_file() else []
    except LLMError:
        return usage
    for entry in entries:
        seconds = float(entry.get("latency_s") or 0.0)
        usage.calls += 1
        usage.failed_calls += bool(entry.get("error"))
        usage.seconds += seconds
        role = str(entry.get("role", "default"))
        usage.per_role_seconds[role] = usage.per_role_seconds.get(role, 0.0) + seconds
    usage.seconds = round(usage.seconds, 3)
    usage.per_role_seconds = {k: round(v, 3) for k, v in sorted(usage.per_role_seconds.items())}
    return usage


def build_results(run: ResearchRun) -> RunResults:
    state = run.state()
    ranking = rank_hypotheses(state)
    best = next((r.id for r in ranking if r.status == "tested"), None)
    baseline = state.get("baseline")
    hypotheses = sorted(state.get("hypotheses", {}).values(), key=lambda h: int(h.id[1:]))
    experiment_s = sum(h.result.fit_time_s for h in hypotheses if h.result is not None)
    return RunResults(
        goal=run.config.goal,
        data=run.config.data,
        run_dir=str(run.dir),
        status=run.status(),
        stop_reason=state.get("stop_reason"),
        plan=state.get("plan"),
        baseline_score=baseline.best_score if baseline else None,
        ranking=ranking,
        best_hypothesis=best,
        best_model_dir=str(run.dir / "best_model") if best else None,
        best_model=read_best_model(run.dir, best),
        overview=state.get("overview"),
        hypotheses=hypotheses,
        reviews=state.get("reviews", []),
        matches=state.get("matches", []),
        elo_history=state.get("elo_history", []),
        meta_reviews=state.get("meta_reviews", []),
        llm=llm_usage(run.llm_log),
        experiment_seconds=round(experiment_s, 3),
        compute_seconds=round(state.get("spent_s", 0.0), 3),
    )


def plot_elo(history: list[EloSnapshot], path: Path) -> Path | None:
    """Elo of every hypothesis after each ranking pass."""
    if not history:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"R{s.round} {'pre' if s.phase == 'proposals' else 'post'}" for s in history]
    ids = sorted({h for s in history for h in s.ratings}, key=lambda h: int(h[1:]))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(history) + 3), 4.5))
    for hid in ids:
        xs = [i for i, s in enumerate(history) if hid in s.ratings]
        ax.plot(xs, [history[i].ratings[hid] for i in xs], marker="o", label=hid)
    ax.axhline(1200, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(history)), labels, rotation=30, ha="right")
    ax.set_ylabel("Elo")
    ax.set_title("Elo over rounds (pre: LLM-judged proposals; post: tested, measured only)")
    ax.legend(ncol=2, fontsize="small", loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_markdown(results: RunResults) -> str:
    plan = results.plan
    metric = plan.metric if plan else "score"
    lines = [f"# Co-scientist report: {results.goal}", ""]
    lines += [f"- Data: `{results.data}`; run directory: `{results.run_dir}`"]
    if plan is not None:
        b = plan.budgets
        lines += [
            f"- Task: {plan.task}; metric: {metric} (higher is better); objective: {plan.objective}",
            f"- Budgets: {b.rounds} rounds, {b.hypotheses_per_round} new hypotheses and "
            f"{b.children_per_round} children per round, ~{b.trials_per_experiment} trials per "
            f"experiment, {b.folds}-fold CV, seed {b.seed}",
            f"- Data set: {plan.dataset}",
        ]
        lines += [f"- **Warning:** {w}" for w in plan.warnings]
    lines += [
        f"- Baseline (default hist_gradient_boosting): {metric} {_fmt(results.baseline_score)}",
        f"- Status: {results.status}; stopped because: {results.stop_reason or '-'}",
        f"- Cost: {results.compute_seconds:.0f} s of compute, {results.experiment_seconds:.0f} s "
        f"in experiments, {results.llm.seconds:.0f} s in {results.llm.calls} LLM calls "
        f"({results.llm.failed_calls} unusable)",
        "",
        "## Ranking",
        "",
        f"| rank | id | Elo | {metric} (± sd) | trials | prediction | W-D-L | families | origin | statement |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results.ranking:
        held = {True: "confirmed", False: "refuted", None: "-"}[r.prediction_held]
        score = "-" if r.score is None else f"{r.score:.4f} ± {_fmt(r.score_sd)}"
        origin = r.origin + (f" of {', '.join(r.parents)}" if r.parents else "")
        lines.append(
            f"| {r.rank or r.status} | {r.id} | {_fmt(r.elo, 0)} | {score} | {r.n_trials} | "
            f"{held} | {r.wins}-{r.draws}-{r.losses} | {', '.join(r.families)} | {origin} | "
            f"{r.statement.replace('|', '/')} |"
        )
    lines += ["", "## Research overview", "", results.overview or "(the run has not finished)", ""]
    if results.best_hypothesis and results.best_model_dir:
        lines += [
            *best_model_markdown(
                results.best_model, results.best_hypothesis, results.best_model_dir,
                results.run_dir, metric,
            ),
            "",
        ]  # fmt: skip
    lines += ["## Elo over rounds", "", "![Elo over rounds](elo.png)", "", "## Hypotheses", ""]
    for h in results.hypotheses:
        lines += _hypothesis_section(h, results, metric)
    lines += ["## Tournament", ""]
    measured = sum(m.method == "measured" for m in results.matches)
    lines += [
        f"{len(results.matches)} matches: {measured} decided by measured per-fold scores, "
        f"{len(results.matches) - measured} judged by the LLM (untested side).",
        "",
        "| # | round | a | b | winner | method | Elo a | Elo b | reason |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in results.matches:
        winner = {"a": m.a, "b": m.b, "draw": "draw"}[m.winner]
        lines.append(
            f"| {m.index} | {m.round} | {m.a} | {m.b} | {winner} | {m.method} | "
            f"{m.elo_before[0]:.0f}→{m.elo_after[0]:.0f} | {m.elo_before[1]:.0f}→"
            f"{m.elo_after[1]:.0f} | {m.reason.replace('|', '/')} |"
        )
    lines += ["", "## Meta-reviews", ""]
    for review in results.meta_reviews:
        lines += [f"### Round {review.round}", "", review.as_prompt(), ""]
    return "\n".join(lines) + "\n"


def _hypothesis_section(h: Hypothesis, results: RunResults, metric: str) -> list[str]:
    lines = [f"### {h.id} ({h.origin}, round {h.round}): {h.status}", "", f"**{h.statement}**", ""]
    if h.rationale:
        lines += [f"Rationale: {h.rationale}", ""]
    lines += [f"- Prediction (registered before the experiment): {h.prediction.describe(metric)}"]
    lines += [f"- Experiment: {', '.join(h.families)}; spec in `experiments/{h.id}/`"]
    if h.parent_ids:
        lines += [f"- Lineage: {h.operator} of {', '.join(h.parent_ids)}"]
    if h.cited_memory_ids:
        lines += [f"- Cites: {'; '.join(h.cited_memory_ids)}"]
    if h.status_reason:
        lines += [f"- Status: {h.status_reason}"]
    if h.result is not None and h.result.ok:
        r = h.result
        folds = ", ".join(f"{s:.4f}" for s in r.fold_scores)
        lines += [
            f"- Measured: {metric} {r.best_score:.4f} (folds {folds}), {r.n_trials} trials "
            f"({r.n_failed_trials} failed), {r.fit_time_s:.1f} s; best configuration "
            f"`{r.best_config.model_dump_json() if r.best_config else '-'}`",
            f"- Evidence: `experiments/{h.id}/report.md` (optimisation history, plots)",
        ]
    for review in (r for r in results.reviews if r.hypothesis_id == h.id):
        scores = ""
        if review.correctness is not None:
            scores = f" [correctness {review.correctness}, novelty {review.novelty}, feasibility {review.feasibility}]"
        lines.append(
            f"- Review ({review.author}, {review.kind}, {review.verdict}){scores}: {review.text}"
        )
    return [*lines, ""]


def write_report(run: ResearchRun) -> RunResults:
    """Write results.json, report.md, elo.png and best_model/ into the run directory."""
    results = build_results(run)
    plot_elo(results.elo_history, run.dir / "elo.png")
    if results.best_hypothesis:
        leader = results.best_hypothesis
        tested = [r.id for r in results.ranking if r.status == "tested" and r.score is not None]
        leader_cv = next(r.score for r in results.ranking if r.id == leader)
        metric = results.plan.metric if results.plan else None
        results.best_model = write_best_model(run.dir, leader, tested, metric, leader_cv)
        if results.best_model is None:
            results.best_model_dir = None
    (run.dir / "results.json").write_text(results.model_dump_json(indent=2), encoding="utf-8")
    (run.dir / "report.md").write_text(render_markdown(results), encoding="utf-8")
    return results
