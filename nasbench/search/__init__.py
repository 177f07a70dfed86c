"""Search strategies (ask/tell) and the runner that plays them against a benchmark."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from nasbench.search.base import Observation, Strategy, Trial
from nasbench.search.runner import Budget, make_generators, run_search
from nasbench.search.strategies import STRATEGIES


def make_strategy(name: str, space, rng: np.random.Generator, num_epochs: int, **options: Any) -> Strategy:
    """Instantiate strategy ``name`` with ``options``; unknown names or options are one-line errors."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; valid: {', '.join(sorted(STRATEGIES))}")
    cls = STRATEGIES[name]
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "space", "rng", "num_epochs")]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r} for strategy {name}; valid: {', '.join(allowed) or 'none'}")
    return cls(space, rng, num_epochs, **options)


__all__ = ["Strategy", "Trial", "Observation", "Budget", "run_search", "make_generators", "make_strategy", "STRATEGIES"]
