"""The costs pass: every trained class's epoch time and every entry's latency measured again in one sitting.

Costs measured during a build that spans sittings mix machines and loads; the pass
measures them all under one condition (:func:`measure_costs`). ``costs_pass=auto``
runs it once every class of a shard has a trained seed and again once every entry
is trained (:func:`costs_pass_due`).
"""

from __future__ import annotations

import json
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Sequence

import numpy as np

from nasbench.provenance import git_commit
from nasbench.space.base import SearchSpace
from nasbench.table.store import TableData, attr_json
from nasbench.train.jobs import cost_job, progress_bar
from nasbench.train.recipe import Recipe, TimingConfig
from nasbench.train.trainer import machine_description


def costs_pass_due(table: TableData, classes: Sequence[int], entries: Sequence[tuple[int, int]]) -> bool:
    """Whether ``costs_pass=auto`` measures now: when every class of the shard is trained at least once (a
    complete single-seed table) and again when every entry is, unless the last pass already covered them."""
    last = attr_json(table, "costs_pass", {})
    if all(table.entries["done"][j] for j in entries):
        return last.get("entries") != int(table.entries["done"].sum())
    covered = int(table.entries["done"][list(classes)].any(axis=1).sum())
    return covered == len(classes) and last.get("classes", 0) < covered


def measure_costs(
    table: TableData, space: SearchSpace, recipe: Recipe, seeds: Sequence[int], classes: Sequence[int],
    pool: ProcessPoolExecutor | None, workers: int, device: str, timing: TimingConfig, progress: bool, name: str,
) -> None:
    """Re-measure the epoch time of ``classes`` and the latency of their trained entries, in one sitting.

    Costs measured during a build that spans several runs mix machines and loads (on the
    flagship the classes timed in one run cost twice what the same classes cost
    in another). This pass measures them all under one condition. Nothing is
    changed until every class is measured: an interrupted pass leaves the earlier
    costs, and the next run starts it again.
    """
    reps = space.representatives()
    jobs = {}
    for c in classes:
        positions = [int(s) for s in np.flatnonzero(table.entries["done"][c])]
        args = (tuple(int(d) for d in space.all_decisions[reps[c]]), asdict(recipe), [int(seeds[s]) for s in positions],
                device, asdict(timing))
        jobs[c] = (positions, args)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    bar = progress_bar(len(jobs), progress, name, "costs pass", "class")
    results = {}
    try:
        if pool is None:
            for c, (_, args) in jobs.items():
                results[c] = cost_job(*args)
                bar.update(1)
        else:
            futures = {pool.submit(cost_job, *args): c for c, (_, args) in jobs.items()}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update(1)
    finally:
        bar.close()
    epoch = table.epoch_seconds.copy()
    b1s, b256s = table.entries["latency_b1"].copy(), table.entries["latency_b256"].copy()
    for c, (positions, _) in jobs.items():
        epoch[c], latencies = results[c]
        for s, (b1, b256) in zip(positions, latencies):
            b1s[c, s], b256s[c, s] = b1, b256
    record = json.dumps({
        "started": started, "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "classes": len(jobs), "entries": int(table.entries["done"].sum()), "git_commit": git_commit(),
        "machine": machine_description().get("cpu", ""), "workers": workers,
    })
    with signals_deferred():  # all of the pass or none of it: a Ctrl-C/SIGTERM lands after the swap
        table.epoch_seconds = epoch
        table.entries["latency_b1"], table.entries["latency_b256"] = b1s, b256s
        table.attrs["costs_pass"] = record


@contextmanager
def signals_deferred():
    """Hold SIGINT and SIGTERM until the block ends, then raise ``KeyboardInterrupt`` if one came."""
    received = []
    try:
        previous = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: signals cannot arrive here anyway
        yield
        return
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if received:
        raise KeyboardInterrupt


__all__ = ["costs_pass_due", "measure_costs", "signals_deferred"]
