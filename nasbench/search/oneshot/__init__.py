"""One-shot (weight-sharing) strategies: they train a supernet for real; the table tells the truth.

They are strategies like the table-based ones (:class:`~nasbench.search.base.BaseStrategy`,
found in :mod:`nasbench.search.registry`): ``nasbench-search strategy=darts|darts2|gdas|spos``
runs them, and :meth:`OneShotStrategy.run` writes the same result format as the
table-based runner. Costs are measured and converted to the table's simulated
seconds (:mod:`nasbench.search.oneshot.common` documents the calibration).
"""

from __future__ import annotations

from typing import Any

from nasbench.search.oneshot.common import BudgetTooSmall, OneShotRun, OneShotStrategy, run_one_shot
from nasbench.search.runner import Budget


def make_one_shot(name: str, space, seed: int, **options: Any) -> OneShotStrategy:
    """One-shot strategy ``name`` (from the registry) with ``options``, started on ``space`` with ``seed``."""
    from nasbench.search import registry

    strategy = registry.create(name, **options)
    if not isinstance(strategy, OneShotStrategy):
        raise ValueError(f"strategy {name} is not a one-shot strategy")
    return strategy.start(space, seed)


def example_run(name: str, seed: int = 0, **options: Any) -> dict[str, Any]:
    """Run one-shot strategy ``name`` on :func:`~nasbench.train.build.example_table` (for docs and tests)."""
    from nasbench.table import Benchmark
    from nasbench.train.build import example_table

    benchmark = Benchmark.load(example_table())
    strategy = make_one_shot(name, benchmark.space, seed, **options)
    return run_one_shot(strategy, benchmark, Budget(seconds=1e9), calibration_steps=3)


__all__ = ["OneShotStrategy", "OneShotRun", "BudgetTooSmall", "make_one_shot", "run_one_shot", "example_run"]
