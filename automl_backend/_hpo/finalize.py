"""After the search: choose ensemble members and refit them on all training rows."""

from __future__ import annotations

import logging
import time
from typing import Any

from automl_backend._builders import EARLY_STOPPING_PATIENCE, EARLY_STOPPING_SHARE
from automl_backend._dataset import Dataset
from automl_backend._hpo.ensemble import bagged_ensemble
from automl_backend._hpo.oof import OutOfFold, blend_oof, data_fingerprint, make_oof
from automl_backend._hpo.search import HPOTrial
from automl_backend._hpo.worker import Problem, run_refit
from automl_backend._model import FittedModel, import_skops_io
from automl_backend._registry import REGISTRY
from automl_backend._result import EnsembleMember
from automl_backend._spec import ExperimentSpec, TrialConfig
from automl_backend._splits import resolve_cv

log = logging.getLogger("automl_backend")

ARTIFACT_RESERVE_S = 2.0
"""Seconds kept for writing the run directory (plots, report, model file), once its
libraries are imported (see :func:`preload_run_dir_writers`)."""
_MAX_RESERVE_SHARE = 0.35
"""The refit reserve never takes more than this share of the time budget."""


def allowed_overshoot(time_s: float) -> float:
    """How far past its time budget a run may end: max(5 %, 5 s)."""
    return max(0.05 * time_s, 5.0)


PRELOAD_MIN_BUDGET_S = 30.0
"""A search sharing its study with other processes imports the writers before it starts,
and only for budgets of at least this: on a loaded machine the import took most of a
15 s budget, and a search with no time left finishes no trial."""


def preload_run_dir_writers() -> None:
    """Import the libraries that write the run directory, inside the search's time.

    Imported lazily at the end they cost seconds past the budget that no reserve
    foresaw: skops' type registry imports most of scikit-learn (12 to 21 s measured on a
    shared 2-core machine at load averages 8 to 10), matplotlib 3 to 4 s there. A local
    search calls this once its first trial runs in its own process (``Search``'s
    ``meanwhile``), so the import overlaps that trial and the deadline accounts for it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    import_skops_io()


def pick_members(spec: ExperimentSpec, complete: list[HPOTrial],
                 problem: Problem) -> tuple[dict[int, float], float | None]:  # fmt: skip
    """Trial number -> weight. ``complete`` is sorted best first.

    Multi-objective runs and runs with ensembling off use the best-scoring trial alone
    (an ensemble would trade away the latency or size the search optimised).
    """
    best = complete[0]
    single_objective = len(spec.search.objectives) == 1
    candidates = [r for r in complete[: spec.ensemble.candidates] if r.oof is not None]
    if not (spec.ensemble.enabled and single_objective and len(candidates) > 1):
        return {best.number: 1.0}, None
    predictions = {r.number: r.oof for r in candidates if r.oof is not None}
    try:
        weights, ensemble_score = bagged_ensemble(
            predictions, problem.y, problem.metric, spec.ensemble.size,
            bags=spec.ensemble.bags, seed=spec.seed,
        )  # fmt: skip
    except ValueError as exc:
        log.info("ensemble selection skipped: %s", exc)
        return {best.number: 1.0}, None
    return weights, ensemble_score


REFIT_ROUNDS_GROWTH = 1.1
"""The refit fits every row, more than a trial's fold, so it boosts a little longer
than the rounds early stopping found there."""


def refit_config(record: HPOTrial) -> TrialConfig:
    """The configuration refitted on every row: a boosting model early-stopped in its
    trial gets the rounds found there (times ``REFIT_ROUNDS_GROWTH``) and no held-out
    share, so the refit uses all rows and the search's choice of length.
    """
    config = record.config
    if config.family != "lightgbm":
        return config
    params = {**config.params, "early_stopping": False}
    if record.rounds is not None:
        rounds_hp = REGISTRY[config.family].hyperparameters["n_estimators"]
        rounds = round(record.rounds * REFIT_ROUNDS_GROWTH)
        params["n_estimators"] = int(min(max(rounds, rounds_hp.low), rounds_hp.high))
    return TrialConfig(family=config.family, params=params, preprocessing=config.preprocessing)


def _rows_growth(n_folds: int) -> float:
    """All rows over a training fold's rows (a holdout keeps 80 % for training)."""
    return 1.0 + 1.0 / (n_folds - 1) if n_folds > 1 else 1.25


