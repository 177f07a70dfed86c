"""Search strategies (ask/tell or one-shot), their registry, and the runner that plays them against a benchmark.

:func:`run` is one search from Python (:mod:`nasbench.search.api`); :mod:`~nasbench.search.registry`
finds every strategy by name; :mod:`~nasbench.search.experiment` runs searches and comparisons
as configs describe them (what ``nasbench-search`` and ``nasbench-compare`` do).
"""

from __future__ import annotations

from nasbench.search import registry
from nasbench.search.api import SearchResult, run
from nasbench.search.base import BaseStrategy, MultiObjectiveStrategy, Observation, Strategy, Trial
from nasbench.search.multiobjective import check_constraints, check_objectives
from nasbench.search.registry import make_strategy
from nasbench.search.runner import Budget, BudgetTooSmall, make_generators, resolve_budget, run_search

__all__ = ["BaseStrategy", "Strategy", "MultiObjectiveStrategy", "Trial", "Observation", "Budget", "BudgetTooSmall",
           "resolve_budget", "check_constraints", "check_objectives", "run_search", "make_generators", "make_strategy",
           "registry", "run", "SearchResult"]
