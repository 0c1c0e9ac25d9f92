"""How OpenMP's wait policy changes LightGBM's fit time, on a quiet and on a busy machine.

Fits the registry's default LightGBM configuration (early-stopped, as in a trial) on
6 000 rows of letter (26 classes) and 15 000 rows of magic (2 classes), KEEL fold 0's
training rows, on 1 and 2 threads, 3 times each, once per OpenMP setting, each in a
fresh interpreter (libgomp reads the settings once, when it loads). ``--busy K`` first
starts K processes that spin on a core each, as other users' work would.

    .venv/bin/python bench/openmp_wait.py             # quiet machine
    .venv/bin/python bench/openmp_wait.py --busy 1    # one core taken by other work

Prints one line per setting: median [min-max] seconds per fit. Both sets are held-out
benchmark sets, so this measures speed only; nothing here informs a default's value.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

SETTINGS: dict[str, dict[str, str]] = {
    "libgomp default": {},
    "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "GOMP_SPINCOUNT=1000": {"GOMP_SPINCOUNT": "1000"},
    "GOMP_SPINCOUNT=10000": {"GOMP_SPINCOUNT": "10000"},
    "GOMP_SPINCOUNT=100000": {"GOMP_SPINCOUNT": "100000"},
}
SETS = (("letter", 6_000), ("magic", 15_000))
REPEATS = 3


def _spin() -> None:
    while True:
        pass


def _fits() -> None:
    """In the child: time the fits and print them."""
    import numpy as np

    from automl_backend._loaders import _keel_folds, _keel_table
    from automl_backend._preprocess import build_pipeline
    from automl_backend._registry import default_config
    from automl_backend._spec import TrialConfig

    params = default_config("lightgbm", "classification")
    config = TrialConfig.model_validate({"family": "lightgbm", "params": params})
    cells = []
    for name, n_rows in SETS:
        x_train, y_train, _, _ = _keel_folds(name)[0]
        frame = _keel_table(x_train, y_train)
        X = frame.drop(columns="target").astype(float)
        y = frame["target"].astype("category").cat.codes.to_numpy()
        rows = np.random.default_rng(0).choice(len(y), n_rows, replace=False)
        types = dict.fromkeys(X.columns, "numeric")
        for threads in (1, 2):
            seconds = []
            for _ in range(REPEATS):
                pipeline = build_pipeline(
                    config, types, classification=True, seed=0, n_threads=threads,
                    n_train=n_rows,
                )  # fmt: skip
                started = time.perf_counter()
                pipeline.fit(X.iloc[rows], y[rows])
                seconds.append(time.perf_counter() - started)
            cells.append(
                f"{name} {threads}t {statistics.median(seconds):.2f} "
                f"[{min(seconds):.2f}-{max(seconds):.2f}]"
            )
    print(" | ".join(cells), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=0, help="spinning processes to start")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _fits()
        return
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for process in spinners:
        process.start()
    try:
        print(f"busy processes: {args.busy}; load average {os.getloadavg()[0]:.2f}")
        for label, settings in SETTINGS.items():
            env = dict(os.environ)
            for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
                env.pop(name, None)
            env.update(settings)
            env["PYTHONWARNINGS"] = "ignore"
            print(f"{label:24s}", end=" ", flush=True)
            subprocess.run([sys.executable, __file__, "--child"], env=env, check=True)
    finally:
        for process in spinners:
            process.terminate()


if __name__ == "__main__":
    main()