def _early_stopped_work(record: HPOTrial) -> float | None:
    """The refit's work over a fold fit's for an early-stopped boosting trial (None for
    others): the fold fitted 1 - ``EARLY_STOPPING_SHARE`` of its rows for the kept
    rounds plus the ``EARLY_STOPPING_PATIENCE`` that found them (at most its
    ``n_estimators``; the count the folds report when known: a fold cut at its time
    limit boosted fewer) and scored the held-out share after each; the refit fits all
    rows for the rounds of :func:`refit_config`. On optdigits and penbased (10 classes)
    LightGBM refits took 5.2 and 4.1 s where the fold times alone predicted 9.4 s."""
    if record.config.family != "lightgbm" or record.rounds is None:
        return None
    if record.boosted is not None:
        fitted = record.boosted
    else:
        hyperparameter = REGISTRY["lightgbm"].hyperparameters["n_estimators"]
        planned = int(record.config.params.get("n_estimators", hyperparameter.default))
        fitted = min(record.rounds + EARLY_STOPPING_PATIENCE, planned)
    refit_rounds = int(refit_config(record).params["n_estimators"])
    return refit_rounds / max(fitted, 1) / (1.0 - EARLY_STOPPING_SHARE)


def expected_refit_s(record: HPOTrial, n_folds: int) -> float:
    """Rough seconds to refit ``record`` on all rows, from its mean fold fit time, and to
    hand the model back from the refit's process.

    All rows are more than a training fold; kernel SVMs grow about quadratically; an
    early-stopped boosting model refits only the rounds it kept.
    """
    growth = _rows_growth(n_folds)
    handback = record.stored_mb * growth / REFIT_HANDBACK_MB_PER_S
    if record.config.family == "svm":
        growth **= 2
    per_fold = record.fit_time_s / max(len(record.fold_scores), 1)
    work = _early_stopped_work(record)
    if work is not None:
        # Linear growth in rows is the upper envelope for LightGBM's histograms: on 1.67x
        # the rows, 100 or 300 rounds took 1.06-1.68x as long here (penbased, optdigits,
        # magic, letter). Other families keep a 20 % margin.
        return growth * work * per_fold + 0.1 + handback
    return 1.2 * growth * per_fold + 0.1 + handback


REFIT_HANDBACK_MB_PER_S = 200.0
"""Megabytes of fitted trees a refit child hands back to the run per second (pickled to a
file in memory, read back): 514 MB of extra trees on letter took 2.3 s here, in two
refits of 4.4 and 4.5 s against fits of 2.0 and 2.2 s."""


SAVE_MB_PER_S = 120.0
"""Megabytes of fitted trees the run directory's model file takes per second to write
(skops, then the type check and the SHA-256 that read it back). Measured here with
``FittedModel.save`` into a new folder: 200 extra trees on letter, 518 MB in 5.3 s
(96 MB/s), and with two rows a leaf 317 MB in 2.8 s (111 MB/s); writing over an existing
file went twice as fast, which a run never does. The same 517 MB forest on a quieter
day: 3.4, 2.6 and 2.5 s (150-210 MB/s). The rate kept is between the two days: on the
slower one it is 1.1 s short for that forest, inside the 5 % a 60 s run may overshoot."""


TREE_SAVE_S = 0.003
"""Seconds ``FittedModel.save`` takes per tree on top of its bytes: forests of 400 and
1,600 trees three levels deep (0.5 and 1.8 MB of nodes) took 0.8 and 4.3 s to write here,
2.0-2.7 ms a tree; 18 extra-trees members on phoneme took 16 s."""


def expected_save_s(records: list[HPOTrial], n_folds: int) -> float:
    """Seconds to write the model file of the members ``records``, beyond
    ``ARTIFACT_RESERVE_S``: their trees' bytes, grown on all rows (as many more nodes as
    rows), plus a fixed cost per tree."""
    stored = sum(r.stored_mb for r in records) * _rows_growth(n_folds)
    return stored / SAVE_MB_PER_S + sum(r.trees for r in records) * TREE_SAVE_S


