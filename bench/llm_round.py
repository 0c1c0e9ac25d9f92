"""Benchmark: LLM seconds per co-scientist round with the embedded model.

One short co-scientist run (two rounds, tiny experiments, the bench/agents.py settings
otherwise) is driven with the embedded SmolLM2-135M to capture the calls the nodes send:
their messages, schemas and token caps. Those calls are then replayed in order, several
times, under each decoder configuration, interleaved so that load drifts hit every
configuration alike. Each repeat starts with an empty prefix cache, so the cache only
pays off within a repeat, as within a run. Reported per configuration: LLM seconds of each
round (generation, reflection, ranking, meta-review and, from round 2, evolution), of the
plan and of the overview, tokens in and out, calls, with the median over repeats and the
load average at start and end.

    .venv/bin/python bench/llm_round.py --label after --threads 1,2 --repeats 3
    .venv/bin/python bench/llm_round.py --label before --configs baseline

The capturing run uses the default configuration; its answers shape the later prompts
(hypotheses already made), so each invocation captures afresh: the replayed prompts are
those of today's prompt files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and "agents" would name
# bench/agents.py instead of the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pydantic import BaseModel  # noqa: E402

from agents.llm import (  # noqa: E402
    ChatMessage,
    Completion,
    LLMError,
    LLMRequest,
    LocalLLM,
    Outcome,
    complete_each,
)
from agents.llm._grammar import SPACED  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "llm_round.json"
GOAL = "Which model family and preprocessing classify this data most accurately, and why?"


def _incremental(
    prefix_cache: bool = True, fast_forward: bool = True, **more: Any
) -> dict[str, Any]:
    """LocalLLM options for the incremental decoder with the given levers."""
    return {
        "decoder": "incremental",
        "prefix_cache": prefix_cache,
        "fast_forward": fast_forward,
        **more,
    }


_FLOAT32 = {"four_bit": False}
CONFIGS: dict[str, dict[str, Any]] = {
    # Whatever LocalLLM does by default in the checked-out code.
    "baseline": {},
    # transformers' generate with outlines' llguidance logits processor and an optional
    # space between JSON tokens: the decoder and grammar before 2026-12-02 (commentary
    # up to its schema's 200 characters, float32 layers).
    "generate_spaced": {
        "decoder": "generate",
        "json_whitespace": SPACED,
        "terse_length": 200,
        **_FLOAT32,
    },
    # The same without whitespace in the grammar.
    "generate": {"decoder": "generate", **_FLOAT32},
    # The incremental decoder with each lever alone, then all of them (float32 layers).
    "incremental": _incremental(False, False, **_FLOAT32),
    "prefix_cache": _incremental(True, False, **_FLOAT32),
    "fast_forward": _incremental(False, True, **_FLOAT32),
    "all": _incremental(**_FLOAT32),
    # All of them, and the calls a node sends together decoded side by side.
    "batched": _incremental(**_FLOAT32),
    # The same with commentary up to 200 characters (before 2026-12-03's shorter grammar).
    "batched_long": _incremental(terse_length=200, **_FLOAT32),
    # "batched" with the decoder layers as 4-bit products (2026-12-03's default).
    "four_bit": _incremental(),
}
BATCHED = {"batched", "batched_long", "four_bit"}
"""Configurations that replay a node's batch as one ``complete_batch`` (the others replay
its calls one after another, as the nodes sent them before batching)."""
OUTSIDE_ROUNDS = {"supervisor": "plan", "overview": "overview"}


@dataclass
class Call:
    """One LLM call a node made, kept for replay."""

    round: int
    role: str
    messages: list[ChatMessage]
    schema: type[BaseModel] | None
    max_tokens: int | None
    batch: int | None = None
    """Calls sent in one batch share this number."""


class CapturingLLM:
    """Passes calls to ``inner`` and keeps each one with the round it belongs to (a round
    ends with its meta-review) and the batch it came in."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[Call] = []
        self._round = 1
        self._batches = 0

    def complete_batch(self, requests: list[LLMRequest]) -> list[Outcome]:
        self._batches += 1
        for r in requests:
            round_ = 0 if r.role in OUTSIDE_ROUNDS else self._round
            self.calls.append(
                Call(round_, r.role, list(r.messages), r.schema, r.max_tokens, self._batches)
            )
        if any(r.role == "meta_review" for r in requests):
            self._round += 1
        return complete_each(self.inner, requests)

    def complete(
        self,
        messages: list[ChatMessage],
        schema: type[BaseModel] | None = None,
        *,
        role: str = "default",
        max_tokens: int | None = None,
    ) -> Completion:
        round_ = 0 if role in OUTSIDE_ROUNDS else self._round
        self.calls.append(Call(round_, role, list(messages), schema, max_tokens))
        if role == "meta_review":
            self._round += 1
        return self.inner.complete(messages, schema, role=role, max_tokens=max_tokens)


