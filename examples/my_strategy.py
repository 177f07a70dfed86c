"""Greedy mutation: mutate the best architecture so far; now and then try a random one."""
from dataclasses import dataclass

from nasbench.search import Strategy, Trial


class GreedyMutation(Strategy):
    name = "greedy_mutation"  # how configs, results and reports name it

    @dataclass(frozen=True)
    class Options:  # its options and their defaults
        explore: float = 0.2  # the share of random architectures

        def __post_init__(self):  # a bad value is a one-line error
            if not 0 <= self.explore <= 1:
                raise ValueError(f"explore must be in [0, 1], got {self.explore!r}")

    def reset(self):  # a new search: self.space, self.rng and self.options are set
        self.best, self.best_score = None, float("-inf")

    def ask(self):
        if self.best is None or self.rng.random() < self.options.explore:
            return Trial(self.space.sample(self.rng))
        return Trial(self.space.mutate(self.best, self.rng))

    def tell(self, trial, observation):  # train/valid metrics and the cost, never test accuracy
        if observation.feasible and observation.valid_accuracy > self.best_score:
            self.best, self.best_score = trial.arch, observation.valid_accuracy