class RefitReserve:
    """Seconds to keep free at the end of the search for the refit and the artifacts.

    The refit time is estimated from the ensemble the search would pick *now*
    (greedy selection over the out-of-fold predictions is cheap), recomputed when new
    trials complete, at most once a second.
    """

    def __init__(self, spec: ExperimentSpec, problem: Problem) -> None:
        self.spec, self.problem = spec, problem
        self.cap = _MAX_RESERVE_SHARE * (spec.budget.time_s or 0.0)
        self.value = ARTIFACT_RESERVE_S
        self._seen = 0
        self._at = 0.0

    def __call__(self, records: list[HPOTrial]) -> float:
        complete = [r for r in records if r.state == "complete"]
        now = time.monotonic()
        if len(complete) != self._seen and now - self._at >= 1.0:
            self._seen, self._at = len(complete), now
            ranked = sorted(complete, key=lambda r: -(r.score or 0.0))
            weights, _ = pick_members(self.spec, ranked, self.problem)
            by_number = {r.number: r for r in ranked}
            self.value = reserve_s(weights, by_number, len(self.problem.folds), self.cap)
        return min(self.value, self.cap)


def member_order(weights: dict[int, float], by_number: dict[int, HPOTrial]) -> list[int]:
    """Members in the order they are refitted: heaviest weight first, then best score."""
    return sorted(weights, key=lambda n: (-weights[n], -(by_number[n].score or 0.0)))


def member_cost_s(record: HPOTrial, n_folds: int) -> float:
    """Seconds one ensemble member adds after the search: its refit on all rows and
    writing its trees into the model file."""
    return expected_refit_s(record, n_folds) + expected_save_s([record], n_folds)


def reserve_s(weights: dict[int, float], by_number: dict[int, HPOTrial], n_folds: int,
              cap: float) -> float:  # fmt: skip
    """Seconds :func:`build_model` needs after a search that ends ``cap`` seconds before
    the budget: the artifacts, and the refits and trees of the members it will keep.

    ``build_model`` drops the members whose refits and trees do not fit the time left
    (heaviest weight first); a reserve that also kept time for them would leave it
    unused. A cap of 0 or less (no time budget) keeps every member.
    """
    order = member_order(weights, by_number)
    if cap > 0:
        order, _ = _fit_in_time(order, by_number, n_folds, cap - ARTIFACT_RESERVE_S)
    return ARTIFACT_RESERVE_S + sum(member_cost_s(by_number[n], n_folds) for n in order)


def _fit_in_time(order: list[int], by_number: dict[int, HPOTrial], n_folds: int,
                 available: float) -> tuple[list[int], list[int]]:  # fmt: skip
    """Split members (heaviest weight first) into those whose refits and trees fit in
    ``available`` seconds and the rest; the first member is always kept."""
    kept, dropped, total = [], [], 0.0
    for number in order:
        cost = member_cost_s(by_number[number], n_folds)
        if kept and total + cost > available:
            dropped.append(number)
        else:
            kept.append(number)
            total += cost
    return kept, dropped


RESCUE_REFIT_MIN_S = 20.0
"""Least time a last-chance refit gets when every planned refit missed the budget."""


def rescue_limit_s(record: HPOTrial, n_folds: int) -> float:
    """Seconds a last-chance refit of ``record`` gets: the run has no model without it."""
    return RESCUE_REFIT_MIN_S + 5.0 * expected_refit_s(record, n_folds)


