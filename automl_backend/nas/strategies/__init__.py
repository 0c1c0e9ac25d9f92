"""Search strategies behind one ask/tell interface (see ``SearchStrategy``)."""

from automl_backend.nas.strategies._context import OneShotContext
from automl_backend.nas.strategies._darts import DARTS
from automl_backend.nas.strategies._evolution import RegularizedEvolution
from automl_backend.nas.strategies._factory import make_strategy
from automl_backend.nas.strategies._hyperband import Hyperband
from automl_backend.nas.strategies._nsga2 import NSGA2
from automl_backend.nas.strategies._random import RandomSearch
from automl_backend.nas.strategies._reinforce import Reinforce
from automl_backend.nas.strategies._spos import SPOS
from automl_backend.nas.strategies._tpe import TPESearch

__all__ = [
    "DARTS",
    "NSGA2",
    "SPOS",
    "Hyperband",
    "OneShotContext",
    "RandomSearch",
    "RegularizedEvolution",
    "Reinforce",
    "TPESearch",
    "make_strategy",
]
