"""run_experiment: hand a validated spec to the backend; a crash becomes a failed result.

A complete run directory of the same spec (left by a run killed after it finished, e.g.
between a hypothesis's control and treatment arms) is reused, not run again.

A hypothesis whose experiment crashes is marked failed and the run goes on, so nothing
the backend raises (a bug in a builder, a spec the data cannot take) escapes from here.
Each start and finish is appended to an experiment log, which is how a resumed run (and
its test) can tell that no finished experiment was repeated.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automl_backend import Dataset, ExperimentResult, ExperimentSpec, TrialConfig

ProgressCallback = Callable[..., Any]


def _log(path: Path | None, **entry: Any) -> None:
    if path is None:
        return
    entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def _finished_run(
    out_dir: Path, spec: ExperimentSpec, *, any_name: bool = False
) -> ExperimentResult | None:
    """The result of a complete run directory of exactly ``spec`` (up to its name with
    ``any_name``), or None."""
    result_file, spec_file = out_dir / "result.json", out_dir / "spec.yaml"
    if not (result_file.is_file() and spec_file.is_file()):
        return None
    try:
        saved = ExperimentSpec.from_file(spec_file)
        result = ExperimentResult.model_validate_json(result_file.read_text(encoding="utf-8"))
    except Exception:
        return None
    exclude = {"name"} if any_name else None
    if saved.model_dump(mode="json", exclude=exclude) != spec.model_dump(
        mode="json", exclude=exclude
    ):
        return None
    return result


def reuse_identical_run(
    experiments_dir: Path, spec: ExperimentSpec, *, log_path: Path | None = None, label: str = ""
) -> ExperimentResult | None:
    """The ok result of a finished run in ``experiments_dir`` of ``spec`` under any name.

    Hypotheses that share a control arm run it once; a resumed process has forgotten
    which arms its killed predecessor ran, but the finished ones are on disk.
    """
    if not experiments_dir.is_dir():
        return None
    for folder in sorted(experiments_dir.iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        result = _finished_run(folder, spec, any_name=True)
        if result is not None and result.ok:
            _log(log_path, event="reused", experiment=label, out_dir=str(folder))
            return result
    return None


def run_experiment(
    spec: ExperimentSpec,
    dataset: Dataset,
    *,
    out_dir: Path,
    warm_start: Sequence[TrialConfig] = (),
    progress: ProgressCallback | None = None,
    log_path: Path | None = None,
    label: str = "",
    storage: str | None = None,
) -> ExperimentResult:
    """Run ``spec`` on ``dataset`` into ``out_dir`` (replaced if a killed run left it half
    written); never raises for a failing experiment. ``storage``: a database server on
    which the spec's study (named by the spec) is shared with ``cosci worker``s."""
    from automl_backend import run_spec

    finished = _finished_run(out_dir, spec)
    if finished is not None:
        # The backend moves a run directory into place only when it is complete, so this
        # one finished before the process was killed: keep it instead of repeating it.
        _log(log_path, event="reused", experiment=label, out_dir=str(out_dir))
        return finished
    if out_dir.exists():
        shutil.rmtree(out_dir)
    # The backend writes into a hidden sibling first; a killed run leaves one behind.
    for partial in out_dir.parent.glob(f".{out_dir.name}.partial-*"):
        shutil.rmtree(partial, ignore_errors=True)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _log(log_path, event="start", experiment=label, out_dir=str(out_dir))
    start = time.perf_counter()
    try:
        result = run_spec(
            spec,
            dataset,
            out_dir=out_dir,
            warm_start=list(warm_start) or None,
            progress=progress,
            storage=storage,
        )
    except Exception as exc:
        first_line = (str(exc).splitlines() or [""])[0][:300]
        result = ExperimentResult(
            status="failed",
            reason=f"{type(exc).__name__}: {first_line}",
            task=spec.task,
            metric=spec.metric or "unknown",
            fit_time_s=time.perf_counter() - start,
            run_dir=out_dir,
        )
    _log(
        log_path,
        event="finish",
        experiment=label,
        status=result.status,
        best_score=result.best_score,
        n_trials=result.n_trials,
    )
    return result
