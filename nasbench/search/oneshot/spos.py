"""Single-path one-shot (SPOS, Guo et al. 2020; NAS-Bench-201's random sampling with parameter sharing).

Phase 1 trains the supernet with one uniformly sampled option per decision per
step (no architecture parameters). Phase 2 searches with the inherited weights:
a table strategy (``search=random`` or ``search=rea``, NAS-Bench-201's REA
defaults) proposes candidates, each scored by its supernet valid accuracy on
``eval_samples`` valid samples after its BN statistics are re-estimated on
``bn_batches`` training batches of 256. The incumbent is the best score so far;
every candidate is looked up in the table for its ground truth.

Defaults: 50 epochs with DARTS' weight optimiser, then 100 candidates (as
NAS-Bench-201 scored 100 random candidates for its RSPS baseline).

>>> from nasbench.search.oneshot import example_run
>>> result = example_run("spos", epochs=1, candidates=5)
>>> result["num_evals"], result["trajectory"][0]["time"] > 0
(5, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from nasbench.search.base import Observation
from nasbench.search.oneshot.common import OneShotRun, SupernetOptions, SupernetTraining, positive_int_option


class Spos(SupernetTraining):
    name = "spos"
    needs_torch = True

    @dataclass(frozen=True)
    class Options(SupernetOptions):
        candidates: int = 100  # architectures scored with inherited weights after training
        search: str = "random"  # or "rea": the table strategy that proposes the candidates
        bn_batches: int = 4  # batches of 256 that re-estimate BN statistics of a path before it is scored

        def __post_init__(self):
            super().__post_init__()
            positive_int_option(self, "bn_batches", "candidates")
            if self.search not in ("random", "rea"):
                raise ValueError(f"strategy option search must be random or rea, got {self.search!r}")

    #: called as ``callback(strategy, run, epoch)`` after every training epoch (the ranking analysis uses it)
    epoch_callback: Callable[["Spos", OneShotRun, int], None] | None = None

    def sample_path(self) -> list[int]:
        return [int(torch.randint(k, (), generator=self.generator)) for k in self.space.num_choices]

    def step(self, run: OneShotRun, x: torch.Tensor, y: torch.Tensor, epoch: int) -> torch.Tensor:
        return self.watched(self.weight_update(nn.functional.cross_entropy(self.net(x, path=self.sample_path()), y)))

    def end_of_epoch(self, run: OneShotRun, epoch: int) -> None:
        if self.epoch_callback is not None:
            self.epoch_callback(self, run, epoch)

    def score(self, run: OneShotRun, decisions) -> float:
        return self.path_score(run, decisions, self.options.bn_batches, self.options.eval_samples)

    def search(self, run: OneShotRun) -> str:
        reason = super().search(run)
        if reason != "epochs":
            return reason
        from nasbench.search.registry import make_strategy

        proposer = make_strategy(self.options.search, self.space, np.random.default_rng(self.seed), run.benchmark.num_epochs)
        last_cost = 0.0
        for _ in range(self.options.candidates):
            if not run.evaluations_left:
                return "max_evals"
            if not run.affords(last_cost):
                return "budget"
            trial = proposer.ask()
            before = run.elapsed
            with run.charged():
                score = self.score(run, trial.arch.decisions)
            last_cost = run.elapsed - before
            proposer.tell(trial, Observation(score, float("nan"), float("nan"), run.benchmark.num_epochs, last_cost))
            run.record(trial.arch, score, incumbent=False, decisions=list(trial.arch.decisions))
            if run.out_of_budget:
                return "budget"
        return "candidates"