def build_model(
    spec: ExperimentSpec,
    problem: Problem,
    classes: list[Any],
    dataset: Dataset,
    complete: list[HPOTrial],
    weights: dict[int, float],
    metric: str,
    budget_end: float | None,
) -> tuple[FittedModel | None, list[EnsembleMember], list[str]]:
    """Refit the weighted members; drop (and say so) any that fail or miss the deadline.

    Refits must end ``ARTIFACT_RESERVE_S`` before the budget, plus the expected time to
    write the members' trees (:func:`expected_save_s`), so the artifacts fit too;
    the first member may use half of the allowed overshoot, since without it there is
    no model at all. A member whose expected refit time does not fit is skipped. A
    first member whose expected refit does not fit either gets the last-chance time
    (:func:`rescue_limit_s`) at once: stopped at the deadline, it would only be refitted
    again with that time, after seconds spent on a refit that was never going to finish
    (letter at 15 s: 1.3 s lost that way in each of three runs).
    """
    by_number = {r.number: r for r in complete}
    order = member_order(weights, by_number)
    n_folds = len(problem.folds)
    fitted: list[tuple[float, Any, HPOTrial]] = []
    notes: list[str] = []
    if budget_end is not None:
        available = budget_end - ARTIFACT_RESERVE_S - time.monotonic()
        order, dropped = _fit_in_time(order, by_number, n_folds, available)
        if dropped:
            notes.append(
                f"ensemble trimmed to the members whose refit fits the budget "
                f"(left out trials {', '.join(map(str, dropped))})"
            )
    # only the kept members' trees are written
    artifacts = ARTIFACT_RESERVE_S + expected_save_s([by_number[n] for n in order], n_folds)
    given_last_chance: set[int] = set()  # refitted once with the last-chance time
    for number in order:
        record = by_number[number]
        deadline: float | None = None
        late: tuple[float, float, float] | None = None  # deadline, expected s, s left
        if budget_end is not None:
            grace = 0.5 * allowed_overshoot(spec.budget.time_s or 0.0) if not fitted else 0.0
            deadline = budget_end - artifacts + grace
            expected = expected_refit_s(record, n_folds)
            left = deadline - time.monotonic()
            if fitted and expected >= left:
                notes.append(f"ensemble member trial {number} skipped: no time left to refit")
                continue
            if not fitted and not given_last_chance and expected > left:
                late = (deadline, expected, left)
                given_last_chance.add(number)
                deadline = time.monotonic() + rescue_limit_s(record, n_folds)
        try:
            pipeline, _ = run_refit(problem, refit_config(record), deadline)
        except (TimeoutError, RuntimeError) as exc:
            notes.append(f"ensemble member trial {number} dropped: refit failed ({exc})")
            continue
        if late is not None and time.monotonic() > late[0]:
            notes.append(
                f"trial {number} was refitted past its deadline: its refit was expected to "
                f"take {late[1]:.1f} s with {max(late[2], 0.0):.1f} s left, so it got the "
                "last-chance time at once (the run ends past its time budget)"
            )
        fitted.append((weights[number], pipeline, record))
    heaviest = min(weights, key=lambda n: (-weights[n], -(by_number[n].score or 0.0)), default=None)
    if not fitted and heaviest is not None and heaviest not in given_last_chance:
        # Every refit missed its deadline (a loaded machine can slow a refit past the
        # reserve): the search found good configurations, so refit the heaviest member
        # past the budget rather than fail the run, and say so.
        number = heaviest
        limit = rescue_limit_s(by_number[number], n_folds)
        try:
            rescue = refit_config(by_number[number])
            pipeline, _ = run_refit(problem, rescue, time.monotonic() + limit)
        except (TimeoutError, RuntimeError) as exc:
            notes.append(f"rescue refit of trial {number} failed too ({exc})")
        else:
            notes.append(
                f"no refit fitted the budget; trial {number} was refitted alone after it "
                "(the run ends past its time budget)"
            )
            fitted.append((1.0, pipeline, by_number[number]))
    if not fitted:
        return None, [], notes
    total = sum(w for w, _, _ in fitted)
    members = [
        EnsembleMember(trial=r.number, weight=w / total, config=r.config, cv_score=r.score or 0.0)
        for w, _, r in fitted
    ]
    model = FittedModel(
        task=dataset.task,
        target=dataset.target,
        column_types=dict(dataset.column_types),
        classes=list(classes),
        members=[(w / total, p) for w, p, _ in fitted],
        member_configs=[m.model_dump(mode="json") for m in members],
        metric=metric,
    )
    return model, members, notes


def final_oof(spec: ExperimentSpec, dataset: Dataset, problem: Problem, classes: list[Any],
              members: list[EnsembleMember], complete: list[HPOTrial]) -> OutOfFold | None:  # fmt: skip
    """The final model's out-of-fold predictions, for combining this run with others later.

    None (and logged) when a member's predictions were not kept.
    """
    prediction = blend_oof(members, complete)
    if prediction is None:
        log.info("out-of-fold predictions not saved: a member's predictions were not kept")
        return None
    strategy, _ = resolve_cv(spec.cv, dataset, spec.budget.time_s)
    cv = f"{strategy}, {len(problem.folds)} split(s), seed {spec.seed}"
    return make_oof(
        prediction, problem.y, task=dataset.task, target=dataset.target, classes=classes,
        data_hash=data_fingerprint(dataset), metric=problem.metric, cv=cv,
        members={str(m.trial): m.weight for m in members},
    )  # fmt: skip
