"""The co-scientist from Python: ``research``, ``review`` and ``resume``.

The same run directory as ``cosci run`` (run.json, checkpoints, call logs, report.md,
results.json, best_model/), so a run started in a notebook can be reviewed, resumed or
shown from the shell and the other way round. Collaborators are injected with defaults:
without ``llm`` the settings' LLM is built (the embedded model unless an endpoint is
configured), without ``memory`` the settings' memory store.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import ValidationError

from agents import (
    Answer,
    CoScientistError,
    HumanDecision,
    HumanHypothesis,
    HumanReviewNote,
    Hypothesis,
    ProgressEvent,
    ResearchRun,
    Review,
    ReviewDecisions,
    RunConfig,
    RunContext,
)
from cosci._frames import as_pandas, is_frame
from cosci.report import RunResults, build_results, write_report

if TYPE_CHECKING:
    from agents.llm import LLMClient
    from automl_backend import FittedModel
    from memory import MemoryStore
    from tools import EmbedFunction

DataSource = str | os.PathLike[str] | pd.DataFrame | Any
"""A CSV/Parquet path, ``sklearn:NAME`` / ``keel:NAME``, or a pandas or polars DataFrame."""
Progress = Callable[[ProgressEvent], None]

DATA_FILE = "data.parquet"
"""Inside a run directory: the DataFrame a run was given, as the run reads it."""


def default_run_dir(goal: str) -> Path:
    """``cosci-runs/<time>-<first words of the goal>`` in the working directory."""
    slug = "-".join(re.findall(r"[a-z0-9]+", goal.lower())[:5]) or "run"
    return Path("cosci-runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}"


# ---------------------------------------------------------------- the result


class ResultModel:
    """The model to use from a run (best_model/): predict on pandas or polars rows."""

    def __init__(self, path: Path, fitted: FittedModel) -> None:
        self.path = path
        self.fitted = fitted

    @property
    def classes(self) -> list[Any]:
        """Class labels in ``predict_proba``'s column order (empty for regression)."""
        return list(self.fitted.classes)

    def predict(self, X: Any) -> Any:
        return self.fitted.predict(as_pandas(X, "X"))

    def predict_proba(self, X: Any) -> Any:
        return self.fitted.predict_proba(as_pandas(X, "X"))

    def __repr__(self) -> str:
        return f"ResultModel({str(self.path)!r})"


@dataclass
class ResearchResult:
    """What a run found, as Python objects; ``results`` is results.json's content."""

    run_dir: Path
    status: str
    """finished, waiting_for_review (decide with :func:`review`) or stopped."""
    results: RunResults
    pending_review: list[str] = field(default_factory=list)
    """Hypotheses waiting for a person's decision (when the run is paused)."""

    @property
    def answer(self) -> Answer | None:
        """The question, the answer in one sentence, its evidence (None until measured)."""
        return self.results.answer

    @property
    def hypotheses(self) -> list[Hypothesis]:
        return self.results.hypotheses

    @property
    def reviews(self) -> list[Review]:
        return self.results.reviews

    @property
    def report_path(self) -> Path | None:
        """report.md, once the run has ended."""
        path = self.run_dir / "report.md"
        return path if path.is_file() else None

    @cached_property
    def ranking(self) -> pd.DataFrame:
        """One row per hypothesis, leader first (the ranking of report.md)."""
        rows = [row.model_dump() for row in self.results.ranking]
        return pd.DataFrame(rows).set_index("id") if rows else pd.DataFrame()

    @cached_property
    def best_model(self) -> ResultModel | None:
        """best_model/ loaded (None when the run has no tested hypothesis yet)."""
        from automl_backend import load_model

        if self.results.best_model_dir is None:
            return None
        path = Path(self.results.best_model_dir)
        return ResultModel(path, load_model(path)) if path.is_dir() else None

    def __repr__(self) -> str:
        said = self.answer.sentence if self.answer else "no answer yet"
        return f"ResearchResult({str(self.run_dir)!r}, status={self.status!r}: {said})"


# ---------------------------------------------------------------- driving a run


