"""Where a 60 s backend run goes on a large data set: a time breakdown by phase.

The run is the one ``bench/automl.py`` makes for cosci (accuracy, one trial at a time,
``--threads`` threads, the KEEL set's fixed fold 0 as the test split). Each phase of
``run_hpo`` is timed by wrapping the function the runner calls for it (timestamps, not
a sampling profiler): data loading, fold plan and encoding, feature preparation,
the search, ensemble selection, refits, test scoring, out-of-fold export and writing
the run directory. The search is broken down further from its own trial records:
time inside trials (fold fits, by family and state) and the loop's overhead between
them. Results go to ``bench/results/automl-profile.json`` (one entry per data set).

    .venv/bin/python bench/automl_profile.py                     # magic, 60 s, 2 threads
    .venv/bin/python bench/automl_profile.py --datasets magic,letter --budget 60
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automl import keel_split  # bench/automl.py, beside this script

RESULTS = Path(__file__).resolve().parent / "results" / "automl-profile.json"
ROOT = Path(__file__).resolve().parents[1]

_PHASES = {
    # attribute of automl_backend._hpo.run -> phase name
    "_encode": "fold plan and encoding",
    "prepare_features": "feature preparation",
    "preload_run_dir_writers": "importing the run directory's writers",
    "pick_members": "ensemble selection",
    "build_model": "refit",
    "score_model": "test scoring",
    "final_oof": "out-of-fold export",
    "write_run_dir": "writing the run directory",
}


def _timed(spent: dict[str, float], phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[phase] += time.perf_counter() - started

    return wrapper


def _logged_refit(log: list[dict[str, Any]], function: Callable[..., Any]) -> Callable[..., Any]:
    """``run_refit`` that logs each call: family, seconds, time left to its deadline, outcome,
    and the child's own fit seconds (the rest is forking and sending the model back)."""

    def wrapper(problem: Any, config: Any, deadline: float | None) -> Any:
        started = time.monotonic()
        entry: dict[str, Any] = {"family": config.family,
                                 "allowed_s": None if deadline is None else round(deadline - started, 2)}  # fmt: skip
        try:
            output = function(problem, config, deadline)
            entry["outcome"] = "fitted"
            entry["fit_seconds"] = round(output[1], 2)
            return output
        except BaseException as exc:
            entry["outcome"] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            entry["seconds"] = round(time.monotonic() - started, 2)
            log.append(entry)

    return wrapper


def _logged_reserve(finalize: Any, seen: dict[str, Any]) -> None:
    """Keep the refit reserve's last estimate in ``seen``: its total, its cap, and the
    expected refit seconds of each member and of writing its trees, to hold against the
    refits' and the writing's measured seconds."""
    reserve_call = finalize.RefitReserve.__call__
    refit_s = finalize.expected_refit_s
    parts: list[tuple[int, str, float, float]] | None = None

    def logged_refit_s(record: Any, n_folds: int) -> float:
        value = refit_s(record, n_folds)
        if parts is not None:
            save = finalize.expected_save_s([record], n_folds)
            parts.append((record.number, record.config.family, round(value, 2), round(save, 2)))
        return value

    def call(self: Any, records: list[Any]) -> float:
        nonlocal parts
        parts = []
        try:
            value = reserve_call(self, records)
        finally:
            if parts:
                members = list(dict.fromkeys(parts))  # each member once
                seen["expected_refits_s"] = [m[:3] for m in members]
                seen["expected_saves_s"] = [[m[0], m[3]] for m in members]
            parts = None
        seen.update(reserve_s=round(value, 2), uncapped_s=round(self.value, 2),
                    cap_s=round(self.cap, 2), at_s=round(time.monotonic() - seen["t0"], 2))  # fmt: skip
        return value

    finalize.RefitReserve.__call__ = call
    finalize.expected_refit_s = logged_refit_s


