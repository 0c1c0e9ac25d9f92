"""A co-scientist run's outputs: results.json, report.md, elo.png and best_model/.

The results they show are ``cosci._results``, derived from the run's checkpointed state
and its LLM call log, so a report can be rewritten at any time (``cosci show`` does it
for a stopped run too). The Elo ranking ranks hypotheses; ``best_model/`` is the
ensemble of the tested hypotheses' models (see ``_best_model``), the model a person
should use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents import EloSnapshot, Hypothesis, Match, ResearchRun
from cosci._best_model import best_model_markdown, write_best_model
from cosci._results import RunResults, build_results


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


def answer_markdown(results: RunResults, metric: str) -> list[str]:
    """The report's first section: the question, the answer, its evidence."""
    answer, plan = results.answer, results.plan
    if answer is None or plan is None:
        return ["## Answer", "", "(the run has not planned yet)", ""]
    chosen = "the LLM's pick" if plan.question_source == "model" else "rules on the goal's wording"
    lines = [
        "## Answer",
        "",
        f"**Question** ({answer.question}, read by {chosen}): {plan.goal}",
        "",
        f"**Answer:** {answer.sentence}",
        "",
        f"Outcome: {answer.outcome.replace('_', ' ')}. Factors: {', '.join(plan.factors)}"
        + (f"; restricted to {', '.join(plan.focus_families)}" if plan.focus_families else "")
        + f". Effects are treatment minus control in points of {metric} with a 95 % interval "
        f"from the Bayesian correlated t-test on the paired folds; differences within "
        f"+-{plan.rope_points:g} points are practically nil (ROPE).",
        "",
    ]
    if answer.evidence:
        holdout = bool(plan.holdout_fraction)
        head = "| id | factor | treatment | control | CV treatment / control | effect [95 % interval] | verdict |"
        rule = "|---|---|---|---|---|---|---|"
        if holdout:
            head += " holdout treatment / control |"
            rule += "---|"
        if any(r.treatment_size_kb is not None for r in answer.evidence):
            head += " size KB | ms / 1000 rows |"
            rule += "---|---|"
        lines += [head, rule]
        for r in answer.evidence:
            row = (
                f"| {r.hypothesis_id} | {r.factor} ({r.chosen_by}) | {r.treatment} | {r.control} | "
                f"{_fmt(r.treatment_cv)} / {_fmt(r.control_cv)} | {r.effect_text()} | "
                f"{r.verdict or '-'} |"
            )
            if holdout:
                row += f" {_fmt(r.treatment_holdout)} / {_fmt(r.control_holdout)} |"
            if any(e.treatment_size_kb is not None for e in answer.evidence):
                row += (
                    f" {_fmt(r.treatment_size_kb, 1)} / {_fmt(r.control_size_kb, 1)} | "
                    f"{_fmt(r.treatment_ms_per_1000, 1)} / {_fmt(r.control_ms_per_1000, 1)} |"
                )
            lines.append(row)
        lines.append("")
        if answer.inconclusive_share is not None:
            lines += [
                f"{answer.inconclusive_share:.0%} of the measured claims are inconclusive.",
                "",
            ]
    return lines


