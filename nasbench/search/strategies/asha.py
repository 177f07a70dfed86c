"""Asynchronous successive halving (ASHA, Li et al. 2020) over the epoch fidelity.

The rungs are those of Hyperband's most aggressive bracket (:mod:`.hyperband`):
``num_epochs * eta**-s`` epochs up to ``num_epochs`` (1, 4 and 12 on a 12-epoch
table with ``eta=3``). Nothing waits for a rung to fill: whenever a worker is
free, the rungs are scanned from the top down, and the best model of a rung's
top ``1/eta`` (by valid accuracy, among the models that have finished there) not
yet promoted is continued to the next rung (``resume=True``: only the extra
epochs cost time); when no rung allows a promotion, a new random architecture
starts at the bottom rung (Li et al. 2020, Algorithm 2). With one worker it is a
sequential ASHA, not successive halving: a promotion happens as soon as a rung
holds ``eta`` times as many models as it has promoted. An infeasible
architecture (it breaks a cost constraint) never enters a rung.

>>> import numpy as np
>>> from nasbench.space import CellSpace
>>> from nasbench.search.base import Observation
>>> asha = ASHA(CellSpace(), np.random.default_rng(0), num_epochs=12)
>>> asha.rungs
[1, 4, 12]
>>> trials = [asha.ask() for _ in range(3)]  # three models start at 1 epoch; none has finished
>>> [(t.epoch, t.model) for t in trials]
[(1, 1), (1, 2), (1, 3)]
>>> for t, score in zip(trials, [0.5, 0.9, 0.7]):
...     asha.tell(t, Observation(score, score, 0.0, t.epoch, 1.0))
>>> promoted = asha.ask()  # three in the bottom rung: its best continues to 4 epochs
>>> (promoted.epoch, promoted.model, promoted.resume)
(4, 2, True)
"""

from __future__ import annotations

from bisect import bisect_left, insort

from nasbench.search.base import Observation, Strategy, Trial, positive_int, ranking_score
from nasbench.search.strategies.hyperband import most_rungs, rung_epochs


class ASHA(Strategy):
    name = "asha"

    def __init__(self, space, rng, num_epochs, eta: int = 3, min_epochs: int = 1):
        super().__init__(space, rng, num_epochs)
        self.eta = positive_int("eta", eta, minimum=2)
        self.min_epochs = positive_int("min_epochs", min_epochs)
        if self.min_epochs > num_epochs:
            raise ValueError(f"min_epochs ({min_epochs}) must be <= the table's epochs ({num_epochs})")
        s = most_rungs(self.num_epochs, self.min_epochs, self.eta)
        self.rungs = sorted(set(rung_epochs(self.num_epochs, self.min_epochs, self.eta, s)))
        # per rung: every finished model as (-score, arrival, model), and those not promoted yet, both sorted
        self.ranked: list[list[tuple[float, int, int]]] = [[] for _ in self.rungs]
        self.unpromoted: list[list[tuple[float, int, int]]] = [[] for _ in self.rungs]
        self.archs: dict[int, Trial] = {}  # model -> its first trial
        self.models_started = 0
        self.promotions = 0
        self._arrivals = 0

    def ask(self) -> Trial:
        for k in range(len(self.rungs) - 2, -1, -1):
            if not self.unpromoted[k]:
                continue
            best = self.unpromoted[k][0]  # the best model of rung k not promoted yet: is it in the top 1/eta?
            if bisect_left(self.ranked[k], best) < len(self.ranked[k]) // self.eta:
                self.unpromoted[k].pop(0)
                self.promotions += 1
                model = best[2]
                return Trial(self.archs[model].arch, self.rungs[k + 1], resume=True, model=model)
        self.models_started += 1
        trial = Trial(self.space.sample(self.rng), self.rungs[0], model=self.models_started)
        self.archs[self.models_started] = trial
        return trial

    def tell(self, trial: Trial, observation: Observation) -> None:
        if not observation.feasible:
            return  # never in a rung: the next ask starts another model
        k = self.rungs.index(trial.epoch)
        self._arrivals += 1
        entry = (-ranking_score(observation.valid_accuracy), self._arrivals, trial.model)
        insort(self.ranked[k], entry)
        if k < len(self.rungs) - 1:
            insort(self.unpromoted[k], entry)

    def state(self) -> dict:
        return {"models_started": self.models_started, "promotions": self.promotions,
                "models_per_rung": {str(epochs): len(ranked) for epochs, ranked in zip(self.rungs, self.ranked)}}
