"""Regularized evolution on a random-weight Chebyshev scalarisation (ParEGO-style REA).

REA's aging population and tournament (:mod:`.regularized_evolution`), but each
tournament ranks its members by an augmented Chebyshev scalarisation with fresh
random weights ``w`` (uniform on the simplex), so successive tournaments pull
towards different parts of the front (Knowles 2006):
``max_i w_i f_i + rho * sum_i w_i f_i``, where ``f_i`` is objective ``i`` to
minimise, normalised to [0, 1] by the smallest and largest values observed so
far. Infeasible architectures never join the population.

>>> import numpy as np
>>> from nasbench.space import CellSpace
>>> from nasbench.search.base import Observation
>>> space = CellSpace()
>>> rea = ScalarisedREA().start(space, np.random.default_rng(0), num_epochs=12, objectives=["valid_accuracy", "params"])
>>> seen = []
>>> for _ in range(300):  # toy objectives: the share of 3x3 convolutions (max) against params (min)
...     trial = rea.ask()
...     score = trial.arch.ops.count("nor_conv_3x3") / 6
...     params = space.costs(trial.arch.decisions)["params"]
...     rea.tell(trial, Observation(score, score, 0.0, 12, 1.0, objectives=(score, params)))
...     seen.append((score, params))
>>> smallest = int(space.costs(space.all_decisions)["params"].min())
>>> max(seen)[0] > 0.8, min(p for _, p in seen) == smallest   # both ends of the trade-off
(True, True)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from nasbench.search.base import MultiObjectiveStrategy, Observation, Trial, unit_float
from nasbench.search.strategies.regularized_evolution import RegularizedEvolution
from nasbench.space.base import Arch


class ScalarisedREA(MultiObjectiveStrategy):
    name = "rea_scalarised"

    @dataclass(frozen=True)
    class Options(RegularizedEvolution.Options):  # REA's population, tournament and crossover, and:
        rho: float = 0.05  # weight of the augmentation term of the Chebyshev scalarisation

        def __post_init__(self):
            super().__post_init__()
            unit_float("rho", self.rho)

    def reset(self) -> None:
        self.population_size = int(self.options.population_size)
        self.sample_size = int(self.options.sample_size)
        self.crossover_prob = float(self.options.crossover_prob)
        self.rho = float(self.options.rho)
        self.population: deque[tuple[Arch, np.ndarray]] = deque()
        self.low = np.full(len(self.objectives), np.inf)
        self.high = np.full(len(self.objectives), -np.inf)

    def scalarise(self, vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Augmented Chebyshev value of each row (lower is better)."""
        span = np.where(self.high > self.low, self.high - self.low, 1.0)
        f = (vectors - self.low) / span
        return (weights * f).max(axis=1) + self.rho * (weights * f).sum(axis=1)

    def ask(self) -> Trial:
        if len(self.population) < self.population_size:
            return Trial(self.space.sample(self.rng))
        picks = self.rng.choice(len(self.population), size=self.sample_size, replace=False)
        weights = self.rng.dirichlet(np.ones(len(self.objectives)))
        members = [self.population[i] for i in picks]
        scores = self.scalarise(np.array([v for _, v in members]), weights)
        order = np.argsort(scores, kind="stable")
        parent = members[order[0]][0]
        if len(members) > 1 and self.rng.random() < self.crossover_prob:
            parent = self.space.crossover(parent, members[order[1]][0], self.rng)
        return Trial(self.space.mutate(parent, self.rng))

    def tell(self, trial: Trial, observation: Observation) -> None:
        vector = self.vector(observation)
        if vector is None:
            return  # breaks a constraint: never a member, never a parent
        self.low = np.minimum(self.low, vector)
        self.high = np.maximum(self.high, vector)
        self.population.append((trial.arch, vector))
        if len(self.population) > self.population_size:
            self.population.popleft()  # aging: the oldest dies, not the worst

    def state(self) -> dict:
        def clean(values: np.ndarray) -> list:
            return [float(v) if np.isfinite(v) else None for v in values]

        return {"observed_low": clean(self.low), "observed_high": clean(self.high)}
