"""Search strategies (ask/tell) and the runner that plays them against a benchmark."""

from __future__ import annotations

import inspect
from typing import Any, Sequence

import numpy as np

from nasbench.search.base import MultiObjectiveStrategy, Observation, Strategy, Trial
from nasbench.search.multiobjective import check_constraints, check_objectives
from nasbench.search.runner import Budget, BudgetTooSmall, make_generators, resolve_budget, run_search
from nasbench.search.strategies import STRATEGIES

#: strategies that train a supernet (:mod:`nasbench.search.oneshot`, imported only when used: it needs torch)
ONE_SHOT_NAMES = ("darts", "gdas", "spos")


def make_strategy(
    name: str, space, rng: np.random.Generator, num_epochs: int, objectives: Sequence[str] | None = None, **options: Any
) -> Strategy:
    """Instantiate strategy ``name`` with ``options``; unknown names or options are one-line errors.

    ``objectives`` (2-3 names, see :mod:`nasbench.search.multiobjective`) go to
    multi-objective strategies, which need them; a single-objective strategy
    still optimises valid accuracy (the runner records its front all the same).
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; valid: {', '.join(sorted([*STRATEGIES, *ONE_SHOT_NAMES]))}")
    cls = STRATEGIES[name]
    reserved = ("self", "space", "rng", "num_epochs", "objectives")
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p not in reserved]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r} for strategy {name}; valid: {', '.join(allowed) or 'none'}")
    objectives = check_objectives(objectives)
    if cls.objective_mode == "single":
        return cls(space, rng, num_epochs, **options)
    if cls.objective_mode == "multi" and objectives is None:
        raise ValueError(f"strategy {name} is multi-objective: set objectives, e.g. objectives=[valid_accuracy,params]")
    return cls(space, rng, num_epochs, objectives=objectives, **options)


__all__ = ["Strategy", "MultiObjectiveStrategy", "Trial", "Observation", "Budget", "BudgetTooSmall", "resolve_budget", "check_constraints", "check_objectives", "run_search", "make_generators", "make_strategy", "STRATEGIES", "ONE_SHOT_NAMES"]