def render_markdown(results: RunResults) -> str:
    plan = results.plan
    metric = plan.metric if plan else "score"
    lines = [f"# Co-scientist report: {results.goal}", ""]
    lines += answer_markdown(results, metric)
    lines += ["## Run", ""]
    lines += [f"- Data: `{results.data}`; run directory: `{results.run_dir}`"]
    if plan is not None:
        b = plan.budgets
        lines += [
            f"- Task: {plan.task}; metric: {metric} (higher is better); objective: {plan.objective}",
            f"- Budgets: {b.rounds} rounds, {b.hypotheses_per_round} new hypotheses and "
            f"{b.children_per_round} children per round, ~{b.trials_per_experiment} trials per "
            f"arm, {b.folds}-fold CV (one fold plan for every arm), seed {b.seed}",
            f"- Holdout: {plan.holdout_fraction:.0%} of the rows, untouched until the final "
            "evaluation"
            if plan.holdout_fraction
            else "- Holdout: none (--holdout 0)",
            f"- Data set: {plan.dataset}",
        ]
        lines += [f"- **Warning:** {w}" for w in plan.warnings]
    dropped = results.filtered_llm_texts
    lines += [
        f"- Status: {results.status}; stopped because: {results.stop_reason or '-'}",
        f"- Cost: {results.compute_seconds:.0f} s of compute, {results.experiment_seconds:.0f} s "
        f"in experiments, {results.llm.seconds:.0f} s in {results.llm.calls} LLM calls "
        f"({results.llm.failed_calls} unusable)",
        f"- LLM text filter: {len(dropped)} texts dropped"
        + (f" ({'; '.join(dropped[:8])}{'; ...' if len(dropped) > 8 else ''})" if dropped else ""),
        "- Who chose what: each hypothesis names whether the LLM (from a closed list of "
        "rule-built interventions), a rule or a person chose its factor and levels; every "
        "claim is written by rule from its two arms.",
        "",
        "## Ranking",
        "",
    ]
    if results.decisive_matches == 0 and any(r.status == "tested" for r in results.ranking):
        lines += [
            "No measured match was decisive: no tested hypothesis is credibly better than "
            "another, so they share a rank (=) instead of being ordered.",
            "",
        ]
    lines += [
        f"| rank | id | Elo | {metric} CV (± sd) | holdout | factor | effect | verdict | "
        "W-D-L measured | judged | origin | statement |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results.ranking:
        score = "-" if r.score is None else f"{r.score:.4f} ± {_fmt(r.score_sd)}"
        origin = r.origin + (f" of {', '.join(r.parents)}" if r.parents else "")
        rank = f"={r.rank}" if r.tied else str(r.rank or r.status)
        lines.append(
            f"| {rank} | {r.id} | {_fmt(r.elo, 0)} | {score} | {_fmt(r.holdout)} | "
            f"{r.factor} ({r.chosen_by}) | {r.effect or '-'} | {r.verdict or '-'} | "
            f"{r.wins}-{r.draws}-{r.losses} | {r.judged} | {origin} | "
            f"{r.statement.replace('|', '/')} |"
        )
    lines += ["", "## Research overview", "", results.overview or "(the run has not finished)", ""]
    if results.best_hypothesis and results.best_model_dir:
        lines += [
            *best_model_markdown(
                results.best_model, results.best_hypothesis, results.best_model_dir,
                results.run_dir, metric,
            ),
        ]  # fmt: skip
        if results.best_model_holdout is not None:
            leader = results.holdout_scores.get(results.best_hypothesis)
            lines += [
                f"- On the untouched holdout: best_model/ {metric} {results.best_model_holdout:.4f}"
                + (f"; the leader {results.best_hypothesis} alone {leader:.4f}" if leader else ""),
            ]
        lines.append("")
    lines += ["## Elo over rounds", "", "![Elo over rounds](elo.png)", "", "## Hypotheses", ""]
    for h in results.hypotheses:
        lines += _hypothesis_section(h, results, metric)
    lines += ["## Tournament", ""]
    measured = [m for m in results.matches if m.method == "measured"]
    judged = [m for m in results.matches if m.method != "measured"]
    lines += [
        f"{len(measured)} matches decided by measured per-fold scores "
        f"({results.decisive_matches} decisive, the rest draws).",
        "",
        "| # | round | a | b | winner | Elo a | Elo b | reason |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in measured:
        lines.append(_match_row(m, with_method=False))
    if judged:
        lines += [
            "",
            f"{len(judged)} matches judged by the LLM before compute (opinions on untested "
            "proposals; they steer the budget and never count as evidence):",
            "",
            "| # | round | a | b | winner | method | Elo a | Elo b | reason |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [_match_row(m, with_method=True) for m in judged]
    lines += ["", "## Meta-reviews", ""]
    for review in results.meta_reviews:
        lines += [f"### Round {review.round}", "", review.as_prompt(), ""]
    return "\n".join(lines) + "\n"


def _match_row(m: Match, *, with_method: bool) -> str:
    winner = {"a": m.a, "b": m.b, "draw": "draw"}[m.winner]
    method = f" {m.method} |" if with_method else ""
    return (
        f"| {m.index} | {m.round} | {m.a} | {m.b} | {winner} |{method} "
        f"{m.elo_before[0]:.0f}→{m.elo_after[0]:.0f} | {m.elo_before[1]:.0f}→"
        f"{m.elo_after[1]:.0f} | {m.reason.replace('|', '/')} |"
    )


def _hypothesis_section(h: Hypothesis, results: RunResults, metric: str) -> list[str]:
    lines = [f"### {h.id} ({h.origin}, round {h.round}): {h.status}", "", f"**{h.statement}**", ""]
    if h.rationale:
        lines += [f"Rationale (the model's words unless it says 'by rule'): {h.rationale}", ""]
    lines += [
        f"- Factor: {h.factor}, chosen by {h.chosen_by}"
        + (f"; flagged: {h.flag}" if h.flag else ""),
        f"- Control: {h.control_label or '-'}; treatment: {h.treatment_label or '-'}",
        f"- Prediction (registered before the experiment): {h.prediction.describe(metric)}",
        f"- Experiments: treatment in `experiments/{h.id}/`, control in "
        f"`{_arm_dir(h.control_result, results.run_dir) or f'experiments/{h.id}-control/'}`",
    ]
    if h.parent_ids:
        lines += [f"- Lineage: {h.operator} of {', '.join(h.parent_ids)}"]
    if h.cited_memory_ids:
        lines += [f"- Cites: {'; '.join(h.cited_memory_ids)}"]
    for passage in h.cited_passages:
        lines += [f"  - > {passage.replace(chr(10), ' ')}"]
    if h.status_reason:
        lines += [f"- Status: {h.status_reason}"]
    for name, result in (("treatment", h.result), ("control", h.control_result)):
        if result is not None and result.ok:
            folds = ", ".join(f"{s:.4f}" for s in result.fold_scores)
            lines.append(
                f"- Measured {name}: {metric} {result.best_score:.4f} (folds {folds}), "
                f"{result.n_trials} trials ({result.n_failed_trials} failed), "
                f"{result.fit_time_s:.1f} s; best configuration "
                f"`{result.best_config.model_dump_json() if result.best_config else '-'}`"
            )
    if h.effect is not None:
        lines.append(f"- Effect: {h.effect.describe()}; verdict: **{h.verdict}**")
    for review in (r for r in results.reviews if r.hypothesis_id == h.id):
        scores = ""
        if review.correctness is not None:
            scores = f" [correctness {review.correctness}, novelty {review.novelty}, feasibility {review.feasibility}]"
        lines.append(
            f"- Review ({review.author}, {review.kind}, {review.verdict}){scores}: {review.text}"
        )
    return [*lines, ""]


def _arm_dir(result: Any, run_dir: str) -> str | None:
    if result is None or result.run_dir is None:
        return None
    path = Path(result.run_dir)
    try:
        return f"{path.relative_to(Path(run_dir).resolve())}/"
    except ValueError:
        return f"{path}/"


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
        elif metric and results.plan and results.plan.holdout_fraction:
            results.best_model_holdout = run.toolbox(None).score_on_holdout(
                run.dir / "best_model", metric
            )
    (run.dir / "results.json").write_text(results.model_dump_json(indent=2), encoding="utf-8")
    (run.dir / "report.md").write_text(render_markdown(results), encoding="utf-8")
    return results
