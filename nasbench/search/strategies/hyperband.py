"""Hyperband and successive halving over the epoch fidelity (Li et al. 2018).

A bracket starts ``n`` random architectures at a small number of epochs, keeps the
best ``1/eta`` by valid accuracy and continues them (``resume=True``: only the
extra epochs cost time) at ``eta`` times the epochs, up to the last epoch.
Hyperband cycles through brackets from the most aggressive (many models, few
epochs) to plain random search at full fidelity; ``brackets="sh"`` runs only the
most aggressive one (successive halving). An infeasible architecture (it breaks
a cost constraint) in a bracket's first rung is replaced by another random one.

Both are synchronous: a rung is ranked only once all its models are evaluated,
so with several workers the free ones wait for the rung to finish
(:attr:`asynchronous` is false). Their asynchronous form, which promotes as soon
as a rung allows, is ASHA (:mod:`.asha`).

>>> import numpy as np
>>> from nasbench.space import CellSpace
>>> hb = Hyperband(CellSpace(), np.random.default_rng(0), num_epochs=12)
>>> [(rung["n"], rung["epochs"]) for rung in hb.bracket_plan(2)]
[(9, 1), (3, 4), (1, 12)]
>>> hb.ask().epoch
1
"""

from __future__ import annotations

import math

from nasbench.search.base import Observation, Strategy, Trial, positive_int, ranking_score


def rung_epochs(num_epochs: int, min_epochs: int, eta: int, s: int) -> list[int]:
    """Epochs of the ``s + 1`` rungs of bracket ``s``: ``num_epochs * eta**-s`` up to ``num_epochs``."""
    return [min(max(min_epochs, int(round(num_epochs * eta ** (i - s)))), num_epochs) for i in range(s + 1)]


def most_rungs(num_epochs: int, min_epochs: int, eta: int) -> int:
    """The most aggressive bracket's ``s``: ``floor(log_eta(num_epochs / min_epochs))``."""
    return int(math.floor(math.log(num_epochs / min_epochs, eta) + 1e-9))


class Hyperband(Strategy):
    name = "hyperband"
    asynchronous = False
    waits_for = "a free worker waits until every model of its rung is evaluated (strategy=asha is the asynchronous form)"

    def __init__(self, space, rng, num_epochs, eta: int = 3, min_epochs: int = 1, brackets: str = "hyperband"):
        super().__init__(space, rng, num_epochs)
        self.eta = positive_int("eta", eta, minimum=2)
        self.min_epochs = positive_int("min_epochs", min_epochs)
        if self.min_epochs > num_epochs:
            raise ValueError(f"min_epochs ({min_epochs}) must be <= the table's epochs ({num_epochs})")
        if brackets not in ("hyperband", "sh"):
            raise ValueError(f"brackets must be 'hyperband' or 'sh', got {brackets!r}")
        self.brackets = brackets
        self.s_max = most_rungs(num_epochs, self.min_epochs, self.eta)
        self.bracket_index = 0
        self.pending: list[Trial] = []
        self.results: list[tuple[float, Trial]] = []
        self.rung = 0
        self.plan: list[dict] = []
        self.models_started = 0
        self.in_flight = 0  # trials asked and not yet told
        self._start_bracket()

    def bracket_plan(self, s: int) -> list[dict]:
        """Rungs of bracket ``s``: how many models at how many epochs."""
        n = int(math.ceil((self.s_max + 1) / (s + 1) * self.eta**s))
        epochs = rung_epochs(self.num_epochs, self.min_epochs, self.eta, s)
        return [{"n": max(1, n // self.eta**i), "epochs": epochs[i]} for i in range(s + 1)]

    def _start_bracket(self) -> None:
        if self.brackets == "sh":
            s = self.s_max
        else:
            s = self.s_max - self.bracket_index % (self.s_max + 1)
        self.bracket_index += 1
        self.plan = self.bracket_plan(s)
        self.rung = 0
        first = self.plan[0]
        self.pending = [self._new_model(first["epochs"]) for _ in range(first["n"])]
        self.pending.reverse()
        self.results = []

    def _new_model(self, epochs: int) -> Trial:
        """A random architecture's first trial; its promotions continue the same model."""
        self.models_started += 1
        return Trial(self.space.sample(self.rng), epochs, model=self.models_started)

    def ask(self) -> Trial | None:
        while not self.pending:
            if self.in_flight:
                return None  # the rung is still being evaluated
            self._advance()
        self.in_flight += 1
        return self.pending.pop()

    def tell(self, trial: Trial, observation: Observation) -> None:
        self.in_flight -= 1
        if not observation.feasible:
            if self.rung == 0:  # replaced, so that the bracket starts with n feasible models
                self.pending.append(self._new_model(trial.epoch))
            return
        self.results.append((ranking_score(observation.valid_accuracy), trial))

    def _advance(self) -> None:
        self.rung += 1
        if self.rung >= len(self.plan):
            self._start_bracket()
            return
        rung = self.plan[self.rung]
        ranked = sorted(self.results, key=lambda item: -item[0])[: rung["n"]]
        self.pending = [Trial(trial.arch, rung["epochs"], resume=True, model=trial.model) for _, trial in ranked]
        self.pending.reverse()
        self.results = []

    def state(self) -> dict:
        return {"brackets_started": self.bracket_index}
