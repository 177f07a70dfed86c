"""One-shot (weight-sharing) strategies: they train a supernet for real; the table tells the truth.

``nasbench-search strategy=darts|darts2|gdas|spos`` runs them through
:func:`run_one_shot`, which writes the same result format as the table-based
runner. Costs are measured and converted to the table's simulated seconds
(:mod:`nasbench.search.oneshot.common` documents the calibration).
"""

from __future__ import annotations

from typing import Any

import torch

from nasbench.search.oneshot.common import BudgetTooSmall, OneShotRun, OneShotStrategy
from nasbench.search.oneshot.darts import Darts
from nasbench.search.oneshot.gdas import Gdas
from nasbench.search.oneshot.spos import Spos
from nasbench.search.runner import Budget

ONE_SHOT: dict[str, type[OneShotStrategy]] = {cls.name: cls for cls in (Darts, Gdas, Spos)}


def make_one_shot(name: str, space, seed: int, **options: Any) -> OneShotStrategy:
    if name not in ONE_SHOT:
        raise ValueError(f"unknown one-shot strategy {name!r}; valid: {', '.join(sorted(ONE_SHOT))}")
    return ONE_SHOT[name](space, seed, **options)


def run_one_shot(strategy: OneShotStrategy, benchmark, budget: Budget, calibration_steps: int = 20) -> dict[str, Any]:
    """Calibrate, search, and return the run in the runner's result format (plus ``label``)."""
    threads = strategy.options.get("threads")
    previous = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(), torch.random.get_rng_state()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        run = OneShotRun(benchmark, budget, strategy.seed, calibration_steps=calibration_steps)
        reason = strategy.search(run)
    finally:
        torch.set_num_threads(previous[0])
        torch.use_deterministic_algorithms(previous[1])
        torch.random.set_rng_state(previous[2])
    if not run.rows and run.diverged_epoch is not None:
        raise ValueError(
            f"{strategy.label} diverged in supernet epoch {run.diverged_epoch} (non-finite training loss or architecture "
            "weights) before deriving any architecture; lower strategy.lr or strategy.grad_clip"
        )
    if not run.rows:
        raise BudgetTooSmall(
            f"budget.seconds={budget.seconds:g} ran out before {strategy.name} derived any architecture "
            f"({run.elapsed:.0f} simulated s spent); raise budget.seconds or lower strategy.epochs"
        )
    return {"label": strategy.label, **run.result(reason, strategy.state())}


def example_run(name: str, seed: int = 0, **options: Any) -> dict[str, Any]:
    """Run one-shot strategy ``name`` on :func:`~nasbench.train.build.example_table` (for docs and tests)."""
    from nasbench.table import Benchmark
    from nasbench.train.build import example_table

    benchmark = Benchmark.load(example_table())
    strategy = make_one_shot(name, benchmark.space, seed, **options)
    return run_one_shot(strategy, benchmark, Budget(seconds=1e9), calibration_steps=3)


__all__ = ["ONE_SHOT", "OneShotStrategy", "OneShotRun", "BudgetTooSmall", "Darts", "Gdas", "Spos", "make_one_shot", "run_one_shot", "example_run"]
