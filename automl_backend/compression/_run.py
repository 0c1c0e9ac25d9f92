"""compress_run: load a run's model and data, search compressions, write the results.

The evaluation rows are split into validation rows, on which every candidate is compared
and the winner chosen, and held-out rows, on which only the winner and the baseline are
measured afterwards (see :mod:`._search`); the files written report both numbers.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from automl_backend.compression._errors import CompressionError
from automl_backend.compression._search import CompressionResult, CompressionSearch
from automl_backend.compression._storage import save_compact
from automl_backend.compression._teacher import Teacher, load_teacher


def _load_data(
    teacher: Teacher, data: str | None, target: str | None, test_size: float | None, seed: int
) -> tuple[Any, Any, list[str]]:
    """(train, evaluation) data sets: the run's own split when it recorded one."""
    from automl_backend import load_dataset, train_test_split_dataset
    from automl_backend.nas._adapter import nas_features

    info = teacher.data_info or {}
    source = data or info.get("source")
    if source is None:
        raise CompressionError(
            f"{teacher.run_dir} does not record its data set; pass --data (and --target)"
        )
    notes = []
    test_size = test_size or info.get("test_size") or 0.25
    seed = int(info.get("seed", seed))
    dataset = load_dataset(source, target or info.get("target"))
    train, test = train_test_split_dataset(dataset, test_size, seed=seed)
    if not info.get("test_size"):
        notes.append("evaluated on a fresh holdout the original run may have trained on")
    kind = teacher.nas_model.arch["kind"] if teacher.nas_model is not None else "mlp"
    return (
        (nas_features(train, kind), train.y.to_numpy()),
        (nas_features(test, kind), test.y.to_numpy()),
        notes,
    )


def compress_run(
    run_dir: Path,
    *,
    target_latency_ms: float | None = None,
    target_size_kb: float | None = None,
    data: str | None = None,
    target: str | None = None,
    test_size: float | None = None,
    out_dir: Path | None = None,
    holdout_fraction: float = 0.5,
    seed: int = 0,
    n_threads: int = 1,
    device: str = "auto",
    report: Callable[[str], None] = lambda _m: None,
    trust: bool = False,
) -> CompressionResult:
    """Compress the model of ``run_dir`` (NAS or AutoML) for one target.

    ``trust``: load the model even if the folder fails its integrity checks (loading a
    model folder runs code from it; only for folders you made).

    ``holdout_fraction`` of the evaluation rows is held out from every choice and only
    measures the winner and the baseline.
    """
    if (target_latency_ms is None) == (target_size_kb is None):
        raise CompressionError("give exactly one of --target-latency-ms and --target-size-kb")
    if out_dir is not None and Path(out_dir).exists() and any(Path(out_dir).iterdir()):
        raise CompressionError(f"output directory {out_dir} already exists and is not empty")
    start = time.monotonic()
    teacher = load_teacher(Path(run_dir), trust=trust)
    train, evaluate, notes = _load_data(teacher, data, target, test_size, seed)
    search = CompressionSearch(
        teacher,
        train,
        evaluate,
        holdout_fraction=holdout_fraction,
        seed=seed,
        n_threads=n_threads,
        device=device,
        report=report,
    )
    kind, value = (
        ("latency_ms", target_latency_ms)
        if target_latency_ms is not None
        else ("size_kb", target_size_kb)
    )
    result = search.run(kind, float(value))  # type: ignore[arg-type]
    result.notes = notes + result.notes + [f"took {time.monotonic() - start:.1f} s"]
    if out_dir is not None:
        _write(Path(out_dir), result, search)
    return result


def _write(out_dir: Path, result: CompressionResult, search: CompressionSearch) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        (staging / "candidates.csv").write_text(_candidates_csv(result))
        (staging / "result.json").write_text(result.model_dump_json(indent=2))
        chosen = result.chosen_candidate()
        if chosen is not None and chosen.name in search.models:
            model = search.models[chosen.name]
            save_compact(model, staging / "weights.npz")
            torch.save(model, staging / "model_module.pt")
            (staging / "chosen.json").write_text(
                json.dumps(
                    {
                        "name": chosen.name,
                        "validation_accuracy": chosen.validation_accuracy,
                        "holdout_accuracy": chosen.holdout_accuracy,
                    }
                )
            )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out_dir.exists():
        out_dir.rmdir()
    staging.rename(out_dir)


def _candidates_csv(result: CompressionResult) -> str:
    """One row per candidate; holdout_accuracy is empty for all but the baseline and winner."""
    lines = ["name,validation_accuracy,holdout_accuracy,size_kb,latency_ms,meets_target,chosen"]
    for c in [result.baseline, *result.candidates]:
        holdout = "" if c.holdout_accuracy is None else f"{c.holdout_accuracy:.6f}"
        lines.append(
            f"{c.name},{c.validation_accuracy:.6f},{holdout},{c.size_kb:.3f},"
            f"{c.latency_ms:.4f},{c.meets_target},{c.name == result.chosen}"
        )
    return "\n".join(lines) + "\n"