def profile_run(dataset: str, budget: float, threads: int, fold: int) -> dict[str, Any]:
    """Run the backend once on KEEL ``dataset`` and return the time spent per phase."""
    import automl_backend._artifacts as artifacts
    import automl_backend._hpo.finalize as finalize
    import automl_backend._hpo.run as runner
    from automl_backend import ExperimentSpec
    from automl_backend._hpo.search import Search
    from automl_backend._splits import resolve_cv

    spent: dict[str, float] = defaultdict(float)
    started = time.perf_counter()
    train, test = keel_split(dataset, fold)
    spent["loading the data"] = time.perf_counter() - started
    for name, phase in _PHASES.items():
        if hasattr(runner, name):  # older backends lack some phases
            setattr(runner, name, _timed(spent, phase, getattr(runner, name)))
    for name in ("_importances", "_plots"):
        setattr(
            artifacts, name, _timed(spent, f"run directory: {name[1:]}", getattr(artifacts, name))
        )
    refits: list[dict[str, Any]] = []
    finalize.run_refit = _logged_refit(refits, finalize.run_refit)
    reserve: dict[str, Any] = {"t0": time.monotonic()}
    _logged_reserve(finalize, reserve)
    search_run = Search.run
    Search.run = _timed(spent, "search", search_run)  # type: ignore[method-assign]
    spec = ExperimentSpec.model_validate(
        {"metric": "accuracy", "budget": {"time_s": budget, "threads_per_trial": threads}}
    )
    with tempfile.TemporaryDirectory() as workdir:
        began = time.perf_counter()
        reserve["t0"] = time.monotonic()
        output = runner.run_hpo(spec, train, out_dir=Path(workdir) / "run", test=test)
        total = time.perf_counter() - began
    Search.run = search_run  # type: ignore[method-assign]
    strategy, n_folds = resolve_cv(spec.cv, train, budget)
    result, records = output.result, output.records
    by_family: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for record in records:
        family = record.config.family
        by_family[family]["trials"] += 1
        by_family[family][record.state] += 1
        by_family[family]["seconds"] += record.duration_s
        by_family[family]["fit_seconds"] += record.fit_time_s
    in_trials = sum(r.duration_s for r in records)
    phases = dict(spent)
    # not part of run_hpo's own phases: the data is loaded before it, and newer backends
    # import the writers while the first trial runs, inside "search"
    counted_elsewhere = {"loading the data"}
    if "meanwhile" in inspect.signature(Search).parameters:
        counted_elsewhere.add(_PHASES["preload_run_dir_writers"])
    accounted = sum(v for k, v in phases.items() if k not in counted_elsewhere)
    phases["other (spec checks, study, run dir set-up)"] = total - accounted
    return {
        "dataset": dataset,
        "fold": fold,
        "rows": train.n_rows,
        "features": train.n_features,
        "budget_s": budget,
        "threads": threads,
        "run_hpo_wall_s": round(total, 2),
        "phases_s": {k: round(v, 2) for k, v in phases.items()},
        "search_breakdown_s": {
            "inside trials": round(in_trials, 2),
            "loop overhead and idle": round(phases.get("search", 0.0) - in_trials, 2),
        },
        "cv": {"strategy": strategy, "folds": n_folds if strategy != "holdout" else 1},
        "trials": len(records),
        "by_family": {f: {k: round(v, 2) for k, v in d.items()} for f, d in by_family.items()},
        "ensemble_members": [
            {"trial": m.trial, "family": m.config.family, "weight": round(m.weight, 3)}
            for m in result.ensemble
        ],
        "refits": refits,
        "reserve_at_search_end": {k: v for k, v in reserve.items() if k != "t0"},
        "trial_list": [
            {
                "n": r.number,
                "family": r.config.family,
                "state": r.state,
                "score": None if r.score is None else round(r.score, 4),
                "fold_fit_s": round(r.fit_time_s / max(len(r.fold_scores), 1), 2),
                "duration_s": round(r.duration_s, 2),
                "reason": r.reason,
            }
            for r in records
        ],
        "cv_score": result.best_score,
        "test_accuracy": result.test_score,
        "notes": result.notes,
    }


def _child(dataset: str, budget: float, threads: int, fold: int) -> None:
    import warnings

    from threadpoolctl import threadpool_limits

    warnings.simplefilter("ignore")
    with threadpool_limits(limits=threads):
        figures = profile_run(dataset, budget, threads, fold)
    print(json.dumps(figures))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        dataset, budget, threads, fold = sys.argv[2:6]
        _child(dataset, float(budget), int(threads), int(fold))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="magic")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--label", default="", help="a name for this variant of the backend")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(args.threads)
    commit = (
        os.environ.get("BENCH_COMMIT")
        or subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
    )
    previous = json.loads(args.out.read_text()) if args.out.exists() else {"runs": []}
    for dataset in [d for d in args.datasets.split(",") if d]:
        load_before = os.getloadavg()
        done = subprocess.run(
            [sys.executable, __file__, "--child", dataset, str(args.budget), str(args.threads),
             str(args.fold)],
            capture_output=True, text=True, env=env, timeout=args.budget * 5 + 300,
        )  # fmt: skip
        if done.returncode != 0:
            print(f"{dataset}: failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
            continue
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        figures.update(
            label=args.label, commit=commit, date=time.strftime("%Y-%m-%d %H:%M"),
            loadavg_before=[round(x, 2) for x in load_before],
            loadavg_after=[round(x, 2) for x in os.getloadavg()],
        )  # fmt: skip
        previous["runs"].append(figures)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(previous, indent=2), encoding="utf-8")
        print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
