"""Run a strategy against a benchmark under a simulated time budget.

The runner owns everything a strategy must not touch: the benchmark, the
budget, the seed each evaluation observes and the bookkeeping.

* **Cost.** Evaluating an architecture at epoch ``e`` costs its table
  ``train_time`` at ``e`` (the measured seconds to train it that far), as
  NAS-Bench-201's ``simulate_train_eval`` charges; a ``resume`` trial pays only
  the epochs beyond its model's last evaluation in this run (``Trial.model``).
  A run that diverged before ``e`` is charged up to its last finite epoch. A
  budget that cannot pay for the first evaluation is an error
  (:class:`BudgetTooSmall`).
* **Noise.** Each evaluation observes one training seed, drawn from the table's
  trained seeds by the run's generator (a resumed trial keeps its seed), so a
  search sees the seed-to-seed noise a real search would.
* **What the search sees.** Train/valid metrics only; test accuracy is recorded
  for the report.
* **Incumbent.** The best valid accuracy among evaluations at the highest epoch
  evaluated so far; its ground truth is the table's mean final test accuracy
  over seeds, and ``regret`` is the table's optimum of that minus the incumbent's.
* **Duplicates.** With ``skip_duplicates`` an architecture whose isomorphism
  class was already evaluated at that epoch is answered from memory: it costs
  nothing and is not counted as an evaluation. With objectives it still enters
  the front with its own costs (a class's members can differ in params), as it
  would if trained again.
* **Constraints.** ``constraints={"params": 20000, "latency": 5e-4}`` bounds
  costs known without training (analytic params / flops, the table's batch-1
  latency, mean over seeds). An infeasible proposal is skipped before it costs
  anything: the strategy is told ``Observation(feasible=False, ...)`` and it is
  not counted. The regret reference becomes the best feasible architecture (mean
  final test accuracy over seeds); a bound nothing meets is a one-line error
  giving the smallest achievable value.
* **Workers.** ``workers=N`` simulates N parallel workers on one wall clock
  (:class:`~nasbench.search.workers.WorkerPool`, an event queue ordered by
  finish time). Whenever a worker is free the strategy is asked for the next
  trial, knowing only the evaluations that have finished; the clock then jumps
  to the next finish, which is told to the strategy and becomes a trajectory
  row (``time`` is its finish, with its ``worker`` and ``start``). The budget is
  wall-clock: a worker whose next evaluation would finish after it starts
  nothing more, and the search ends when no worker is busy. ``worker_seconds``
  records the training time of the finished evaluations. A synchronous strategy
  (:attr:`~nasbench.search.base.Strategy.asynchronous` false) may answer
  ``None``: its free workers wait for the next finish. With ``skip_duplicates`` a
  class still in training at that epoch is answered when that evaluation
  finishes. ``workers=1`` is the plain ask/evaluate/tell loop, and its result is
  exactly what it was before workers existed (no worker fields).
* **Objectives.** With ``objectives=("valid_accuracy", "params")`` every
  observation carries the objectives' values and each trajectory row records
  the run's front (:class:`~nasbench.search.multiobjective.FrontTracker`): its
  size, its hypervolume as observed and by ground truth (test accuracy), and the
  hypervolume regret against the true front of the table's feasible
  architectures (normalisation and reference point in
  :mod:`nasbench.search.multiobjective`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from nasbench.search.base import Strategy, positive_int
from nasbench.search.ledger import Ledger
from nasbench.search.workers import WorkerPool
from nasbench.table import MissingEntryError


@dataclass(frozen=True)
class Budget:
    """Simulated seconds (> 0) and an optional cap on counted evaluations.

    ``seconds=inf`` (no time limit) needs ``max_evals`` in :func:`run_search`;
    one-shot runs end with their epochs.
    """

    seconds: float
    max_evals: int | None = None

    def __post_init__(self):
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, (int, float)) or not self.seconds > 0:
            raise ValueError(f"budget.seconds must be a positive number of simulated seconds, got {self.seconds!r}")
        if self.max_evals is not None and (
            isinstance(self.max_evals, bool) or not isinstance(self.max_evals, (int, np.integer)) or self.max_evals < 1
        ):
            raise ValueError(f"budget.max_evals must be a positive integer or null, got {self.max_evals!r}")


def resolve_budget(budget: Mapping[str, Any], benchmark: Any, unbounded: bool = False) -> tuple[Budget, dict[str, Any]]:
    """The :class:`Budget` a config's ``budget`` gives on ``benchmark``, and the record of it a result keeps.

    ``budget.seconds`` (simulated seconds) wins when set; otherwise the budget is
    ``budget.evaluations`` full evaluations' worth: that many times the benchmark's mean
    full-evaluation time (:attr:`~nasbench.table.Benchmark.evaluation_seconds`), so that
    the default buys about the same number of evaluations on every table.
    ``budget.max_evals`` caps the counted evaluations either way. With ``unbounded`` (the
    Python API), ``budget.max_evals`` alone is a budget: no time limit (recorded as ``seconds`` null).
    """
    from nasbench.search.base import positive_float

    seconds, evaluations = budget.get("seconds"), budget.get("evaluations")
    per = float(benchmark.evaluation_seconds)
    if unbounded and seconds is None and evaluations is None and budget.get("max_evals") is not None:
        resolved = Budget(float("inf"), budget.get("max_evals"))
        return resolved, {"seconds": None, "max_evals": resolved.max_evals, "evaluations": None, "evaluation_seconds": per,
                          "evaluation_seconds_from": benchmark.evaluation_seconds_from}
    if seconds is None:
        if evaluations is None:
            raise ValueError("give budget.seconds (simulated seconds) or budget.evaluations "
                             "(full evaluations' worth on the benchmark searched)")
        evaluations = positive_float("budget.evaluations", evaluations)
        seconds = evaluations * per
    else:
        seconds, evaluations = positive_float("budget.seconds", seconds), None
    resolved = Budget(seconds, budget.get("max_evals"))
    record = {
        "seconds": resolved.seconds,
        "max_evals": resolved.max_evals,
        "evaluations": evaluations,  # None: the budget was given in seconds
        "evaluation_seconds": per,
        "evaluation_seconds_from": benchmark.evaluation_seconds_from,
    }
    return resolved, record


class BudgetTooSmall(ValueError):
    """The budget cannot pay for the first evaluation (one-shot: the first supernet epoch)."""


def time_until_divergence(benchmark, index: int, seed: int, epoch: int) -> float:
    """Simulated seconds a run that diverged before ``epoch`` trained: up to its last finite epoch.

    A run that diverged in its first epoch is charged the architecture's first
    epoch as the other seeds timed it (zero if none did).
    """
    times = np.asarray(benchmark.curve(index, "train_time", seed=seed), dtype=np.float64)[:epoch]
    finite = times[np.isfinite(times)]
    if len(finite):
        return float(finite[-1])
    first = float(benchmark.query(index, epoch=1).train_time)
    return first if np.isfinite(first) else 0.0


def make_generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent generators for the strategy and for the runner's seed draws."""
    strategy_rng, runner_rng = np.random.default_rng(positive_int("seed", seed, minimum=0)).spawn(2)
    return strategy_rng, runner_rng


