"""The held-out benchmark's statistics: pooled test errors, error ratios to the peers,
paired-bootstrap intervals and McNemar's exact test on the test rows each run got wrong,
and the Markdown table bench/automl.py prints.

Every function takes the benchmark's result rows (one dict per budget, system, data set
and test fold, as ``bench/automl.py`` records them) and reads nothing else.
"""

from __future__ import annotations

import math
from typing import Any

PEERS = ("optuna_hgb", "flaml", "autogluon")
"""The systems the best peer is chosen from (an ablation of this backend never is)."""
WALL_SLACK = 0.05
"""The target: wall time at most budget + 5 %."""


def set_errors(
    rows: list[dict[str, Any]], budget: float
) -> dict[tuple[str, str], dict[str, float]]:
    """(system, data set) -> pooled test error over every fold it ran.

    Pooled: misclassified test rows over all test rows of the folds, so each fold counts
    by its size; ``floor`` is half an error over those rows (keeps ratios finite).
    """
    pooled: dict[tuple[str, str], dict[str, float]] = {}
    for r in rows:
        if r["budget_s"] != budget or "error_rate" not in r:
            continue
        entry = pooled.setdefault((r["system"], r["dataset"]), {"wrong": 0.0, "n": 0, "folds": 0})
        entry["wrong"] += r["error_rate"] * r["n_test"]
        entry["n"] += r["n_test"]
        entry["folds"] += 1
    return {
        key: {"error": e["wrong"] / e["n"], "floor": 0.5 / e["n"], "folds": e["folds"]}
        for key, e in pooled.items()
    }


def _complete(errors: dict[tuple[str, str], dict[str, float]], systems: list[str],
              dataset: str, folds: int) -> bool:  # fmt: skip
    return all((s, dataset) in errors and errors[(s, dataset)]["folds"] == folds for s in systems)


def error_ratios(rows: list[dict[str, Any]], budget: float, datasets: list[str], folds: int,
                 peers: list[str]) -> dict[str, Any]:  # fmt: skip
    """Per set and geometric-mean error ratios of cosci to each peer and to the best peer.

    A set counts only where both systems of a ratio finished every fold; the best peer
    is the best of those that did.
    """
    errors = set_errors(rows, budget)
    out: dict[str, Any] = {"per_set": {}, "geomean": {}, "n_sets": {}}
    logs: dict[str, list[float]] = {p: [] for p in [*peers, "best_peer"]}
    for dataset in datasets:
        if not _complete(errors, ["cosci"], dataset, folds):
            continue
        ours = errors[("cosci", dataset)]
        per: dict[str, Any] = {}
        done = [p for p in peers if _complete(errors, [p], dataset, folds)]
        for peer in done:
            theirs = errors[(peer, dataset)]
            floor = max(ours["floor"], theirs["floor"])
            per[peer] = max(ours["error"], floor) / max(theirs["error"], floor)
            logs[peer].append(math.log(per[peer]))
        done_peers = [p for p in done if p in PEERS]
        if done_peers:  # a peer that failed a fold is not the best on that set
            best = min(done_peers, key=lambda p: errors[(p, dataset)]["error"])
            per["best_peer"] = per[best]
            per["best_peer_name"] = best
            logs["best_peer"].append(math.log(per[best]))
        out["per_set"][dataset] = per
    for name, values in logs.items():
        if values:
            out["geomean"][name] = math.exp(sum(values) / len(values))
            out["n_sets"][name] = len(values)
    return out


def peer_chosen_elsewhere(rows: list[dict[str, Any]], budget: float, datasets: list[str],
                          folds: list[int]) -> dict[str, Any]:  # fmt: skip
    """Error ratios of cosci to the peer one would have picked without the test fold.

    The best-peer ratio of :func:`error_ratios` picks each set's peer by its errors on
    the very test rows it is then compared on, which favours the peers. Here, for each
    test fold, the peer is the one with the fewest wrong rows on the set's *other* folds
    (ties: the order of ``PEERS``); its wrong rows on the held-out fold are compared with
    cosci's, pooled over the folds, with the same half-error floor. A set counts only
    where cosci and every peer finished every fold; it needs two folds at least.
    """
    wrong = {
        (r["system"], r["dataset"], r["fold"]): r["error_rate"] * r["n_test"]
        for r in rows
        if r["budget_s"] == budget and "error_rate" in r and r["fold"] in folds
    }
    out: dict[str, Any] = {"per_set": {}, "geomean": None, "n_sets": 0}
    if len(folds) < 2:
        return out
    logs = []
    for dataset in datasets:
        if any((s, dataset, f) not in wrong for s in ("cosci", *PEERS) for f in folds):
            continue
        ours = theirs = 0.0
        chosen = []
        for fold in folds:
            others = [f for f in folds if f != fold]
            peer = min(PEERS, key=lambda p: sum(wrong[(p, dataset, f)] for f in others))
            chosen.append(peer)
            ours += wrong[("cosci", dataset, fold)]
            theirs += wrong[(peer, dataset, fold)]
        ratio = max(ours, 0.5) / max(theirs, 0.5)
        out["per_set"][dataset] = {"ratio": ratio, "peers": chosen}
        logs.append(math.log(ratio))
    if logs:
        out["geomean"] = math.exp(sum(logs) / len(logs))
        out["n_sets"] = len(logs)
    return out


