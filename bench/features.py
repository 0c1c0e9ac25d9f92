"""Benchmark: the same AutoML run with and without ``features: auto``.

Four synthetic data sets each hide one structure the vocabulary can express: a target
driven by a ratio of two columns, by a product (classification), by logarithms, and by
a column's deviation from its group mean over a many-category column; each also holds
noise columns. Every (data set, arm) pair runs in-process one after the other with the
same time budget, seed and 80/20 split (seed 0). Errors are test RMSE (regression) or
1 - accuracy (classification); the summary is the geometric mean over data sets of the
error with ``features: auto`` divided by the error without (below 1: the transforms help).

    .venv/bin/python bench/features.py                        # the full run (~9 min)
    .venv/bin/python bench/features.py --budget 20 --datasets ratio,product
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DATASETS = ("ratio", "product", "log", "group_mean")
RESULTS = Path(__file__).resolve().parent / "results" / "features.json"
N_ROWS = 2000


def _noise(rng: np.random.Generator, n: int, k: int = 4) -> dict[str, np.ndarray]:
    return {f"noise{i}": rng.normal(size=n) for i in range(k)}


def make_table(name: str, n: int = N_ROWS, seed: int = 0) -> tuple[pd.DataFrame, str]:
    """A synthetic table with a planted structure; returns (frame, task)."""
    rng = np.random.default_rng(seed)
    if name == "ratio":
        a, b = rng.uniform(1, 10, n), rng.uniform(1, 10, n)
        y = a / b + 0.1 * rng.normal(size=n)
        return pd.DataFrame({"a": a, "b": b, **_noise(rng, n), "y": y}), "regression"
    if name == "product":
        a, b = rng.normal(size=n), rng.normal(size=n)
        y = (a * b + 0.3 * rng.normal(size=n) > 0).astype(int)
        return pd.DataFrame({"a": a, "b": b, **_noise(rng, n), "y": y}), "binary"
    if name == "log":
        a, b = rng.lognormal(0, 2, n), rng.lognormal(0, 2, n)
        y = np.log1p(a) - np.log1p(b) + 0.1 * rng.normal(size=n)
        return pd.DataFrame({"a": a, "b": b, **_noise(rng, n), "y": y}), "regression"
    if name == "group_mean":
        groups = np.array([f"g{i}" for i in range(60)])
        group = rng.choice(groups, n)
        level = dict(zip(groups, rng.normal(0, 3, len(groups)), strict=True))
        x = np.array([level[g] for g in group]) + rng.normal(size=n)
        mean = pd.Series(x).groupby(group).transform("mean").to_numpy()
        y = x - mean + 0.1 * rng.normal(size=n)
        return pd.DataFrame({"x": x, "group": group, **_noise(rng, n), "y": y}), "regression"
    raise ValueError(f"unknown data set {name!r}; valid: {', '.join(DATASETS)}")


def _error(metric: str, test_score: float) -> float:
    from automl_backend import natural_value

    value = natural_value(metric, test_score)
    return 1.0 - value if metric == "accuracy" else value


def run_arm(name: str, features: str | None, budget: float, workdir: Path) -> dict[str, Any]:
    """One run on data set ``name`` (``features``: ``"auto"`` or None); its test error."""
    from automl_backend import ExperimentSpec, run_spec, train_test_split_dataset
    from automl_backend._dataset import build_dataset

    frame, task = make_table(name)
    data = build_dataset(frame, "y", task=task, name=name)
    train, test = train_test_split_dataset(data, 0.2, seed=0)
    metric = "accuracy" if task != "regression" else "rmse"
    fields: dict[str, Any] = {"metric": metric, "budget": {"time_s": budget}, "seed": 0}
    if features is not None:
        fields["features"] = features
    started = time.monotonic()
    arm = "auto" if features else "none"
    result = run_spec(ExperimentSpec.model_validate(fields), train, test=test,
                      out_dir=workdir / f"{name}-{arm}")  # fmt: skip
    if result.test_score is None:
        raise RuntimeError(f"{name} ({arm}) failed: {result.reason}")
    kept = [n.removeprefix("features: kept ") for n in result.notes
            if n.startswith("features: kept ")]  # fmt: skip
    return {"error": _error(metric, result.test_score), "metric": metric,
            "wall_s": round(time.monotonic() - started, 1), "kept": kept,
            "n_trials": result.n_trials}  # fmt: skip


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    names = [n for n in args.datasets.split(",") if n]
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cosci-bench-features-") as tmp:
        for name in names:
            rows[name] = {arm: run_arm(name, arm_features, args.budget, Path(tmp))
                          for arm, arm_features in (("none", None), ("auto", "auto"))}  # fmt: skip
            none, auto = rows[name]["none"], rows[name]["auto"]
            print(f"{name}: error {none['error']:.4f} -> {auto['error']:.4f} with features: auto "
                  f"(kept {', '.join(auto['kept']) or 'none'})", flush=True)  # fmt: skip
    ratios = [max(r["auto"]["error"], 1e-9) / max(r["none"]["error"], 1e-9) for r in rows.values()]
    geo = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
    record = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "command": "bench/features.py " + f"--budget {args.budget:g} --datasets {','.join(names)}",
        "budget_s": args.budget,
        "datasets": rows,
        "geometric_mean_error_ratio_auto_over_none": round(geo, 4),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2), encoding="utf-8")
    print(f"geometric-mean error ratio (auto / none): {geo:.3f}; written to {args.out}")


if __name__ == "__main__":
    main()
