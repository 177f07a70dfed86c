"""Any Optuna sampler as a strategy, through Optuna's ask/tell interface (``pip install "nasbench[optuna]"``).

Every decision of the space is one Optuna parameter ``d0, d1, ...``: a
``CategoricalDistribution`` over the option indices for ``tpe``, ``nsga2`` and
``random``, an ``IntDistribution`` for ``cmaes`` and ``qmc`` (they need
numeric parameters; CMA-ES rounds its continuous samples). The sampler is
seeded from the strategy's generator, so a run is deterministic. Single-objective
(``objectives`` null): maximise valid accuracy; multi-objective: the study's
directions follow the objectives (``cmaes`` is single-objective only).

An infeasible trial (it breaks a cost constraint) is told with the worst
values: accuracy 0 and, for costs, the largest value told so far (before any:
the space's largest params / flops, or 1 s of latency), so that every sampler
learns to avoid the region. A diverged run counts as accuracy 0. Optuna's
logging is silenced to warnings.

With ``skip_duplicates`` a duplicate is told like any trial (its remembered
answer), so a sampler that has settled keeps asking for classes it knows. Every ask
costs Optuna time that grows with its trials (quadratically for multi-objective
TPE), so as a cost cap such a run stops after 100 duplicates in a row, not the
runner's usual 10,000 (``result.json`` records the limit). A settled sampler may
still find a new class after more than 100, so the cap can end a run a little
earlier than a longer one would; without it, one multi-objective TPE run on a
complete cell-space table took over 20 minutes.

>>> import numpy as np
>>> from nasbench.space import CellSpace
>>> from nasbench.search.base import Observation
>>> search = OptunaStrategy(CellSpace(), np.random.default_rng(0), num_epochs=12, sampler="tpe")
>>> for _ in range(40):  # a toy objective: the share of 3x3 convolutions
...     trial = search.ask()
...     score = trial.arch.ops.count("nor_conv_3x3") / 6
...     search.tell(trial, Observation(score, score, 0.0, 12, 1.0))
>>> search.study.best_value >= 4 / 6
True
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from typing import Any

import numpy as np

from nasbench.search.base import Observation, Strategy, Trial, positive_int
from nasbench.search.multiobjective import OBJECTIVES, check_objectives

SAMPLERS = ("tpe", "nsga2", "cmaes", "random", "qmc")


@contextlib.contextmanager
def _quiet():
    """Optuna's experimental and sampler-fallback warnings are noise in a benchmark run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _import_optuna():
    try:
        import optuna
    except ImportError:
        raise ValueError('strategy optuna needs the optuna package: pip install "nasbench[optuna]"') from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


class OptunaStrategy(Strategy):
    name = "optuna"
    objective_mode = "any"
    max_consecutive_duplicates = 100

    def __init__(
        self,
        space,
        rng,
        num_epochs,
        objectives=None,
        sampler: str = "tpe",
        population_size: int = 20,
        n_startup_trials: int = 10,
    ):
        super().__init__(space, rng, num_epochs)
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r} for strategy optuna; valid: {', '.join(SAMPLERS)}")
        self.objectives = check_objectives(objectives)
        names = self.objectives or ("valid_accuracy",)
        if sampler == "cmaes" and self.objectives:
            raise ValueError(
                "sampler cmaes is single-objective (Optuna's CmaEsSampler); with objectives use tpe, nsga2, random or qmc"
            )
        if sampler == "cmaes" and importlib.util.find_spec("cmaes") is None:
            raise ValueError("sampler cmaes needs the cmaes package: pip install cmaes")
        self.population_size = positive_int("population_size", population_size, minimum=2)
        self.n_startup_trials = positive_int("n_startup_trials", n_startup_trials, minimum=0)
        optuna = _import_optuna()
        self._optuna = optuna
        self.sampler_name = sampler
        self._names = names
        seed = int(rng.integers(2**31))
        dists = optuna.distributions
        if sampler in ("cmaes", "qmc"):
            self.distributions = {f"d{i}": dists.IntDistribution(0, k - 1) for i, k in enumerate(space.num_choices)}
        else:
            self.distributions = {
                f"d{i}": dists.CategoricalDistribution(list(range(k))) for i, k in enumerate(space.num_choices)
            }
        with _quiet():
            self.study = optuna.create_study(
                directions=["maximize" if OBJECTIVES[o] == "maximise" else "minimize" for o in names],
                sampler=self._make_sampler(optuna, sampler, seed),
            )
        self._asked: list[Any] = []
        self._worst: dict[str, float] = {}
        self.infeasible_told = 0

    def _make_sampler(self, optuna, sampler: str, seed: int):
        samplers = optuna.samplers
        if sampler == "tpe":
            return samplers.TPESampler(seed=seed, n_startup_trials=self.n_startup_trials)
        if sampler == "nsga2":
            return samplers.NSGAIISampler(seed=seed, population_size=self.population_size)
        if sampler == "cmaes":
            return samplers.CmaEsSampler(
                seed=seed, n_startup_trials=max(self.n_startup_trials, 1), warn_independent_sampling=False
            )
        if sampler == "qmc":
            return samplers.QMCSampler(
                seed=seed, scramble=True, independent_sampler=samplers.RandomSampler(seed=seed),
                warn_independent_sampling=False, warn_asynchronous_seeding=False,
            )
        return samplers.RandomSampler(seed=seed)

    def ask(self) -> Trial:
        with _quiet():
            trial = self.study.ask(self.distributions)
        decisions = [int(trial.params[name]) for name in self.distributions]
        ours = Trial(self.space[int(self.space.index_of(decisions))])
        self._asked.append((ours, trial))
        return ours

    def tell(self, trial: Trial, observation: Observation) -> None:
        # with several workers trials finish out of order: tell the Optuna trial this one was asked as
        position = next(i for i, (ours, _) in enumerate(self._asked) if ours is trial)
        asked = self._asked.pop(position)[1]
        if observation.feasible:
            raw = observation.objectives if self.objectives else (observation.valid_accuracy,)
            values = [self._clean(o, v) for o, v in zip(self._names, raw)]
            for o, v in zip(self._names, values):
                if OBJECTIVES[o] == "minimise":
                    self._worst[o] = max(self._worst.get(o, v), v)
        else:
            self.infeasible_told += 1
            values = [0.0 if OBJECTIVES[o] == "maximise" else self._worst_cost(o) for o in self._names]
            asked.set_user_attr("feasible", False)
        with _quiet():
            self.study.tell(asked, values if len(values) > 1 else values[0])

    @staticmethod
    def _clean(objective: str, value: float) -> float:
        value = float(value)
        if OBJECTIVES[objective] == "maximise" and not np.isfinite(value):
            return 0.0  # a diverged run
        return value

    def _worst_cost(self, objective: str) -> float:
        if objective in self._worst:
            return self._worst[objective]
        if objective in ("params", "flops"):
            return float(np.max(self.space.costs(self.space.all_decisions)[objective]))
        return 1.0

    def state(self) -> dict:
        return {"sampler": self.sampler_name, "trials": len(self.study.trials), "infeasible_told": self.infeasible_told}