BOOTSTRAP_DRAWS = 4000


def _wrong_matrix(rows: list[dict[str, Any]], budget: float, dataset: str, fold: int,
                  systems: list[str]) -> Any | None:  # fmt: skip
    """Test rows x systems, True where the system got the row wrong; None unless every
    system recorded its wrong rows for this fold."""
    import numpy as np

    runs = {r["system"]: r for r in rows if r["budget_s"] == budget
            and r["dataset"] == dataset and r["fold"] == fold and "wrong_rows" in r}  # fmt: skip
    if any(s not in runs for s in systems):
        return None
    n = runs[systems[0]]["n_test"]
    matrix = np.zeros((n, len(systems)), dtype=bool)
    for j, system in enumerate(systems):
        matrix[runs[system]["wrong_rows"], j] = True
    return matrix


def paired_bootstrap(rows: list[dict[str, Any]], budget: float, datasets: list[str],
                     folds: list[int], peers: list[str], draws: int = BOOTSTRAP_DRAWS,
                     seed: int = 0) -> dict[str, Any] | None:  # fmt: skip
    """95 % intervals of the geometric-mean error ratios, by a paired bootstrap over
    test rows: each draw resamples every test fold's rows with replacement, the same
    rows for every system, and recomputes the ratios exactly as :func:`error_ratios`
    does (pooled over folds, the half-error floor, a set counted only where both systems
    of a ratio finished every fold, the best peer chosen per set in that draw). It
    measures how much the ratios depend on which test rows KEEL drew, for these sets;
    it says nothing of other data sets. None when no ratio has its wrong rows recorded.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    logs: dict[str, Any] = {}
    for dataset in datasets:
        present = [
            s for s in ["cosci", *peers]
            if all(_wrong_matrix(rows, budget, dataset, f, [s]) is not None for f in folds)
        ]  # fmt: skip
        if "cosci" not in present or len(present) < 2:
            continue
        wrong = np.zeros((draws, len(present)))
        for fold in folds:
            matrix = _wrong_matrix(rows, budget, dataset, fold, present)
            assert matrix is not None
            n = matrix.shape[0]
            counts = rng.multinomial(n, np.full(n, 1.0 / n), size=draws)
            wrong += counts @ matrix.astype(float)
        floored = np.maximum(wrong, 0.5)  # half an error over the pooled rows
        ours = floored[:, 0]
        for j, peer in enumerate(present[1:], start=1):
            logs.setdefault(peer, []).append(np.log(ours / floored[:, j]))
        real = [j for j, p in enumerate(present) if p in PEERS]
        if real:
            logs.setdefault("best_peer", []).append(np.log(ours / floored[:, real].min(axis=1)))
    if not logs:
        return None
    out: dict[str, Any] = {"draws": draws, "seed": seed}
    for name, values in logs.items():
        ratios = np.exp(np.mean(values, axis=0))
        low, high = np.quantile(ratios, [0.025, 0.975])
        out[name] = {"low": float(low), "high": float(high), "n_sets": len(values)}
    return out


def mcnemar(rows: list[dict[str, Any]], budget: float, dataset: str, folds: list[int],
            a: str, b: str) -> dict[str, Any] | None:  # fmt: skip
    """Rows only ``a`` got wrong and rows only ``b`` got wrong, pooled over the folds,
    with McNemar's exact two-sided p (a binomial test on the discordant rows)."""
    from scipy.stats import binomtest

    only_a = only_b = 0
    for fold in folds:
        matrix = _wrong_matrix(rows, budget, dataset, fold, [a, b])
        if matrix is None:
            return None
        only_a += int((matrix[:, 0] & ~matrix[:, 1]).sum())
        only_b += int((matrix[:, 1] & ~matrix[:, 0]).sum())
    p = binomtest(only_a, only_a + only_b).pvalue if only_a + only_b else 1.0
    return {"only_" + a: only_a, "only_" + b: only_b, "p": float(p)}


