"""Multi-objective random search: uniform samples of the space, the baseline of every front.

It learns nothing; the runner keeps the non-dominated set of what it evaluated.

>>> import numpy as np
>>> from nasbench.space import CellSpace
>>> from nasbench.search.base import Observation
>>> search = MultiObjectiveRandomSearch().start(CellSpace(), np.random.default_rng(0), 12, objectives=["valid_accuracy", "params"])
>>> trial = search.ask()
>>> trial.arch.arch_str
'|avg_pool_3x3~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'
>>> search.tell(trial, Observation(0.9, 0.95, 0.3, 12, 6.0, objectives=(0.9, 11170)))
"""

from __future__ import annotations

from nasbench.search.base import MultiObjectiveStrategy, Observation, Trial


class MultiObjectiveRandomSearch(MultiObjectiveStrategy):
    name = "mo_random"

    def ask(self) -> Trial:
        return Trial(self.space.sample(self.rng))

    def tell(self, trial: Trial, observation: Observation) -> None:
        pass  # random search learns nothing
