"""Small formatting helpers shared by the agents' prompts and progress messages."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from langgraph.runtime import Runtime

from agents._messages import Hypothesis, ProgressEvent, Review
from automl_backend import ExperimentSpec


def describe_spec(spec: ExperimentSpec) -> str:
    pre = spec.preprocessing
    narrowed = [m.family for m in spec.models if m.params]
    text = (
        f"families {', '.join(m.family for m in spec.models)}; scaling {'/'.join(pre.scaling)}; "
        f"feature selection {'/'.join(pre.feature_selection)}"
    )
    if narrowed:
        text += f"; narrowed ranges for {', '.join(narrowed)}"
    return text


def evidence(h: Hypothesis, metric: str) -> str:
    """What has been measured for ``h``, in one line."""
    result = h.result
    if result is None:
        return "untested"
    if not result.ok:
        return f"experiment failed ({result.reason})"
    scores = result.fold_scores
    sd = statistics.stdev(scores) if len(scores) > 1 else 0.0
    return (
        f"mean {metric} {result.best_score:.4f} +/- {sd:.4f} over {len(scores)} folds, "
        f"{result.n_trials} trials, best family {result.best_config.family if result.best_config else '?'}"
    )


def embedding_text(h: Hypothesis) -> str:
    """What proximity compares: the claim and the experiment that tests it."""
    return f"{h.statement} Experiment: {describe_spec(h.experiment)}."


def hypothesis_line(h: Hypothesis) -> str:
    return f"{h.id}: {h.statement} [{', '.join(h.families)}]"


def bullet_list(lines: Iterable[str], empty: str = "(none)") -> str:
    items = [f"- {line}" for line in lines]
    return "\n".join(items) if items else empty


def reviews_text(reviews: Iterable[Review], ids: set[str], limit: int = 6) -> str:
    """Reviews of ``ids``, people's first (they are shown to ranking and meta-review)."""
    chosen = [r for r in reviews if r.hypothesis_id in ids and r.text]
    chosen.sort(key=lambda r: (r.author != "human", r.round))
    lines = [f"{r.hypothesis_id} ({r.author}, {r.kind}): {r.text}" for r in chosen[:limit]]
    return bullet_list(lines)


def emit(runtime: Runtime[Any], kind: str, message: str = "", **fields: Any) -> None:
    """Send a progress event to whoever streams the run (no-op otherwise)."""
    writer = getattr(runtime, "stream_writer", None)
    if writer is not None:
        writer(ProgressEvent(kind=kind, message=message, **fields))  # type: ignore[arg-type]
