"""The NAS run directory: written in a hidden staging folder, renamed when complete.

Contents: spec.yaml, best_architecture.json, architecture.md (readable summary),
model.safetensors (weights + architecture + preprocessing) with manifest.json, history.csv (one row per evaluation, in order), leaderboard.csv (the same, best first,
with the HPO leaderboard's columns),
pareto_front.csv (multi-objective runs), search_progress.png, pareto_front.png,
report.md and result.json.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from automl_backend.nas._errors import NASError
from automl_backend.nas._plots import plot_pareto_front, plot_search_progress
from automl_backend.nas._result import NASResult, TrialRecord
from automl_backend.nas._space import describe_arch


def default_run_dir(name: str, root: Path = Path("runs")) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:40] or "data"
    return root / f"nas-{safe}-{stamp}"


def check_run_dir(out_dir: Path) -> None:
    """Refuse to overwrite a non-empty folder (before any training starts)."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise NASError(f"run directory {out_dir} already exists and is not empty")


@contextmanager
def staged_run_dir(out_dir: Path) -> Iterator[Path]:
    """Yield a staging folder; on success it becomes ``out_dir``, on failure it vanishes."""
    check_run_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out_dir.exists():
        out_dir.rmdir()  # empty, checked above
    staging.rename(out_dir)


def write_history(trials: list[TrialRecord], path: Path) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "trial",
                "accuracy",
                "params",
                "latency_ms",
                "epochs",
                "seconds",
                "complete",
                "elapsed_s",
                "info",
                "architecture",
            ]
        )
        for t in trials:
            writer.writerow(
                [
                    t.trial,
                    f"{t.accuracy:.6f}",
                    t.params,
                    f"{t.latency_ms:.4f}",
                    t.epochs,
                    f"{t.seconds:.3f}",
                    t.complete,
                    f"{t.elapsed_s:.2f}",
                    json.dumps(t.info, sort_keys=True),
                    json.dumps(t.architecture, sort_keys=True),
                ]
            )


def write_leaderboard(trials: list[TrialRecord], space: str, path: Path) -> None:
    """Best first, with the HPO leaderboard's columns, so the same readers work on it.
    Low-fidelity estimates rank below full-fidelity results, as in the winner's choice."""
    ranked = sorted(
        trials,
        key=lambda t: (not t.complete, -float(t.info.get("fidelity", 1.0)), -t.accuracy, t.trial),
    )
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "rank",
                "trial",
                "state",
                "score",
                "family",
                "params",
                "fit_time_s",
                "latency_ms",
                "architecture",
            ]
        )
        for rank, t in enumerate(ranked, start=1):
            writer.writerow(
                [
                    rank,
                    t.trial,
                    "complete" if t.complete else "cut short",
                    f"{t.accuracy:.6f}",
                    f"nas-{space}",
                    t.params,
                    f"{t.seconds:.3f}",
                    f"{t.latency_ms:.4f}",
                    json.dumps(t.architecture, sort_keys=True),
                ]
            )


def write_run_files(
    folder: Path, result: NASResult, spec_json: dict[str, Any], data_name: str
) -> None:
    """Everything except the model file (the runner saves the weights itself)."""
    import yaml

    # Same file name and format as HPO run directories.
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec_json, sort_keys=False))
    best = {
        "architecture": result.best_architecture,
        "val_accuracy": result.best_val_accuracy,
        "test_accuracy": result.test_accuracy,
        "params": result.params,
        "latency_ms": result.latency_ms,
        "size_kb": result.size_kb,
    }
    (folder / "best_architecture.json").write_text(json.dumps(best, indent=2))
    summary = describe_arch(result.best_architecture)
    (folder / "architecture.md").write_text(f"# Best architecture\n\n```\n{summary}\n```\n")
    write_history(result.trials, folder / "history.csv")
    write_leaderboard(result.trials, result.space, folder / "leaderboard.csv")
    title = f"{result.strategy} on {data_name}"
    if result.trials:
        plot_search_progress(result.trials, folder / "search_progress.png", title)
        cost = result.objectives[1] if len(result.objectives) > 1 else "params"
        plot_pareto_front(result.trials, cost, folder / "pareto_front.png", title)
    if len(result.objectives) > 1:
        write_history(result.pareto_front, folder / "pareto_front.csv")
    (folder / "report.md").write_text(render_report(result, data_name, summary))
    (folder / "result.json").write_text(result.model_dump_json(indent=2))


def render_report(result: NASResult, data_name: str, summary: str) -> str:
    test = f"{result.test_accuracy:.4f}" if result.test_accuracy is not None else "not held out"
    lines = [
        f"# NAS run: {result.strategy} on {data_name}",
        "",
        f"- space: {result.space}; objectives: {', '.join(result.objectives)}; "
        f"device: {result.device}",
        f"- architectures evaluated: {result.n_evaluated} (proposals: {result.n_proposals})",
        f"- best validation accuracy during search: {result.best_val_accuracy:.4f}",
        f"- test accuracy of the retrained winner: {test}",
        f"- winner: {result.params} parameters, {result.size_kb:.1f} KB, "
        f"{result.latency_ms:.3f} ms per row on the CPU",
        f"- time: search {result.search_time_s:.1f} s, final training "
        f"{result.final_train_time_s:.1f} s ({result.final_epochs} epochs), "
        f"total {result.fit_time_s:.1f} s",
        "",
        "## Winner",
        "",
        "```",
        summary,
        "```",
        "",
        "![search progress](search_progress.png)",
        "",
        "![Pareto front](pareto_front.png)",
    ]
    if result.pareto_front and len(result.objectives) > 1:
        lines += [
            "",
            "## Pareto front",
            "",
            "| trial | accuracy | params | latency ms |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {t.trial} | {t.accuracy:.4f} | {t.params} | {t.latency_ms:.3f} |"
            for t in result.pareto_front
        ]
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in result.notes]
    return "\n".join(lines) + "\n"