def table(rows: list[dict[str, Any]], budget: float, datasets: list[str], folds: int,
          systems: list[str]) -> str:  # fmt: skip
    """A Markdown table of pooled test errors and wall times, and the targets' figures."""
    errors = set_errors(rows, budget)
    walls: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        if r["budget_s"] == budget and "wall_s" in r:
            walls.setdefault((r["system"], r["dataset"]), []).append(r["wall_s"])
    head = "| data set | rows | " + " | ".join(f"{s} error" for s in systems)
    head += " | " + " | ".join(f"{s} max wall s" for s in systems) + " |"
    lines = [head, "|---|---:|" + "---:|" * (2 * len(systems))]
    sizes = {r["dataset"]: r.get("n_train", 0) + r.get("n_test", 0) for r in rows if "n_test" in r}
    for dataset in datasets:
        cells = []
        for system in systems:
            e = errors.get((system, dataset))
            if e is None:
                cells.append("failed" if _ran(rows, budget, system, dataset) else "-")
            else:
                partial = "" if e["folds"] == folds else f" ({e['folds']:.0f} fold)"
                cells.append(f"{e['error']:.4f}{partial}")
        for system in systems:
            w = walls.get((system, dataset))
            cells.append(f"{max(w):.1f}" if w else "-")
        lines.append(f"| {dataset} | {sizes.get(dataset, 0)} | " + " | ".join(cells) + " |")
    peers = [s for s in systems if s != "cosci"]
    if "cosci" in systems and peers:
        ratios = error_ratios(rows, budget, datasets, folds, peers)
        lines.append("")
        for name, value in ratios["geomean"].items():
            label = "the best peer on each set" if name == "best_peer" else name
            lines.append(f"geometric-mean error ratio cosci / {label}: {value:.3f} "
                         f"({ratios['n_sets'][name]} sets)")  # fmt: skip
        fold_ids = sorted({r["fold"] for r in rows if r["budget_s"] == budget})
        spread = paired_bootstrap(rows, budget, datasets, fold_ids, peers)
        if spread is not None:
            lines.append(f"95 % intervals, paired bootstrap over test rows ({spread['draws']} "
                         "draws; the same rows for every system):")  # fmt: skip
            for name in ratios["geomean"]:
                if name not in spread:
                    continue
                label = "best peer" if name == "best_peer" else name
                lines.append(f"  cosci / {label}: {spread[name]['low']:.3f} to "
                             f"{spread[name]['high']:.3f} ({spread[name]['n_sets']} sets)")  # fmt: skip
            for dataset, per in ratios["per_set"].items():
                if "best_peer_name" not in per:
                    continue
                test = mcnemar(rows, budget, dataset, fold_ids, "cosci", per["best_peer_name"])
                if test is not None:
                    only = [v for k, v in test.items() if k.startswith("only_")]
                    lines.append(f"  {dataset}: rows only cosci / only {per['best_peer_name']} "
                                 f"got wrong {only[0]} / {only[1]}, McNemar exact "
                                 f"p = {test['p']:.3f}")  # fmt: skip
        elsewhere = peer_chosen_elsewhere(rows, budget, datasets, fold_ids)
        if elsewhere["geomean"] is not None:
            lines.append(f"cosci / the peer picked on the other folds (not on the test fold): "
                         f"{elsewhere['geomean']:.3f} ({elsewhere['n_sets']} sets)")  # fmt: skip
        if "optuna_hgb" in peers:
            for dataset in datasets:
                if sizes.get(dataset, 0) < 10_000:
                    continue
                ratio = ratios["per_set"].get(dataset, {}).get("optuna_hgb")
                if ratio is None:
                    lines.append(f"{dataset}: no cosci / optuna_hgb ratio (one of them did "
                                 f"not finish both folds)")  # fmt: skip
                    continue
                verdict = "met" if ratio <= 1.02 else "missed"
                lines.append(f"{dataset}: cosci / optuna_hgb error {ratio:.3f} "
                             f"(target at most 1.02: {verdict})")  # fmt: skip
        best = {
            d: r["best_peer_name"] for d, r in ratios["per_set"].items() if "best_peer_name" in r
        }
        if best:
            lines.append("best peer per set: " + ", ".join(f"{d} {p}" for d, p in best.items()))
    cosci_walls = [w for (s, _), ws in walls.items() if s == "cosci" for w in ws]
    if cosci_walls:
        limit = budget * (1 + WALL_SLACK)
        over = sum(w > limit for w in cosci_walls)
        lines.append(f"cosci wall time: max {max(cosci_walls):.1f} s for a {budget:g} s budget; "
                     f"{over} of {len(cosci_walls)} runs over budget + 5 % ({limit:.1f} s)")  # fmt: skip
    return "\n".join(lines)


def _ran(rows: list[dict[str, Any]], budget: float, system: str, dataset: str) -> bool:
    return any(
        r["budget_s"] == budget and r["system"] == system and r["dataset"] == dataset for r in rows
    )
