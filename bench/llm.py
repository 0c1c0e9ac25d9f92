"""Benchmark of the embedded LLM (SmolLM2-135M-Instruct on the CPU).

Measures, on this machine:
1. first load: GGUF -> safetensors conversion, in a fresh process with an empty cache;
2. cached load: a fresh process loading the converted copy (median of 3);
3. plain-text decoding speed in tokens per second (median of 3);
4. the share of schema-valid answers over 20 varied prompts and schemas, first try only
   (no repair turn), plus the share that was valid before numbers were clamped;
5. the perplexity on the first 2,048 tokens of the README (a check that a faster path
   computes the same model).

Usage: ``python bench/llm.py [--threads 1] [--float32] [--out bench/results/llm.json]``
(``--float32``: the decoder layers in float32 instead of 4-bit products).
Writes the figures as JSON; docs/readme/llm.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError

# Run as a script, this file's folder comes first on sys.path and "agents" would name
# bench/agents.py instead of the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from agents.llm import ChatMessage, LLMError, LocalLLM  # noqa: E402
from agents.llm._schema import extract_json_text  # noqa: E402

# --- schemas shaped like the agents' (Literal enums, bounded strings, numbers, nesting) ---


class PlanDraft(BaseModel):
    goal_asks_for: Literal["classification", "regression", "unclear"]
    metric: Literal["accuracy", "balanced_accuracy", "roc_auc", "f1_macro", "rmse", "r2"]
    objective: str = Field(min_length=5, max_length=160)
    focus_families: list[Literal["logistic", "knn", "random_forest", "lightgbm", "mlp"]] = Field(
        min_length=1, max_length=3
    )


class HypothesisDraft(BaseModel):
    statement: str = Field(min_length=10, max_length=180)
    rationale: str = Field(min_length=5, max_length=200)
    families: list[Literal["logistic", "knn", "random_forest", "lightgbm", "mlp"]] = Field(
        min_length=1, max_length=3
    )
    scaling: Literal["none", "standard", "robust", "quantile"]
    expected_gain_points: Literal[0, 1, 2, 3, 5]


class ReviewDraft(BaseModel):
    correctness: Literal[1, 2, 3, 4, 5]
    novelty: Literal[1, 2, 3, 4, 5]
    feasibility: Literal[1, 2, 3, 4, 5]
    critique: str = Field(min_length=5, max_length=200)


class MatchVerdict(BaseModel):
    winner: Literal["A", "B", "draw"]
    reason: str = Field(min_length=5, max_length=200)


class SearchRange(BaseModel):
    name: Literal["learning_rate", "max_depth", "n_estimators", "min_samples_leaf", "alpha"]
    low: float = Field(ge=0, le=10_000)
    high: float = Field(ge=0, le=10_000)
    log_scale: bool


class ExperimentDraft(BaseModel):
    family: Literal["lightgbm", "random_forest", "mlp", "logistic"]
    ranges: list[SearchRange] = Field(min_length=1, max_length=3)
    n_trials: int = Field(ge=5, le=500)
    cv_folds: int = Field(ge=2, le=10)
    note: str = Field(max_length=120)


class EvolutionDraft(BaseModel):
    operator: Literal["narrow", "combine", "simplify", "out_of_box"]
    narrowing: Literal[0.25, 0.5, 0.75]
    statement: str = Field(min_length=10, max_length=180)


class MetaReviewDraft(BaseModel):
    strengths: list[Annotated[str, Field(max_length=120)]] = Field(max_length=3)
    weaknesses: list[Annotated[str, Field(max_length=120)]] = Field(max_length=3)
    advice: str = Field(min_length=5, max_length=200)


class DatasetQuestion(BaseModel):
    needs_scaling: bool
    has_leakage_risk: bool
    imbalance: Literal["none", "mild", "severe"]
    minority_share: float = Field(ge=0, le=0.5)
    missing_share: float | None = Field(default=None, ge=0, le=1)


class OverviewDraft(BaseModel):
    summary: str = Field(min_length=20, max_length=400)
    confidence: Literal["low", "medium", "high"]


SYSTEM = "You are a careful machine-learning research assistant."
DATA = (
    "Data set: breast cancer, 569 rows, 30 numeric features, binary target malignant/benign, "
    "37% malignant, no missing values."
)
CASES: list[tuple[str, type[BaseModel]]] = [
    (f"{DATA} Goal: which model family predicts malignancy best? Draft a plan.", PlanDraft),
    ("Goal: predict house prices from 13 numeric features (Boston-like). Draft a plan.", PlanDraft),
    (f"{DATA} Propose one hypothesis about which model family will win.", HypothesisDraft),
    ("Wine quality, 11 numeric features, 6 classes. Propose a hypothesis.", HypothesisDraft),
    (
        "Credit default, 30% categorical columns, 22% defaulters. Propose a hypothesis.",
        HypothesisDraft,
    ),
    (
        "Review this hypothesis: 'k-nearest neighbours beats gradient boosting on 30 scaled "
        "numeric features because the classes are well separated.'",
        ReviewDraft,
    ),
    (
        "Review: 'A 3-layer MLP will beat logistic regression on 200 rows of tabular data.'",
        ReviewDraft,
    ),
    (
        "Hypothesis A: random forest with 500 trees. Hypothesis B: logistic regression with L2. "
        "Data: 569 rows, 30 numeric features. Which is more likely to score higher ROC AUC?",
        MatchVerdict,
    ),
    (
        "A: LightGBM with tuned learning rate. B: k-NN with k=5 on unscaled features. "
        "Which wins on accuracy?",
        MatchVerdict,
    ),
    (f"{DATA} Design a LightGBM experiment with search ranges.", ExperimentDraft),
    ("Design a random forest tuning experiment for a 10,000-row churn data set.", ExperimentDraft),
    ("Design an MLP experiment for digit images flattened to 64 features.", ExperimentDraft),
    (
        "Top hypothesis: 'gradient boosting wins with shallow trees'. Derive a child hypothesis.",
        EvolutionDraft,
    ),
    ("Top hypothesis: 'scaling helps k-NN'. Derive a bolder variant.", EvolutionDraft),
    (
        "Round facts: 4 hypotheses tested; tree ensembles won 3 matches; MLP runs timed out "
        "twice; scaling never changed ranks. Write a meta-review.",
        MetaReviewDraft,
    ),
    (
        "Round facts: logistic regression beat every tree model; 2 duplicate hypotheses were "
        "removed. Write a meta-review.",
        MetaReviewDraft,
    ),
    (f"{DATA} Answer these questions about the data set.", DatasetQuestion),
    (
        "Fraud data: 284,807 rows, 0.17% positives, 28 PCA features plus amount and time. "
        "Answer these questions about the data set.",
        DatasetQuestion,
    ),
    (
        "Results: random forest ROC AUC 0.991, LightGBM 0.989, logistic 0.995, k-NN 0.981. "
        "Summarise what the study found.",
        OverviewDraft,
    ),
    (
        "Results: MLP RMSE 3.1, LightGBM RMSE 2.7, linear RMSE 4.8 on house prices. "
        "Summarise what the study found.",
        OverviewDraft,
    ),
]
PLAIN_PROMPT = "Explain in a paragraph what hyperparameter optimisation is and why it matters."


def _load_in_fresh_process(cache_dir: Path, threads: int, four_bit: bool) -> dict[str, Any]:
    code = (
        "import json, sys; from pathlib import Path; "
        "from agents.llm._local_model import load_model; "
        f"m = load_model(Path({str(cache_dir)!r}), {threads}, four_bit={four_bit}); "
        "print(json.dumps({'load_s': m.load_s, 'converted_now': m.converted_now}))"
    )
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def readme_perplexity(llm: LocalLLM, tokens: int = 2048, window: int = 512) -> float:
    """Perplexity of the model on the first ``tokens`` tokens of the README, scored in
    windows of ``window`` tokens (each predicts its own next tokens)."""
    import math

    import torch

    loaded = llm.load()
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    ids = loaded.tokenizer(text[: tokens * 8], return_tensors="pt").input_ids[:, :tokens]
    total, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, ids.shape[1] - 1, window):
            chunk = ids[:, start : start + window + 1]
            logits = loaded.model(chunk).logits[0, :-1].float()
            total += float(torch.nn.functional.cross_entropy(logits, chunk[0, 1:], reduction="sum"))
            count += chunk.shape[1] - 1
    return math.exp(total / count)


def _strictly_valid(schema: type[BaseModel], text: str) -> bool:
    try:
        schema.model_validate_json(extract_json_text(text))
    except ValidationError:
        return False
    return True


def run(threads: int, out: Path, four_bit: bool = True) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="cosci-bench-llm-") as tmp:
        cache = Path(tmp)
        print("first load (GGUF conversion) in a fresh process ...", flush=True)
        first = _load_in_fresh_process(cache, threads, four_bit)
        assert first["converted_now"], "the cache was not empty"
        cached = [_load_in_fresh_process(cache, threads, four_bit) for _ in range(3)]
        assert not any(c["converted_now"] for c in cached)
        print(f"  first {first['load_s']:.1f} s, cached {[round(c['load_s'], 2) for c in cached]}")

        llm = LocalLLM(cache, threads=threads, repair_tries=0, four_bit=four_bit)
        layers = llm.load().layers
        plain = []
        for _ in range(3):
            completion = llm.complete(
                [ChatMessage(role="user", content=PLAIN_PROMPT)], max_tokens=128
            )
            plain.append(completion.completion_tokens / completion.latency_s)
        print(f"  plain text: {statistics.median(plain):.1f} tokens/s")
        perplexity = readme_perplexity(llm)
        print(f"  perplexity on the README's first 2,048 tokens: {perplexity:.2f}")

        rows = []
        for number, (prompt, schema) in enumerate(CASES, start=1):
            messages = [
                ChatMessage(role="system", content=SYSTEM),
                ChatMessage(role="user", content=prompt),
            ]
            start = time.perf_counter()
            try:
                completion = llm.complete(messages, schema, role="bench")
            except LLMError as exc:
                rows.append(
                    {
                        "schema": schema.__name__,
                        "valid": False,
                        "strictly_valid": False,
                        "error": str(exc),
                        "latency_s": time.perf_counter() - start,
                    }
                )
                print(f"  {number:2d} {schema.__name__:16s} INVALID: {exc}")
                continue
            rows.append(
                {
                    "schema": schema.__name__,
                    "valid": isinstance(completion.parsed, schema),
                    "strictly_valid": _strictly_valid(schema, completion.text),
                    "prompt_tokens": completion.prompt_tokens,
                    "completion_tokens": completion.completion_tokens,
                    "latency_s": completion.latency_s,
                    "text": completion.text,
                }
            )
            print(
                f"  {number:2d} {schema.__name__:16s} valid  {completion.latency_s:5.1f} s "
                f"{completion.completion_tokens:4d} tokens",
                flush=True,
            )

    answered = [r for r in rows if "completion_tokens" in r]
    latencies = [r["latency_s"] for r in rows]
    result = {
        "date": date.today().isoformat(),
        "machine": "2-core shared CPU machine",
        "python": platform.python_version(),
        "threads": threads,
        "model": llm.model_name,
        "layers": layers,
        "load_average_start": round(load_before, 2),
        "load_average_end": round(os.getloadavg()[0], 2),
        "first_load_s": round(first["load_s"], 2),
        "cached_load_s_median": round(statistics.median(c["load_s"] for c in cached), 3),
        "plain_tokens_per_s_median": round(statistics.median(plain), 1),
        "readme_perplexity": round(perplexity, 2),
        "structured_calls": len(rows),
        "schemas": len({r["schema"] for r in rows}),
        "valid_share": sum(r["valid"] for r in rows) / len(rows),
        "valid_before_clamping_share": sum(r["strictly_valid"] for r in rows) / len(rows),
        "structured_tokens_per_s": round(
            sum(r["completion_tokens"] for r in answered)
            / max(sum(r["latency_s"] for r in answered), 1e-9),
            1,
        ),
        "structured_latency_s_median": round(statistics.median(latencies), 2),
        "structured_latency_s_max": round(max(latencies), 2),
        "calls": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("bench/results/llm.json"))
    parser.add_argument(
        "--float32", action="store_true", help="decoder layers in float32, not 4-bit products"
    )
    args = parser.parse_args()
    result = run(args.threads, args.out, four_bit=not args.float32)
    summary = {k: v for k, v in result.items() if k != "calls"}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
