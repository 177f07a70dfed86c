"""Regularized (aging) evolution, Real et al. 2019, as NAS-Bench-201 ran it (REA).

A population of ``population_size`` random architectures; then, repeatedly,
``sample_size`` members are drawn at random, the best (by valid accuracy) is the
parent, its child (one decision mutated; with probability ``crossover_prob`` first
uniformly crossed with the runner-up of the tournament) is evaluated and joins the
population, and the oldest member dies. Defaults are NAS-Bench-201's: population
10, tournament sample 3, no crossover. An infeasible architecture (one that
breaks a cost constraint) never joins the population.

>>> import numpy as np
>>> from nasbench.space import CellSpace
>>> from nasbench.search.base import Observation
>>> space = CellSpace()
>>> rea = RegularizedEvolution().start(space, np.random.default_rng(0), num_epochs=12)
>>> best = 0.0
>>> for _ in range(300):  # a toy objective: the share of 3x3 convolutions
...     trial = rea.ask()
...     score = trial.arch.ops.count("nor_conv_3x3") / 6
...     rea.tell(trial, Observation(score, score, 0.0, 12, 1.0))
...     best = max(best, score)
>>> best
1.0
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from nasbench.search.base import Observation, Strategy, Trial, positive_int, ranking_score, unit_float
from nasbench.space.base import Arch


class RegularizedEvolution(Strategy):
    name = "rea"

    @dataclass(frozen=True)
    class Options:
        population_size: int = 10
        sample_size: int = 3  # tournament size
        crossover_prob: float = 0.0

        def __post_init__(self):
            positive_int("population_size", self.population_size)
            positive_int("sample_size", self.sample_size)
            if self.sample_size > self.population_size:
                raise ValueError(f"sample_size ({self.sample_size}) must be <= population_size ({self.population_size})")
            unit_float("crossover_prob", self.crossover_prob)

    def reset(self) -> None:
        self.population: deque[tuple[Arch, float]] = deque()

    def ask(self) -> Trial:
        o = self.options
        if len(self.population) < o.population_size:
            return Trial(self.space.sample(self.rng))
        picks = self.rng.choice(len(self.population), size=o.sample_size, replace=False)
        tournament = sorted((self.population[i] for i in picks), key=lambda member: -member[1])
        parent = tournament[0][0]
        if len(tournament) > 1 and self.rng.random() < o.crossover_prob:
            parent = self.space.crossover(parent, tournament[1][0], self.rng)
        return Trial(self.space.mutate(parent, self.rng))

    def tell(self, trial: Trial, observation: Observation) -> None:
        if not observation.feasible:
            return  # breaks a constraint: never a member, never a parent
        self.population.append((trial.arch, ranking_score(observation.valid_accuracy)))
        if len(self.population) > self.options.population_size:
            self.population.popleft()  # aging: the oldest dies, not the worst
