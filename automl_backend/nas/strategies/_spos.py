"""Single-path one-shot NAS (Guo et al. 2020, SPOS).

A supernet is trained once, each batch along one uniformly sampled path. Sub-networks
then inherit its weights, get their batch-norm statistics re-estimated, and are scored
on the validation rows without training; regularized evolution searches over these cheap
scores. The runner's final training may start from the winner's inherited weights.
"""

from __future__ import annotations

import numpy as np

from automl_backend.nas._augment import batch_augmentation
from automl_backend.nas._models import build_supernet
from automl_backend.nas._space import SearchSpace
from automl_backend.nas._strategy import Evaluation, Proposal
from automl_backend.nas._train import train
from automl_backend.nas.strategies._context import OneShotContext
from automl_backend.nas.strategies._evolution import RegularizedEvolution

# The supernet shares one set of channels and training hyperparameters: these decisions
# are pinned to the space's middle choice, and the search is over the structure.
# The augmentation policy (cnn) and mixup (mlp), where the space has them, are training
# settings too: pinned the same way, and the supernet trains with them.
_PINNED = {
    "cnn": ("channels", "normal_cells", "lr", "weight_decay", "batch_size",
            "augment_n", "augment_m"),
    "mlp": ("dropout", "lr", "weight_decay", "batch_size", "mixup"),
}  # fmt: skip


def pinned_space(space: SearchSpace) -> SearchSpace:
    fixed = {
        name: len(space.decisions[space.index[name]].choices) // 2
        for name in _PINNED[space.kind]
        if name in space.index
    }
    return space.with_fixed(fixed)


class SPOS:
    name = "spos"

    def __init__(
        self,
        space: SearchSpace,
        context: OneShotContext,
        *,
        population_size: int = 10,
        max_evaluations: int = 60,
        supernet_share: float = 0.75,
    ) -> None:
        self.space = pinned_space(space)
        self.ctx = context
        self.rng = np.random.default_rng(context.seed)
        self.population_size = population_size
        self.max_evaluations = max_evaluations
        self.supernet_share = supernet_share
        self.supernet = None
        self.supernet_epochs = 0
        self._evolution: RegularizedEvolution | None = None
        self._asked = 0
        self.notes: list[str] = []

    def train_supernet(self) -> None:
        template = self.space.to_arch(self.space.sample(self.rng))
        net = build_supernet(self.space.config, template, self.ctx.input_shape, self.ctx.n_classes)
        self.ctx.report("training the SPOS supernet")

        def one_path(model, xb):  # a fresh uniform path for every batch
            return model(xb, self.space.to_arch(self.space.sample(self.rng)))

        result = train(
            net,
            self.ctx.train,
            epochs=self.ctx.max_epochs,
            lr=template["lr"],
            weight_decay=template["weight_decay"],
            batch_size=template["batch_size"],
            seed=self.ctx.seed,
            deadline=self.ctx.share_of_remaining(self.supernet_share),
            fit_to_deadline=True,
            forward=one_path,
            augment=batch_augmentation(
                template, self.ctx.input_shape, self.ctx.n_classes, seed=self.ctx.seed
            ),
        )
        self.supernet = net
        self.supernet_epochs = result.epochs
        self.notes.append(f"supernet trained {result.epochs} epochs in {result.seconds:.1f} s")
        state = net.state_dict()
        self._evolution = RegularizedEvolution(
            self.space,
            epochs=0,
            population_size=self.population_size,
            seed=self.ctx.seed,
            make_proposal=lambda g: Proposal(g, 0, init_state=state),
        )

    def ask(self) -> Proposal | None:
        if self._evolution is None:
            self.train_supernet()
        if self._asked >= self.max_evaluations:
            return None
        self._asked += 1
        assert self._evolution is not None
        return self._evolution.ask()

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        assert self._evolution is not None
        self._evolution.tell(proposal, evaluation)
