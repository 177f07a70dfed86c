"""Simulated parallel workers: an event queue ordered by simulated finish time.

A tabular benchmark knows how long every evaluation trains, so any number of
workers can be simulated exactly: a free worker starts an evaluation at the
wall-clock time ``now``, it finishes at ``now + cost``, and the clock jumps from
one finish to the next. :func:`nasbench.search.runner.run_search` asks the
strategy for work whenever a worker is free, using only what has finished so
far, as Syne Tune's simulator backend does for hyperparameter optimisation.

>>> pool = WorkerPool(2)
>>> a = pool.start(3.0, "a"); b = pool.start(1.0, "b")
>>> pool.has_free()
False
>>> job = pool.finish_next(); (job.payload, job.worker, job.start, job.finish, pool.now)
('b', 1, 0.0, 1.0, 1.0)
>>> c = pool.start(1.5, "c"); [pool.finish_next().payload for _ in range(2)], pool.now, pool.busy_seconds
(['c', 'a'], 3.0, 5.5)
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from nasbench.search.base import positive_int


@dataclass(order=True)
class Job:
    """One evaluation on one worker, from ``start`` to ``finish`` (simulated wall-clock seconds)."""

    finish: float
    order: int  # ties in finish time: the job started first finishes first
    worker: int = field(compare=False)
    start: float = field(compare=False)
    duration: float = field(compare=False)
    payload: Any = field(compare=False, default=None)


class WorkerPool:
    """``workers`` simulated workers sharing one wall clock.

    :meth:`start` gives a job to the free worker with the lowest id; :meth:`finish_next`
    advances the clock to the earliest finish and frees that job's worker; :meth:`retire`
    takes a free worker out for the rest of the run (its next job would end after the budget).
    """

    def __init__(self, workers: int):
        self.workers = positive_int("workers", workers)
        self.now = 0.0
        self.busy_seconds = 0.0  # worker-seconds of the finished jobs
        self._free = list(range(self.workers))  # a heap: the lowest id first
        self._running: list[Job] = []  # a heap: the earliest finish first
        self._started = 0

    @property
    def running(self) -> int:
        return len(self._running)

    def has_free(self) -> bool:
        return bool(self._free)

    def start(self, duration: float, payload: Any = None) -> Job:
        """Start a job of ``duration`` simulated seconds now on a free worker."""
        if not self._free:
            raise RuntimeError("no free worker: call finish_next first")
        job = Job(self.now + duration, self._started, heapq.heappop(self._free), self.now, duration, payload)
        self._started += 1
        heapq.heappush(self._running, job)
        return job

    def retire(self) -> None:
        """Take a free worker out of the run: it starts nothing more."""
        if not self._free:
            raise RuntimeError("no free worker to retire")
        heapq.heappop(self._free)

    def finish_next(self) -> Job:
        """Advance the clock to the earliest finish; that job's worker is free again."""
        job = heapq.heappop(self._running)
        self.now = job.finish
        self.busy_seconds += job.duration
        heapq.heappush(self._free, job.worker)
        return job


def synchronous_note(name: str, workers: int) -> str | None:
    """The one line saying that strategy ``name`` cannot run asynchronously on ``workers`` > 1 (else ``None``)."""
    from nasbench.search.strategies import STRATEGIES

    strategy = STRATEGIES.get(name)
    if workers <= 1 or strategy is None or strategy.asynchronous:
        return None
    return f"strategy {name} cannot run asynchronously: with workers={workers}, {strategy.waits_for}"
