"""Search-progress and Pareto-front figures (matplotlib, written as PNG)."""

from __future__ import annotations

from pathlib import Path

from automl_backend.nas._pareto import pareto_front
from automl_backend.nas._result import TrialRecord


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_search_progress(trials: list[TrialRecord], path: Path, title: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [t.elapsed_s for t in trials]
    accs = [t.accuracy for t in trials]
    best, running = [], float("-inf")
    for a in accs:
        running = max(running, a)
        best.append(running)
    ax.scatter(xs, accs, s=14, alpha=0.6, label="evaluated architecture")
    ax.step(xs, best, where="post", color="C3", label="best so far")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("validation accuracy")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_pareto_front(trials: list[TrialRecord], cost: str, path: Path, title: str) -> None:
    """Accuracy against ``cost`` ('latency' or 'params') with the non-dominated points joined."""
    plt = _pyplot()
    value = (lambda t: t.latency_ms) if cost == "latency" else (lambda t: float(t.params))
    points = [(value(t), -t.accuracy) for t in trials]
    front = sorted(pareto_front(points), key=lambda i: points[i][0])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter([p[0] for p in points], [-p[1] for p in points], s=14, alpha=0.5, label="evaluated")
    ax.plot(
        [points[i][0] for i in front],
        [-points[i][1] for i in front],
        "o-",
        color="C3",
        label="Pareto front",
    )
    ax.set_xlabel("CPU latency per row (ms)" if cost == "latency" else "parameters")
    if cost == "params":
        ax.set_xscale("log")
    ax.set_ylabel("validation accuracy")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