def capture(cache_dir: Path, rounds: int) -> tuple[list[Call], float]:
    """The calls of a short real run (tiny experiments) and its wall time."""
    from agents import ResearchRun, RunConfig, RunContext
    from automl_backend import load_dataset
    from tools import Toolbox

    context = RunContext(
        rounds=rounds,
        hypotheses_per_round=4,
        children_per_round=1,
        trials_per_experiment=2,
        experiment_time_s=5,
        folds=3,
        seed=0,
        auto_approve=True,
        metric="accuracy",
        llm_matches_per_round=1,
        debate_top_k=1,
    )
    data = load_dataset("sklearn:breast_cancer")
    llm = CapturingLLM(LocalLLM(cache_dir, threads=1))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        config = RunConfig(goal=GOAL, data=data.name, context=context, use_memory=False)
        run = ResearchRun.create(Path(workdir) / "run", config)
        tools = Toolbox(data, run_dir=run.dir, run_name=run.dir.name)
        for _event in run.advance(llm, tools):
            pass
    return llm.calls, time.perf_counter() - started


def _groups(calls: list[Call], batched: bool) -> list[list[Call]]:
    """The calls in the order they were sent: a batch together when ``batched``, else one
    by one."""
    groups: list[list[Call]] = []
    for call in calls:
        if batched and call.batch is not None and groups and groups[-1][0].batch == call.batch:
            groups[-1].append(call)
        else:
            groups.append([call])
    return groups


def replay(llm: LocalLLM, calls: list[Call], *, batched: bool = False) -> dict[str, Any]:
    """Run every captured call once; seconds and tokens per round."""
    per: dict[str, dict[str, float]] = {}
    failed = 0
    for group in _groups(calls, batched):
        key = OUTSIDE_ROUNDS.get(group[0].role, f"round {group[0].round}")
        slot = per.setdefault(key, {"s": 0.0, "calls": 0, "prompt": 0, "completion": 0})
        start = time.perf_counter()
        requests = [LLMRequest(c.messages, c.schema, c.role, c.max_tokens) for c in group]
        try:
            outcomes = complete_each(llm, requests)
        except LLMError:
            outcomes = []
            failed += len(group)
        for outcome in outcomes:
            failed += isinstance(outcome, LLMError)
            slot["prompt"] += outcome.prompt_tokens
            slot["completion"] += outcome.completion_tokens
        slot["s"] += time.perf_counter() - start
        slot["calls"] += len(group)
    return {"parts": per, "failed": failed}


def _summary(repeats: list[dict[str, Any]]) -> dict[str, Any]:
    parts = sorted({k for r in repeats for k in r["parts"]})
    out: dict[str, Any] = {}
    for part in parts:
        seconds = [r["parts"][part]["s"] for r in repeats if part in r["parts"]]
        first = repeats[0]["parts"][part]
        out[part] = {
            "median_s": round(statistics.median(seconds), 2),
            "seconds": [round(s, 2) for s in seconds],
            "calls": first["calls"],
            "prompt_tokens": first["prompt"],
            "completion_tokens": first["completion"],
        }
    rounds = [k for k in parts if k.startswith("round ")]
    per_round = [statistics.median(r["parts"][k]["s"] for r in repeats) for k in rounds]
    out["median_s_per_round"] = round(statistics.mean(per_round), 2) if per_round else None
    out["failed_calls"] = [r["failed"] for r in repeats]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="key of this run in the results file")
    parser.add_argument(
        "--configs", default="generate_spaced,generate,incremental,prefix_cache,fast_forward,all"
    )
    parser.add_argument("--threads", default="1", help="torch threads, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cosci" / "models")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--dump", type=Path, help="also write the captured calls as JSONL")
    args = parser.parse_args()
    names = [c for c in args.configs.split(",") if c]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown configs {unknown}; choose from {', '.join(CONFIGS)}")
    threads = [int(t) for t in args.threads.split(",")]

    load_start = os.getloadavg()
    calls, capture_s = capture(args.cache_dir, args.rounds)
    print(f"captured {len(calls)} calls in {capture_s:.0f} s", flush=True)
    if args.dump is not None:
        with args.dump.open("w", encoding="utf-8") as handle:
            for c in calls:
                messages = [m.model_dump() for m in c.messages]
                schema = c.schema.__name__ if c.schema is not None else None
                row = {"round": c.round, "role": c.role, "schema": schema, "messages": messages}
                row["batch"] = c.batch
                handle.write(json.dumps(row) + "\n")
    results: dict[str, Any] = {}
    for n_threads in threads:
        clients = {n: LocalLLM(args.cache_dir, threads=n_threads, **CONFIGS[n]) for n in names}
        runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
        for repeat in range(args.repeats):
            for name, client in clients.items():
                clear = getattr(client, "clear_prefix_cache", None)
                if clear is not None:
                    clear()
                runs[name].append(replay(client, calls, batched=name in BATCHED))
                total = sum(p["s"] for p in runs[name][-1]["parts"].values())
                print(f"threads {n_threads} repeat {repeat} {name}: {total:.1f} s", flush=True)
        for name in names:
            results[f"{name}, {n_threads} thread(s)"] = _summary(runs[name])
    record = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "captured_calls": [{"round": c.round, "role": c.role, "batch": c.batch} for c in calls],
        "capture_s": round(capture_s, 1),
        "repeats": args.repeats,
        "configs": {n: CONFIGS[n] for n in names},
        "results": results,
    }
    existing = json.loads(args.out.read_text()) if args.out.is_file() else {}
    existing[args.label] = record
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(existing, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
