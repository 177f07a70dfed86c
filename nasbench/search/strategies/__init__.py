"""One file per strategy; :data:`STRATEGIES` maps config names to classes."""

from nasbench.search.strategies.asha import ASHA
from nasbench.search.strategies.hyperband import Hyperband
from nasbench.search.strategies.local_search import LocalSearch
from nasbench.search.strategies.mo_random import MultiObjectiveRandomSearch
from nasbench.search.strategies.nsga2 import NSGA2
from nasbench.search.strategies.optuna_adapter import OptunaStrategy
from nasbench.search.strategies.random_search import RandomSearch
from nasbench.search.strategies.rea_scalarised import ScalarisedREA
from nasbench.search.strategies.regularized_evolution import RegularizedEvolution
from nasbench.search.strategies.reinforce import Reinforce

STRATEGIES = {
    cls.name: cls
    for cls in (
        RandomSearch, RegularizedEvolution, Reinforce, LocalSearch, Hyperband, ASHA,
        MultiObjectiveRandomSearch, NSGA2, ScalarisedREA, OptunaStrategy,
    )
}

__all__ = [
    "STRATEGIES", "RandomSearch", "RegularizedEvolution", "Reinforce", "LocalSearch", "Hyperband", "ASHA",
    "MultiObjectiveRandomSearch", "NSGA2", "ScalarisedREA", "OptunaStrategy",
]