def check_searchable(benchmark: Any) -> None:
    """Refuse a partial table at once: a search may propose any architecture, trained or not."""
    untrained = int((~np.asarray(benchmark.done).any(axis=1)).sum())
    if untrained:
        raise MissingEntryError(
            f"the table is partial: {untrained} of {len(benchmark.done)} classes have no trained seed "
            f"({benchmark.entries_done} of {benchmark.done.size} (class, seed) entries done) and a search may propose "
            "any of them; use e.g. benchmark=blocks, or finish this table with nasbench-build"
        )


def run_search(
    strategy: Strategy,
    benchmark: Any,
    budget: Budget,
    rng: np.random.Generator,
    skip_duplicates: bool = False,
    constraints: Mapping[str, float | None] | None = None,
    objectives: Sequence[str] | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Ask/evaluate/tell until the budget is spent; returns the trajectory and summary (JSON-able).

    ``strategy`` is started (:meth:`~nasbench.search.base.Strategy.start`); ``rng`` draws the
    seed each evaluation observes. ``constraints`` (upper bounds on ``params``, ``flops``,
    ``latency``), ``objectives`` (2-3 of ``valid_accuracy``, ``params``, ``flops``,
    ``latency``; default: the strategy's own) and ``workers`` (simulated parallel workers)
    are described in the module docstring; the :class:`~nasbench.search.ledger.Ledger` keeps the books.
    """
    if budget.seconds == np.inf and budget.max_evals is None:
        raise ValueError(
            "budget.seconds=inf never ends a search without budget.max_evals; give a finite budget.seconds or set budget.max_evals"
        )
    workers = positive_int("workers", workers)
    check_searchable(benchmark)
    ledger = Ledger(strategy, benchmark, budget, skip_duplicates, constraints, objectives)
    pool = WorkerPool(workers)
    while True:
        while not ledger.exhausted and pool.has_free():
            trial = strategy.ask()
            if trial is None:  # a synchronous strategy waits for what is in flight
                if not pool.running and ledger.first_unaffordable is None:
                    raise RuntimeError(f"strategy {strategy.name} proposed nothing while no evaluation was in flight")
                break  # (nothing in flight: it waits for an evaluation the budget cut off, and the search ends)
            evaluation = ledger.propose(trial, rng)
            if evaluation is None:  # answered without training: infeasible, or a duplicate
                continue
            if not ledger.affords(evaluation, pool.now):  # it would finish after the budget: this worker is done
                pool.retire()
                continue
            ledger.started(evaluation)
            pool.start(evaluation.cost, evaluation)
        if not pool.running:
            break
        job = pool.finish_next()
        ledger.finished(job.payload, pool.now, *((job.worker, job.start) if workers > 1 else ()))
        if ledger.reached_max_evals():
            break
    if workers == 1:  # the plain runner's result, as it was before workers existed
        return ledger.result(pool.now)
    return ledger.result(pool.now, {"workers": workers, "worker_seconds": pool.busy_seconds, "asynchronous": strategy.asynchronous})
