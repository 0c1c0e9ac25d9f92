"""Greedy ensemble selection (Caruana, Niculescu-Mizil, Crew & Ksikes, ICML 2004).

Start from the best single model; then repeatedly add (with replacement) the model
whose inclusion gives the best score of the averaged out-of-fold predictions. The
weights are how often each model was picked. Only rows every candidate predicted
out-of-fold are used, so holdout and chronological splits work too.
"""

from __future__ import annotations

import numpy as np

from automl_backend._metrics import METRICS, score


def covered_rows(predictions: list[np.ndarray]) -> np.ndarray:
    """Boolean mask of rows with an out-of-fold prediction from every candidate."""
    mask = np.ones(len(predictions[0]), dtype=bool)
    for pred in predictions:
        finite = np.isfinite(pred)
        mask &= finite if pred.ndim == 1 else finite.all(axis=1)
    return mask


def greedy_ensemble(
    predictions: dict[int, np.ndarray],
    y: np.ndarray,
    metric: str,
    size: int = 20,
) -> tuple[dict[int, float], float]:
    """Pick weights for ``predictions`` (key -> OOF matrix) that maximise ``metric``.

    Returns (key -> weight summing to 1, ensemble score on the covered rows). For
    label metrics ties are broken by log-loss, then by order: pass candidates best first.
    """
    if not predictions:
        raise ValueError("greedy_ensemble needs at least one candidate")
    keys = list(predictions)
    mask = covered_rows([predictions[k] for k in keys])
    if not mask.any():
        raise ValueError("no row was predicted out-of-fold by every candidate")
    preds = {k: predictions[k][mask] for k in keys}
    target = y[mask]

    def rate(prediction: np.ndarray) -> tuple[float, float]:
        return score(metric, target, prediction), _tie_breaker(metric, target, prediction)

    single = {k: rate(preds[k]) for k in keys}
    first = max(keys, key=lambda k: single[k])
    counts = {first: 1}
    total = preds[first].copy()
    best_counts, best_score = dict(counts), single[first]
    for n_members in range(2, size + 1):
        trial_scores = {k: rate((total + preds[k]) / n_members) for k in keys}
        pick = max(keys, key=lambda k: trial_scores[k])
        counts[pick] = counts.get(pick, 0) + 1
        total += preds[pick]
        # Keep the best prefix of the greedy path, so the ensemble never scores below
        # the best single candidate on the selection rows.
        if trial_scores[pick] > best_score:
            best_counts, best_score = dict(counts), trial_scores[pick]
    n = sum(best_counts.values())
    return {k: c / n for k, c in best_counts.items()}, float(best_score[0])


def bagged_ensemble(
    predictions: dict[int, np.ndarray],
    y: np.ndarray,
    metric: str,
    size: int = 20,
    bags: int = 20,
    fraction: float = 0.5,
    seed: int = 0,
) -> tuple[dict[int, float], float]:
    """Bagged ensemble selection (Caruana et al., 2004, section 5).

    Each bag runs :func:`greedy_ensemble` on a random ``fraction`` of the candidates;
    the weights are averaged over bags. Averaging damps the overfitting of one greedy
    path to the out-of-fold rows, which matters on small data. Returns weights and the
    score of the averaged ensemble on the rows every candidate predicted.
    """
    keys = list(predictions)
    if bags <= 1 or len(keys) < 3:
        return greedy_ensemble(predictions, y, metric, size)
    rng = np.random.default_rng(seed)
    per_bag = max(2, round(fraction * len(keys)))
    totals: dict[int, float] = {}
    for _ in range(bags):
        chosen = sorted(rng.choice(len(keys), size=per_bag, replace=False))
        weights, _ = greedy_ensemble(
            {keys[i]: predictions[keys[i]] for i in chosen}, y, metric, size
        )
        for key, weight in weights.items():
            totals[key] = totals.get(key, 0.0) + weight / bags
    mask = covered_rows([predictions[k] for k in totals])
    blend = sum(w * predictions[k][mask] for k, w in totals.items())
    # Keep the candidates' order (best first) so callers see stable member lists.
    ordered = {k: totals[k] for k in keys if k in totals}
    return ordered, float(score(metric, y[mask], blend))


def _tie_breaker(metric: str, y: np.ndarray, prediction: np.ndarray) -> float:
    """Negative log-loss for label metrics (accuracy, F1...), whose steps are coarse.

    Among selections with the same accuracy, the one with better probabilities tends to
    generalise better; for other metrics there is no tie-breaker.
    """
    info = METRICS[metric]
    if info.needs_proba or "regression" in info.tasks:
        return 0.0
    # Plain numpy: this runs size x candidates times, sklearn's input checks would dominate.
    picked = prediction[np.arange(len(y)), y]
    return float(np.mean(np.log(np.clip(picked, 1e-15, 1.0))))
