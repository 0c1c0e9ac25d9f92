"""The torch side of a run: budget check, the ask/tell loop, retraining the winner."""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from automl_backend._progress import ProgressCallback, ProgressEvent
from automl_backend.nas._augment import batch_augmentation
from automl_backend.nas._errors import NASError
from automl_backend.nas._evaluate import Evaluator
from automl_backend.nas._models import build_model, inherit_weights
from automl_backend.nas._result import TrialRecord
from automl_backend.nas._space import Architecture, SearchSpace
from automl_backend.nas._spec import CellSpace, NASSpec
from automl_backend.nas._train import (
    TensorData,
    accuracy,
    configure_torch,
    count_params,
    latency_ms,
    resolve_device,
    seconds_per_epoch_probe,
    size_kb,
    train,
)
from automl_backend.nas.strategies import OneShotContext, make_strategy

_STALL_LIMIT = 50
"""Consecutive already-seen proposals after which a converged search stops."""
_CHEAP_OPS = ("skip", "max_pool3x3", "avg_pool3x3", "sep_conv3x3", "conv3x3", "conv5x5")


@dataclass
class SearchOutcome:
    best: TrialRecord
    best_state: dict[str, Any] | None
    """The winner's weights after its evaluation (the final training may start there)."""
    trials: list[TrialRecord]
    n_proposals: int
    seconds: float
    notes: list[str] = field(default_factory=list)


@dataclass
class FinalModel:
    network: torch.nn.Module
    epochs: int
    seconds: float
    params: int
    latency_ms: float
    size_kb: float


