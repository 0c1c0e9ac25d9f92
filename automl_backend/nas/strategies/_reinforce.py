"""REINFORCE over the space's decisions (Williams 1992), as in RL-based NAS.

Zoph & Le (2017) sample decisions from an LSTM controller; with the few dozen
evaluations a CPU budget allows, a factorised policy (one softmax per decision, as in
the REINFORCE baseline of NAS-Bench-101, Ying et al. 2019) learns faster. The reward is
validation accuracy minus an exponential moving-average baseline, scaled by a moving
estimate of its spread so the step size does not depend on how close accuracies are.
"""

from __future__ import annotations

import numpy as np

from automl_backend.nas._space import Genome, SearchSpace
from automl_backend.nas._strategy import Evaluation, Proposal


class Reinforce:
    name = "rl"

    def __init__(
        self,
        space: SearchSpace,
        *,
        epochs: int,
        seed: int = 0,
        learning_rate: float = 0.3,
        baseline_decay: float = 0.8,
        entropy_weight: float = 0.01,
    ) -> None:
        self.space = space
        self.epochs = epochs
        self.rng = np.random.default_rng(seed)
        self.lr = learning_rate
        self.decay = baseline_decay
        self.entropy_weight = entropy_weight
        self.logits = [np.zeros(len(d.choices)) for d in space.decisions]
        self.baseline: float | None = None
        self.spread = 0.0
        self.notes: list[str] = []

    def policy(self, k: int) -> np.ndarray:
        z = self.logits[k] - self.logits[k].max()
        p = np.exp(z)
        return p / p.sum()

    def _sample(self) -> Genome:
        genome = [0] * len(self.space.decisions)
        for k in self.space.free():
            genome[k] = int(self.rng.choice(len(self.logits[k]), p=self.policy(k)))
        return self.space.canonical(tuple(genome))

    def ask(self) -> Proposal:
        for _ in range(200):
            g = self._sample()
            if self.space.is_valid(g):
                return Proposal(g, self.epochs)
        return Proposal(self.space.sample(self.rng), self.epochs)

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        reward = evaluation.accuracy
        if self.baseline is None:
            self.baseline = reward
        advantage = reward - self.baseline
        self.spread = self.decay * self.spread + (1 - self.decay) * abs(advantage)
        scaled = advantage / max(self.spread, 1e-3)
        for k in self.space.free(proposal.genome):
            p = self.policy(k)
            onehot = np.eye(len(p))[proposal.genome[k]]
            # d(log p_a)/d(logits) = onehot - p; the entropy term keeps exploring.
            entropy_grad = -p * (np.log(p + 1e-12) - float(np.sum(p * np.log(p + 1e-12))))
            self.logits[k] += self.lr * (scaled * (onehot - p) + self.entropy_weight * entropy_grad)
        self.baseline = self.decay * self.baseline + (1 - self.decay) * reward
