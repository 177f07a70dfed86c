"""One file per strategy; :data:`STRATEGIES` maps config names to classes."""

from nasbench.search.strategies.hyperband import Hyperband
from nasbench.search.strategies.local_search import LocalSearch
from nasbench.search.strategies.random_search import RandomSearch
from nasbench.search.strategies.regularized_evolution import RegularizedEvolution
from nasbench.search.strategies.reinforce import Reinforce

STRATEGIES = {
    cls.name: cls for cls in (RandomSearch, RegularizedEvolution, Reinforce, LocalSearch, Hyperband)
}

__all__ = ["STRATEGIES", "RandomSearch", "RegularizedEvolution", "Reinforce", "LocalSearch", "Hyperband"]
