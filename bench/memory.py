"""Benchmark the vector memory: add and query latency at 1k and 10k literature chunks.

Chunks are synthetic but realistic: each is 3-6 sentences drawn (seeded) from the shipped
corpus notes, about the size of a real passage. Timings are wall-clock on whatever machine
runs this, with one torch thread (as the CLI runs on a shared CPU). The store is a local
PersistentClient in a temporary folder. Writes bench/results/memory.json.

    .venv/bin/python bench/memory.py                 # 1k and 10k chunks, 1k runs
    .venv/bin/python bench/memory.py --sizes 1000    # quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# ``memory`` package; the repository root goes there instead.
_BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH_DIR]
sys.path.insert(0, str(_BENCH_DIR.parent))

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

QUERIES = [
    "successive halving with a budget per configuration",
    "Bayesian optimisation with a Gaussian process surrogate",
    "tree-structured Parzen estimator",
    "differentiable architecture search collapse to skip connections",
    "weight sharing in a super-network",
    "warm-starting hyperparameter search from similar datasets",
    "prototypical networks for few-shot classification",
    "MAML second-order gradients",
    "ensemble selection from a library of models",
    "mixup and cutmix augmentation",
    "magnitude pruning and the lottery ticket hypothesis",
    "post-training quantisation to 8-bit integers",
    "knowledge distillation with temperature",
    "why gradient boosting beats neural networks on tabular data",
    "random forest hyperparameters that matter",
    "SVM with RBF kernel: tuning C and gamma",
    "k nearest neighbours in high dimensions",
    "nested cross-validation for unbiased estimates",
    "precision-recall curve for rare positives",
    "target encoding of high-cardinality categorical features",
]


def _sentences() -> list[str]:
    from memory import SHIPPED_CORPUS
    from memory._documents import split_references

    out = []
    for path in sorted(SHIPPED_CORPUS.glob("*.md")):
        body, _ = split_references(path.read_text(encoding="utf-8"))
        body = re.sub(r"^#.*$", "", body, flags=re.MULTILINE)
        out.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", " ".join(body.split())))
    return [s for s in out if len(s) > 40]


def _chunks(n: int, start: int, rng: random.Random, sentences: list[str]) -> list[str]:
    return [
        f"[synthetic passage {i}] " + " ".join(rng.sample(sentences, rng.randint(3, 6)))
        for i in range(start, start + n)
    ]


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 2),
        "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "mean_ms": round(1000 * statistics.fmean(ordered), 2),
        "n": len(ordered),
    }


def _grow(store: Any, texts: list[str], start: int, batch: int) -> dict[str, float]:
    from memory import embed_texts

    embed_s = write_s = 0.0
    for i in range(0, len(texts), batch):
        part = texts[i : i + batch]
        t0 = time.perf_counter()
        vectors = embed_texts(part)
        t1 = time.perf_counter()
        store.add(
            "literature",
            ids=[f"bench-{start + i + j}" for j in range(len(part))],
            texts=part,
            metadatas=[{"kind": "user", "source": "bench", "title": "bench"}] * len(part),
            embeddings=vectors,
        )
        write_s += time.perf_counter() - t1
        embed_s += t1 - t0
    n = len(texts)
    return {
        "chunks_added": n,
        "embed_s": round(embed_s, 2),
        "write_s": round(write_s, 2),
        "add_ms_per_chunk": round(1000 * (embed_s + write_s) / n, 2),
        "write_ms_per_chunk": round(1000 * write_s / n, 3),
        "add_chunks_per_s": round(n / (embed_s + write_s), 1),
    }


def _query_latency(store: Any, repeats: int) -> dict[str, Any]:
    from memory import embed_texts

    col = store._collection("literature")
    store.query("literature", "warm-up query", k=5)
    total, search_only = [], []
    for _ in range(repeats):
        for q in QUERIES:
            t0 = time.perf_counter()
            store.query("literature", q, k=5)
            total.append(time.perf_counter() - t0)
        for q in QUERIES:
            vector = embed_texts([q])
            t0 = time.perf_counter()
            col.query(query_embeddings=vector, n_results=5)
            search_only.append(time.perf_counter() - t0)
    return {
        "query_end_to_end": _percentiles(total),
        "vector_search_only": _percentiles(search_only),
    }


def _runs_latency(store: Any, n_runs: int, rng: random.Random) -> dict[str, Any]:
    from automl_backend import DatasetProfile, TrialConfig
    from memory import RunRecord

    def profile(i: int) -> DatasetProfile:
        n_classes = rng.randint(2, 8)
        return DatasetProfile(
            name=f"data-{i % (n_runs // 4 or 1)}",
            task="binary" if n_classes == 2 else "multiclass",
            target="y",
            n_rows=rng.randint(100, 100_000),
            n_features=rng.randint(2, 500),
            n_numeric=1,
            n_categorical=1,
            n_classes=n_classes,
            minority_class_share=rng.uniform(0.01, 1 / n_classes),
            share_categorical=rng.random(),
            share_missing=rng.random() * 0.3,
            landmark_stump=rng.random(),
            landmark_nb=rng.random(),
        )

    families = ["random_forest", "extra_trees", "lightgbm", "logistic", "knn", "svm"]
    t0 = time.perf_counter()
    for i in range(n_runs):
        store.record_run(
            RunRecord(
                profile=profile(i),
                hypothesis=f"hypothesis {i}: " + rng.choice(QUERIES),
                status="ok",
                metric="accuracy",
                best_score=rng.random(),
                best_config=TrialConfig(family=rng.choice(families)),
            )
        )
    record_s = time.perf_counter() - t0
    times = []
    for i in range(30):
        t1 = time.perf_counter()
        store.similar_runs(profile(10_000 + i), 5)
        times.append(time.perf_counter() - t1)
    return {
        "runs": n_runs,
        "record_run_ms_each": round(1000 * record_s / n_runs, 2),
        "similar_runs": _percentiles(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="store sizes to measure, ascending")
    parser.add_argument("--batch", type=int, default=100, help="chunks per add() call")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the 20 queries")
    parser.add_argument("--runs", type=int, default=1000, help="runs ledger size (0: skip)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/memory.json")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from memory import MemoryStore, embed_texts

    t0 = time.perf_counter()
    embed_texts(["load the model"])
    model_load_s = time.perf_counter() - t0

    rng = random.Random(0)
    sentences = _sentences()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    results: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads 1",
        "model_load_s": round(model_load_s, 2),
        "batch": args.batch,
        "sizes": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        store = MemoryStore(path=Path(tmp) / "store", corpus_dir=None)
        have = 0
        for size in sizes:
            texts = _chunks(size - have, have, rng, sentences)
            print(f"adding {len(texts)} chunks to reach {size} ...", flush=True)
            entry: dict[str, Any] = {"chunks": size, **_grow(store, texts, have, args.batch)}
            have = size
            assert store.count("literature") == size
            entry.update(_query_latency(store, args.repeats))
            print(json.dumps(entry, indent=1), flush=True)
            results["sizes"].append(entry)
        if args.runs:
            print(f"recording {args.runs} runs ...", flush=True)
            results["runs_ledger"] = _runs_latency(store, args.runs, rng)
            print(json.dumps(results["runs_ledger"], indent=1), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