class SearchSession:
    def __init__(
        self,
        spec: NASSpec,
        input_shape: tuple[int, ...],
        n_classes: int,
        arrays: dict[str, tuple[np.ndarray, np.ndarray]],
        *,
        start: float,
        report: ProgressCallback,
    ) -> None:
        configure_torch(spec.n_threads, spec.seed)
        self.spec = spec
        self.device = resolve_device(spec.device)
        self.input_shape = input_shape
        self.n_classes = n_classes
        self.data = {k: TensorData.from_numpy(X, y, self.device) for k, (X, y) in arrays.items()}
        self.start = start
        self.report = report
        budget = spec.time_budget_s
        self.deadline = start + budget if budget else None
        self.search_deadline = start + spec.search_fraction * budget if budget else None
        self._param_cache: dict[str, int] = {}
        constraint = self._fits if spec.space.max_params else None
        self.space = SearchSpace(spec.space, constraint=constraint)

    def _params(self, arch: Architecture) -> int:
        key = json.dumps(arch, sort_keys=True)
        if key not in self._param_cache:
            self._param_cache[key] = count_params(
                build_model(arch, self.input_shape, self.n_classes)
            )
        return self._param_cache[key]

    def _fits(self, arch: Architecture) -> bool:
        return self._params(arch) <= (self.spec.space.max_params or 0)

    def cheapest_arch(self) -> Architecture:
        """The smallest, fastest-training architecture of the space."""
        genome = []
        for d in self.space.decisions:
            values = list(d.choices)
            if d.name in ("batch_size",):
                genome.append(values.index(max(values)))
            elif d.name.startswith(("normal_", "reduce_")) and d.name != "normal_cells":
                genome.append(0)
            else:
                numeric = all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in values
                )
                genome.append(values.index(min(values)) if numeric else 0)
        arch = self.space.to_arch(tuple(genome))
        if isinstance(self.spec.space, CellSpace):
            ops = [op for op in _CHEAP_OPS if op in self.spec.space.operations]
            for cell in ("normal", "reduce"):
                if arch[cell]:
                    first_edge_of_node = {0, 2, 5, 9}  # edges (j, 0) for j = 0..3
                    arch[cell] = [
                        ops[0] if e in first_edge_of_node else "zero"
                        for e in range(len(arch[cell]))
                    ]
        return arch

    def check_budget(self) -> None:
        """Fail before training when no architecture fits or one epoch cannot fit."""
        cheapest = self.cheapest_arch()
        if self.spec.space.max_params and not self._fits(cheapest):
            raise NASError(
                f"the space has no valid architecture: max_params is "
                f"{self.spec.space.max_params}, but its smallest architecture has "
                f"{self._params(cheapest)} parameters"
            )
        self.space.sample(np.random.default_rng(self.spec.seed))
        budget = self.spec.time_budget_s
        if budget is None:
            return
        probe = build_model(cheapest, self.input_shape, self.n_classes)
        epoch_s = seconds_per_epoch_probe(probe, self.data["fit"], cheapest["batch_size"])
        share = min(self.spec.search_fraction, 1 - self.spec.search_fraction)
        needed = epoch_s / share + (time.monotonic() - self.start)
        if budget < needed:
            raise NASError(
                f"time budget {budget:g} s is too small for one training epoch: the smallest "
                f"architecture needs about {epoch_s:.1f} s per epoch on {len(self.data['fit'])} "
                f"rows here; give at least {max(needed * 1.2, budget + 1):.0f} s"
            )

    def _progress(self, phase: str, trials: list[TrialRecord], message: str = "") -> None:
        best = max((t.accuracy for t in trials), default=None)
        self.report(
            ProgressEvent(
                phase=phase,
                trials_done=len(trials),
                best_score=best,
                elapsed_s=time.monotonic() - self.start,
                time_budget_s=self.spec.time_budget_s,
                n_trials_budget=self.spec.max_trials,
                message=message,
            )
        )

    def search(self) -> SearchOutcome:
        spec, t0 = self.spec, time.monotonic()
        trials: list[TrialRecord] = []
        ctx = OneShotContext(
            train=self.data["fit"],
            input_shape=self.input_shape,
            n_classes=self.n_classes,
            seed=spec.seed,
            deadline=self.search_deadline,
            max_epochs=200 if self.search_deadline else 10 * spec.epochs_per_trial,
            report=lambda msg: self._progress("search", trials, msg),
        )
        strategy = make_strategy(spec, self.space, ctx)
        evaluator = Evaluator(
            self.data["fit"],
            self.data["val"],
            self.input_shape,
            self.n_classes,
            seed=spec.seed,
            deadline=self.search_deadline,
        )
        seen: dict[tuple[str, int, float], Any] = {}
        best: tuple[TrialRecord, Any] | None = None
        fallback: tuple[TrialRecord, Any] | None = None  # best of the cut-short trials
        n_proposals, stalled, notes = 0, 0, []
        while spec.max_trials is None or len(trials) < spec.max_trials:
            if self.search_deadline and time.monotonic() >= self.search_deadline and trials:
                break
            proposal = strategy.ask()
            if proposal is None:
                break
            n_proposals += 1
            arch = self.space.to_arch(proposal.genome)
            key = (json.dumps(arch, sort_keys=True), proposal.epochs, proposal.rows)
            reusable = proposal.init_state is None and not proposal.keep_state
            if reusable and key in seen:
                # Evolution and RL re-propose known architectures; their score is known.
                strategy.tell(proposal, seen[key])
                stalled += 1
                if stalled >= _STALL_LIMIT:
                    notes.append(f"search converged: {_STALL_LIMIT} proposals in a row were known")
                    break
                continue
            stalled = 0
            evaluation = evaluator.evaluate(proposal, arch, len(trials))
            if reusable:
                seen[key] = dataclasses.replace(evaluation, state=None)
            record = TrialRecord(
                trial=len(trials),
                architecture=arch,
                accuracy=evaluation.accuracy,
                params=evaluation.params,
                latency_ms=evaluation.latency_ms,
                epochs=evaluation.epochs,
                seconds=evaluation.seconds,
                complete=evaluation.complete,
                elapsed_s=time.monotonic() - self.start,
                info=proposal.info | ({"inherited": True} if proposal.init_state else {}),
            )
            trials.append(record)
            strategy.tell(proposal, evaluation)
            if record.complete and (best is None or _better(record, best[0])):
                best = (record, evaluation.state)
            elif not record.complete and (fallback is None or _better(record, fallback[0])):
                fallback = (record, evaluation.state)
            evaluation.state = None  # only the winner's weights are kept
            self._progress("search", trials, f"trial {record.trial}: {record.accuracy:.4f}")
        best = best or fallback
        if best is None:
            raise NASError("the search ended before any architecture was evaluated")
        notes += list(getattr(strategy, "notes", []))
        return SearchOutcome(best[0], best[1], trials, n_proposals, time.monotonic() - t0, notes)

    def retrain(self, outcome: SearchOutcome) -> FinalModel:
        """Train the winner on every training row (validation rows included)."""
        spec, arch = self.spec, outcome.best.architecture
        torch.manual_seed(spec.seed)
        network = build_model(arch, self.input_shape, self.n_classes).to(self.device)
        if spec.fine_tune and outcome.best_state is not None:
            inherit_weights(network, outcome.best_state)
        deadline = None
        if self.deadline is not None:
            reserve = min(4.0, 0.05 * (spec.time_budget_s or 0))
            per_epoch = outcome.best.seconds / max(outcome.best.epochs, 1)
            per_epoch *= len(self.data["train"]) / max(len(self.data["fit"]), 1)
            # Always leave room for one epoch, even if the search overran slightly.
            deadline = max(self.deadline - reserve, time.monotonic() + 1.5 * per_epoch)
        self._progress("final", outcome.trials, "retraining the winner")
        result = train(
            network,
            self.data["train"],
            epochs=spec.final_epochs,
            lr=arch["lr"],
            weight_decay=arch["weight_decay"],
            batch_size=arch["batch_size"],
            seed=spec.seed,
            deadline=deadline,
            fit_to_deadline=True,
            min_epochs=1,
            on_epoch=lambda e, _l: self._progress("final", outcome.trials, f"final epoch {e}"),
            augment=batch_augmentation(arch, self.input_shape, self.n_classes, seed=spec.seed),
        )
        cpu_net = network if self.device.type == "cpu" else copy.deepcopy(network).cpu()
        return FinalModel(
            network=network,
            epochs=result.epochs,
            seconds=result.seconds,
            params=count_params(network),
            latency_ms=latency_ms(cpu_net, self.data["val"].X[:1].cpu()),
            size_kb=size_kb(network),
        )

    def test_accuracy(self, network: torch.nn.Module) -> float:
        return accuracy(network, self.data["test"])


def _better(a: TrialRecord, b: TrialRecord) -> bool:
    """Higher fidelity first (a low-fidelity estimate never beats a full one), then
    accuracy, then fewer parameters."""
    return _rank(a) > _rank(b)


def _rank(t: TrialRecord) -> tuple[float, float, int]:
    return (float(t.info.get("fidelity", 1.0)), t.accuracy, -t.params)
