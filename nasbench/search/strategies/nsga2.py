"""NSGA-II (Deb et al. 2002): non-dominated sorting and crowding distance, generation by generation.

The first ``population_size`` feasible evaluations are random architectures.
Then each generation breeds ``population_size`` children, one per ask: two
binary tournaments (lower non-domination rank wins, then larger crowding
distance) pick the parents, uniform crossover (``space.crossover``) with
probability ``crossover_prob`` and a one-decision mutation (``space.mutate``)
with probability ``mutation_prob`` make the child. When the generation is
evaluated, parents and children are merged and the best ``population_size``
survive: whole fronts in order of rank, the last one cut by crowding distance.
Infeasible children (they break a cost constraint) are not counted: another
child is bred in their place.

Generational, so synchronous: with several workers, once a generation's children
(or the first random population) are all in flight, the free workers wait until
they are evaluated (:attr:`asynchronous` is false).

>>> import numpy as np
>>> from nasbench.space import CellSpace
>>> from nasbench.search.base import Observation
>>> space = CellSpace()
>>> nsga = NSGA2(space, np.random.default_rng(0), num_epochs=12, objectives=["valid_accuracy", "params"])
>>> for _ in range(400):  # toy objectives: the share of 3x3 convolutions (max) against params (min)
...     trial = nsga.ask()
...     score = trial.arch.ops.count("nor_conv_3x3") / 6
...     params = space.costs(trial.arch.decisions)["params"]
...     nsga.tell(trial, Observation(score, score, 0.0, 12, 1.0, objectives=(score, params)))
>>> nsga.generation > 10, max(s for s, _ in nsga.front())   # the front reaches the all-3x3 cell
(True, 1.0)
"""

from __future__ import annotations

import numpy as np

from nasbench.search.base import MultiObjectiveStrategy, Observation, Trial, positive_int, unit_float
from nasbench.search.multiobjective import OBJECTIVES, crowding_distance, nondominated_sort
from nasbench.space.base import Arch


class NSGA2(MultiObjectiveStrategy):
    name = "nsga2"
    asynchronous = False
    waits_for = "a free worker waits until every child of its generation is evaluated"

    def __init__(
        self,
        space,
        rng,
        num_epochs,
        objectives=("valid_accuracy", "params"),
        population_size: int = 20,
        crossover_prob: float = 0.9,
        mutation_prob: float = 1.0,
    ):
        super().__init__(space, rng, num_epochs, objectives)
        self.population_size = positive_int("population_size", population_size, minimum=2)
        self.crossover_prob = unit_float("crossover_prob", crossover_prob)
        self.mutation_prob = unit_float("mutation_prob", mutation_prob)
        self.parents: list[tuple[Arch, np.ndarray]] = []
        self.rank = np.zeros(0, dtype=np.int64)
        self.crowding = np.zeros(0)
        self.children: list[tuple[Arch, np.ndarray]] = []
        self.generation = 0
        self.in_flight = 0  # trials asked and not yet told

    # ------------------------------------------------------------------ selection
    def _tournament(self) -> Arch:
        i, j = self.rng.choice(len(self.parents), size=2, replace=False)
        if (self.rank[j], -self.crowding[j]) < (self.rank[i], -self.crowding[i]):
            i = j
        return self.parents[i][0]

    def ask(self) -> Trial | None:
        members = self.parents if self.generation == 0 else self.children
        if self.in_flight and len(members) + self.in_flight >= self.population_size:
            return None  # the generation is complete once these are evaluated
        self.in_flight += 1
        if self.generation == 0:
            return Trial(self.space.sample(self.rng))
        child = self._tournament()
        if self.rng.random() < self.crossover_prob:
            child = self.space.crossover(child, self._tournament(), self.rng)
        if self.rng.random() < self.mutation_prob:
            child = self.space.mutate(child, self.rng)
        return Trial(child)

    def tell(self, trial: Trial, observation: Observation) -> None:
        self.in_flight -= 1
        vector = self.vector(observation)
        if vector is None:
            return  # infeasible: not a member; the next ask breeds another child
        if self.generation == 0:
            self.parents.append((trial.arch, vector))
            if len(self.parents) == self.population_size:
                self._survive(self.parents)
        else:
            self.children.append((trial.arch, vector))
            if len(self.children) == self.population_size:
                self._survive(self.parents + self.children)

    # ------------------------------------------------------------------ survival
    def _survive(self, pool: list[tuple[Arch, np.ndarray]]) -> None:
        points = np.array([v for _, v in pool])
        chosen: list[int] = []
        ranks: list[int] = []
        crowd: list[float] = []
        for rank, front in enumerate(nondominated_sort(points)):
            distance = crowding_distance(points[front])
            room = self.population_size - len(chosen)
            if len(front) > room:
                keep = np.argsort(-distance, kind="stable")[:room]
                front, distance = front[keep], distance[keep]
            chosen += front.tolist()
            ranks += [rank] * len(front)
            crowd += distance.tolist()
            if len(chosen) == self.population_size:
                break
        self.parents = [pool[i] for i in chosen]
        self.rank = np.array(ranks)
        self.crowding = np.array(crowd)
        self.children = []
        self.generation += 1

    def front(self) -> list[tuple[float, ...]]:
        """The current parents' first front, as raw objective values (accuracies positive)."""
        signs = np.array([-1.0 if OBJECTIVES[o] == "maximise" else 1.0 for o in self.objectives])
        members = [v for (_, v), r in zip(self.parents, self.rank) if r == 0]
        return sorted({tuple(float(x) for x in signs * v) for v in members})

    def state(self) -> dict:
        return {"generation": self.generation, "front": [list(p) for p in self.front()]}
