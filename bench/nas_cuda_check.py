"""Quick device check (< 2 minutes on a GPU): one tiny search per NAS strategy and one
compression pass, on CUDA when present (the same code falls back to the CPU).

    .venv/bin/python bench/nas_cuda_check.py

Prints the device, and per strategy the architectures evaluated, validation and test
accuracy and seconds; then the compression table. Exits non-zero if anything fails.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import torch

    from automl_backend import load_dataset, train_test_split_dataset
    from automl_backend.compression import compress_run
    from automl_backend.nas import CellSpace, NASSpec, run_nas
    from automl_backend.nas._adapter import nas_features

    cuda = torch.cuda.is_available()
    threads = max(1, min(4, (os.cpu_count() or 2) // 2))
    print(f"torch {torch.__version__}; cuda available: {cuda}", flush=True)
    if cuda:
        print(f"device: {torch.cuda.get_device_name(0)}", flush=True)
    train, test = train_test_split_dataset(load_dataset("sklearn:digits"), 0.25, seed=0)
    X, y = nas_features(train, "cnn"), train.y.to_numpy()
    X_test, y_test = nas_features(test, "cnn"), test.y.to_numpy()
    space = CellSpace(channels=[8], normal_cells=[1])
    failures = 0
    work = Path(tempfile.mkdtemp(prefix="nas-cuda-check-"))
    runs = [
        ("random", {}), ("evolution", {}), ("rl", {}), ("tpe", {}), ("hyperband", {}),
        ("spos", {}), ("darts", {}), ("nsga2", {"objectives": ["accuracy", "latency"]}),
    ]  # fmt: skip
    for strategy, extra in runs:
        spec = NASSpec(space=space, strategy=strategy, time_budget_s=10, max_trials=4,
                       epochs_per_trial=2, final_epochs=5, n_threads=threads, **extra)  # fmt: skip
        t0 = time.monotonic()
        try:
            out = work / strategy
            info = {"source": "sklearn:digits", "target": "target", "test_size": 0.25, "seed": 0}
            r = run_nas(spec, X, y, X_test=X_test, y_test=y_test, out_dir=out, data_info=info)
            print(f"{strategy:<10} device={r.device:<6} evaluated={r.n_evaluated:<3} "
                  f"val={r.best_val_accuracy:.3f} test={r.test_accuracy:.3f} "
                  f"{time.monotonic() - t0:.1f}s {'; '.join(r.notes)}", flush=True)  # fmt: skip
        except Exception as exc:  # report and go on: this script is a checklist
            failures += 1
            print(f"{strategy:<10} FAILED: {type(exc).__name__}: {exc}", flush=True)
    t0 = time.monotonic()
    try:
        result = compress_run(work / "evolution", target_size_kb=100.0, out_dir=work / "comp")
        print(f"compression ({time.monotonic() - t0:.1f}s, fine-tuning on "
              f"{'cuda' if cuda else 'cpu'}, measured on cpu):")  # fmt: skip
        for c in [result.baseline, *result.candidates]:
            print(f"  {c.name:<28} acc={c.accuracy:.3f} size={c.size_kb:8.1f} KB "
                  f"latency={c.latency_ms:.3f} ms")  # fmt: skip
        print(f"  chosen: {result.chosen}")
    except Exception as exc:
        failures += 1
        print(f"compression FAILED: {type(exc).__name__}: {exc}")
    print(f"run directories under {work}; failures: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
