"""Random search: uniform samples of the space, at the full fidelity.

>>> import numpy as np
>>> from nasbench.space import CellSpace
>>> from nasbench.search.base import Observation
>>> search = RandomSearch().start(CellSpace(), np.random.default_rng(0), num_epochs=12)
>>> trial = search.ask()
>>> trial.arch.arch_str
'|avg_pool_3x3~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'
>>> search.tell(trial, Observation(valid_accuracy=0.9, train_accuracy=0.95, valid_loss=0.3, epoch=12, train_time=6.0))
"""

from __future__ import annotations

from nasbench.search.base import Observation, Strategy, Trial


class RandomSearch(Strategy):
    name = "random"

    def ask(self) -> Trial:
        return Trial(self.space.sample(self.rng))

    def tell(self, trial: Trial, observation: Observation) -> None:
        pass  # random search learns nothing
