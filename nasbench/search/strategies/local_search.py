"""Local search: first-improvement hill climbing over one-decision neighbours, with random restarts.

From the current architecture, its neighbours (every architecture one decision
away) are evaluated in a random order; the first that beats the current one
becomes current. When no neighbour is better (a local optimum), the search
restarts from a random architecture. Infeasible architectures (they break a
cost constraint) are passed over.

With several workers the neighbours are evaluated side by side, as many in
flight as there are workers. A neighbour that finishes better than the current
architecture becomes current at once (the neighbours still in flight are then
judged against it). When every neighbour has been proposed but some are still
in flight, a free worker evaluates a random architecture, which becomes
current only if it is better; the restart comes once the last neighbour has
finished without improvement.

>>> import numpy as np
>>> from nasbench.space import CellSpace
>>> from nasbench.search.base import Observation
>>> search = LocalSearch(CellSpace(), np.random.default_rng(0), num_epochs=12)
>>> best = 0.0
>>> for _ in range(300):  # a toy objective: the share of 3x3 convolutions
...     trial = search.ask()
...     score = trial.arch.ops.count("nor_conv_3x3") / 6
...     search.tell(trial, Observation(score, score, 0.0, 12, 1.0))
...     best = max(best, score)
>>> best
1.0
"""

from __future__ import annotations

from nasbench.search.base import Observation, Strategy, Trial, ranking_score
from nasbench.space.base import Arch


class LocalSearch(Strategy):
    name = "local_search"

    def __init__(self, space, rng, num_epochs):
        super().__init__(space, rng, num_epochs)
        self.current: Arch | None = None
        self.current_score = float("-inf")
        self.queue: list[Arch] = []
        self.in_flight: list[Trial] = []  # the current architecture's neighbours being evaluated
        self.restarts = 0

    def ask(self) -> Trial:
        if self.current is None:
            return Trial(self.space.sample(self.rng))
        if self.queue:
            trial = Trial(self.queue.pop())
            self.in_flight.append(trial)
            return trial
        if self.in_flight:  # the last neighbours are still being evaluated: try a random architecture meanwhile
            return Trial(self.space.sample(self.rng))
        # local optimum: restart
        self.restarts += 1
        self.current, self.current_score = None, float("-inf")
        return Trial(self.space.sample(self.rng))

    def tell(self, trial: Trial, observation: Observation) -> None:
        self.in_flight = [pending for pending in self.in_flight if pending is not trial]
        if not observation.feasible:
            return  # breaks a constraint: never the current architecture
        score = ranking_score(observation.valid_accuracy)
        if self.current is None or score > self.current_score:
            self.current, self.current_score = trial.arch, score
            neighbours = self.space.neighbours(trial.arch)
            self.queue = [neighbours[i] for i in self.rng.permutation(len(neighbours))]
            self.in_flight = []  # neighbours of the old current architecture no longer hold a restart back

    def state(self) -> dict:
        return {"restarts": self.restarts, "current_score": self.current_score}