def _options_context(options: Mapping[str, Any]) -> RunContext:
    unknown = sorted(set(options) - set(RunContext.model_fields))
    if unknown:
        raise CoScientistError(
            f"unknown option {', '.join(unknown)}; valid: {', '.join(RunContext.model_fields)}"
        )
    try:
        return RunContext(**options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise CoScientistError(f"invalid option {where}: {message}") from None


def _collaborators(
    run: ResearchRun,
    llm: LLMClient | None,
    memory: MemoryStore | None,
    embed: EmbedFunction | None,
) -> tuple[LLMClient, Any]:
    from agents.llm import RecordingLLM
    from cosci._llm_factory import build_llm
    from cosci._settings import load_settings

    replay = Path(run.config.replay_of) / "llm_calls.jsonl" if run.config.replay_of else None
    if llm is not None and replay is None:
        client: LLMClient = RecordingLLM(llm, run.llm_log)
    else:
        client = build_llm(load_settings(), log_path=run.llm_log, replay_from=replay)
    if memory is None and run.config.use_memory and not run.config.replay_of:
        from cosci._memory_factory import build_memory_store

        memory = build_memory_store(load_settings())
    return client, run.toolbox(memory, embed)


def _result(run: ResearchRun, results: RunResults | None = None) -> ResearchResult:
    status = run.status()
    request = run.pending_review()
    return ResearchResult(
        run_dir=run.dir,
        status=status,
        results=results or build_results(run),
        pending_review=request.hypothesis_ids if request is not None else [],
    )


def _advance(
    run: ResearchRun,
    llm: LLMClient | None,
    memory: MemoryStore | None,
    embed: EmbedFunction | None,
    progress: Progress | None,
) -> ResearchResult:
    client, tools = _collaborators(run, llm, memory, embed)
    for event in run.advance(client, tools):
        if progress is not None:
            progress(event)
    if run.status() == "finished":
        return _result(run, write_report(run))
    return _result(run)


def research(
    goal: str,
    data: DataSource,
    target: str | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    llm: LLMClient | None = None,
    memory: MemoryStore | None = None,
    use_memory: bool = True,
    embed: EmbedFunction | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> ResearchResult:
    """Run the co-scientist on ``goal`` and ``data``; return what it found.

    ``data`` is a CSV/Parquet path, ``sklearn:NAME``, ``keel:NAME`` or a pandas or
    polars DataFrame (written into the run directory as data.parquet, so the run can be
    resumed and replayed). ``options`` are :class:`agents.RunContext` fields
    (``rounds``, ``hypotheses_per_round``, ``time_budget_s``, ``auto_approve``, ...);
    without ``auto_approve=True`` the run pauses for review before spending compute and
    the result's ``status`` is ``waiting_for_review``. ``progress`` receives every
    progress event. Problems raise :class:`agents.CoScientistError` (or the backend's
    ``DataError``) with a one-line message, before anything is written.
    """
    from automl_backend import load_dataset, metric_names

    if not goal.strip():
        raise CoScientistError("the research goal is empty; say what you want to find out")
    context = _options_context(options)
    frame = as_pandas(data) if is_frame(data) else None
    if frame is None and not isinstance(data, str | os.PathLike):
        as_pandas(data)  # raises the one-line error naming what is accepted
    dataset = load_dataset(frame if frame is not None else os.fspath(data), target=target)
    if context.metric is not None and context.metric not in metric_names(dataset.task):
        raise CoScientistError(
            f"metric {context.metric!r} does not apply to {dataset.task} data; valid: "
            f"{', '.join(metric_names(dataset.task))}"
        )
    run_dir = Path(out) if out is not None else default_run_dir(goal)
    source = str((run_dir / DATA_FILE).resolve()) if frame is not None else os.fspath(data)
    config = RunConfig(
        goal=goal.strip(), data=source, target=target, context=context, use_memory=use_memory
    )
    run = ResearchRun.create(run_dir, config)
    if frame is not None:
        _write_frame(frame, Path(source))
    return _advance(run, llm, memory, embed, progress)


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    try:
        frame.to_parquet(path, index=False)
    except (ValueError, TypeError, ImportError) as exc:
        path.unlink(missing_ok=True)
        raise CoScientistError(
            f"cannot keep the DataFrame as {path.name} ({type(exc).__name__}: {exc}); "
            "give columns of one type each, or pass a CSV path"
        ) from None


def resume(
    run_dir: str | os.PathLike[str],
    *,
    llm: LLMClient | None = None,
    memory: MemoryStore | None = None,
    embed: EmbedFunction | None = None,
    progress: Progress | None = None,
) -> ResearchResult:
    """Continue a paused (decisions saved) or stopped run; a finished one is returned as is."""
    run = ResearchRun.open(Path(run_dir))
    with run.lock():
        if run.status() == "finished":
            if not (run.dir / "report.md").is_file():
                return _result(run, write_report(run))
            return open_result(run.dir)
        return _advance(run, llm, memory, embed, progress)


def open_result(run_dir: str | os.PathLike[str]) -> ResearchResult:
    """A run's results as they stand (results.json as written once it has finished)."""
    run = ResearchRun.open(Path(run_dir))
    if not run.state():
        raise CoScientistError(f"run {run_dir} has not made its first step yet")
    written = run.dir / "results.json"
    if run.status() == "finished" and written.is_file():
        return _result(run, RunResults.model_validate_json(written.read_text(encoding="utf-8")))
    return _result(run)


def review(
    run_dir: str | os.PathLike[str],
    *,
    approve: Iterable[str] = (),
    reject: Mapping[str, str] | Iterable[str] = (),
    edit: Mapping[str, Mapping[str, Any]] | None = None,
    add: Iterable[HumanHypothesis | Mapping[str, Any]] = (),
    notes: Mapping[str, str] | None = None,
    others: str = "approve",
    decisions: ReviewDecisions | None = None,
    resume_now: bool = False,
    llm: LLMClient | None = None,
    memory: MemoryStore | None = None,
    embed: EmbedFunction | None = None,
    progress: Progress | None = None,
) -> ResearchResult:
    """Decide on the proposals of a paused run; with ``resume_now``, continue it.

    ``reject`` maps an id to the reason (or lists ids); ``edit`` maps an id to the fields
    of an edit (``statement``, ``families`` or ``spec``); ``add`` takes the person's own
    hypotheses (:class:`agents.HumanHypothesis` or its fields); ``notes`` maps an id to a
    review. Proposals not mentioned get ``others`` (approve or reject). Or pass a whole
    :class:`agents.ReviewDecisions` as ``decisions``.
    """
    run = ResearchRun.open(Path(run_dir))
    with run.lock():
        request = run.pending_review()
        if request is None:
            raise CoScientistError(
                f"run {run_dir} is not waiting for a review (status: {run.status()})"
            )
        if decisions is None:
            decisions = _decisions(approve, reject, edit or {}, add, notes or {}, others)
        run.save_decisions(decisions)
        if resume_now:
            return _advance(run, llm, memory, embed, progress)
        return _result(run)


def _decisions(
    approve: Iterable[str],
    reject: Mapping[str, str] | Iterable[str],
    edit: Mapping[str, Mapping[str, Any]],
    add: Iterable[HumanHypothesis | Mapping[str, Any]],
    notes: Mapping[str, str],
    others: str,
) -> ReviewDecisions:
    reasons = dict(reject) if isinstance(reject, Mapping) else dict.fromkeys(reject, "")
    try:
        return ReviewDecisions(
            decisions=[HumanDecision(id=h, action="approve") for h in approve]
            + [HumanDecision(id=h, action="reject", reason=r or None) for h, r in reasons.items()]
            + [HumanDecision(id=h, action="edit", **dict(fields)) for h, fields in edit.items()],
            add=[a if isinstance(a, HumanHypothesis) else HumanHypothesis(**a) for a in add],
            reviews=[HumanReviewNote(id=h, text=t) for h, t in notes.items()],
            others=others,  # type: ignore[arg-type]
        )
    except (ValidationError, TypeError) as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            reason = f"{where}: {first['msg']}" if where else str(first["msg"])
        else:
            reason = str(exc)
        raise CoScientistError(f"invalid review decisions: {reason}") from None


__all__ = [
    "DATA_FILE",
    "DataSource",
    "ResearchResult",
    "ResultModel",
    "default_run_dir",
    "open_result",
    "research",
    "resume",
    "review",
]
