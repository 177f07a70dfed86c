"""The jobs of a build and the processes that run them.

Jobs are ``(class, seed position)`` pairs (:func:`job_order`); a timing job
``(class, TIMING)`` times a class once, a stacked job ``(class, STACK)`` trains
every seed of a class together, a union job ``((class, ...), UNION)`` every seed of
several classes in one masked union network (:mod:`nasbench.train.union`). Worker
processes are spawned, set up once (:func:`init_worker`: the space and the dataset)
and end with the process that started them. :func:`validity_stats` are the noise and ranking figures every
build checkpoint and every merge records in the table.
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nasbench.space.base import SearchSpace
from nasbench.space.registry import space_from_config
from nasbench.table.store import EPOCH_FIELDS, TableData, build_class_order
from nasbench.train.data import DatasetConfig, load_dataset
from nasbench.train.recipe import Recipe, TimingConfig
from nasbench.train.stacked import train_stacked
from nasbench.train.union import train_union
from nasbench.train.timing import time_epoch
from nasbench.train.trainer import RunResult, measure_latencies, train

#: the seed position of a timing job ``(class, TIMING)``
TIMING = -1
#: the seed position of a job ``(class, STACK)`` that trains every seed of the class together
STACK = -2
#: the seed position of a job ``((class, ...), UNION)`` that trains every seed of those classes in one union network
UNION = -3


def job_order(
    num_classes: int, num_seeds: int, shard: int = 0, num_shards: int = 1, max_classes: int | None = None,
    stacked: bool = False,
) -> list[tuple[int, int]]:
    """``(class, seed position)`` jobs of one shard, seed-major, classes in a fixed shuffled order.

    ``max_classes`` keeps the first classes of that order: a uniform subsample
    whose entries are the same as the full build's (so they merge into it).
    ``stacked``: the entries of every ``num_shards``-th class, class-major (a class's
    seeds train together, in one shard; :func:`stack_jobs`).
    """
    classes = build_class_order(num_classes)[:max_classes]
    if stacked:
        return [(int(c), s) for c in classes[shard::num_shards] for s in range(num_seeds)]
    jobs = [(int(c), s) for s in range(num_seeds) for c in classes]
    return jobs[shard::num_shards]


def stack_jobs(jobs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """One ``(class, STACK)`` job per class of ``jobs``, in order of first appearance: it trains all the class's seeds."""
    return [(c, STACK) for c in dict.fromkeys(c for c, _ in jobs)]


def union_jobs(jobs: list[tuple[int, int]], archs_per_step: int) -> list[tuple[tuple[int, ...], int]]:
    """``(class, STACK)`` jobs as union jobs: ``archs_per_step`` classes each, in order, each union's classes
    sorted (the order in which the union holds them, so that it is known from its classes alone)."""
    classes = [c for c, _ in jobs]
    return [(tuple(sorted(classes[i:i + archs_per_step])), UNION) for i in range(0, len(classes), archs_per_step)]


def job_classes(job: tuple) -> tuple[int, ...]:
    """The classes a job trains or times."""
    return job[0] if job[1] == UNION else (job[0],)


def job_decisions(space: SearchSpace, job: tuple) -> tuple[int, ...] | list[tuple[int, ...]]:
    """What :func:`run_job` takes for ``job``: its class representative's decisions, or for a union job each class's."""
    reps = space.representatives()
    decisions = [tuple(int(d) for d in space.all_decisions[reps[c]]) for c in job_classes(job)]
    return decisions if job[1] == UNION else decisions[0]


def prioritise(jobs: list[tuple[int, int]], space: SearchSpace, priority: Sequence[Any]) -> list[tuple[int, int]]:
    """``jobs`` with the classes of the ``priority`` architectures (any encoding) first within each seed.

    Only the order changes, never what an entry holds: a table built in any order
    is the same table.
    """
    if not priority:
        return jobs
    first = {int(space.parse(arch).class_id) for arch in priority}
    position = {job: k for k, job in enumerate(jobs)}
    return sorted(jobs, key=lambda job: (job[1], job[0] not in first, position[job]))


def read_priority_file(path: str | Path, option: str = "priority_file") -> list[str]:
    """Architectures listed one per line (any text encoding; ``#`` starts a comment)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as err:
        raise ValueError(f"cannot read {option} {path}: {err.strerror or err}") from None
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def shard_path(output: Path, shard: int, num_shards: int) -> Path:
    if num_shards == 1:
        return output
    return output.with_name(f"{output.stem}.shard{shard}of{num_shards}{output.suffix}")


def with_timing(train_jobs: list[tuple[int, int]], timed_here: Sequence[int], table: TableData) -> list[tuple[int, int]]:
    """``train_jobs`` with a timing job before the first job of each untimed class of ``timed_here``.

    Untimed classes of ``timed_here`` that already have trained entries are timed
    first, so that a resumed table soon has a cost for everything it holds.
    """
    untimed = {c for c in timed_here if not np.isfinite(table.epoch_seconds[c])}
    first = [(c, TIMING) for c in timed_here if c in untimed and table.entries["done"][c].any()]
    jobs, queued = [], {c for c, _ in first}
    for job in train_jobs:
        for c in job_classes(job):
            if c in untimed and c not in queued:
                jobs.append((c, TIMING))
                queued.add(c)
        jobs.append(job)
    return first + jobs


def validity_stats(table: TableData) -> dict[str, Any]:
    """Noise and ranking figures of a (possibly partial) table; NaN where undefined."""
    valid = table.epochs["valid_accuracy"]
    done = table.entries["done"] & ~table.entries["diverged"]
    final = np.where(done, valid[:, :, -1], np.nan)
    stats: dict[str, Any] = {"entries_done": int(table.entries["done"].sum())}
    all_seeds = done.all(axis=1)
    if done.shape[1] >= 2 and all_seeds.sum() >= 3:
        per_class = final[all_seeds]
        seed_std = float(np.std(per_class, axis=1, ddof=1).mean())
        class_std = float(np.std(per_class.mean(axis=1), ddof=1))
        stats["seed_std_mean"] = seed_std
        stats["class_std"] = class_std
        stats["noise_ratio"] = seed_std / class_std if class_std > 0 else float("nan")
        stats["spearman_seed0_seed1"] = _spearman(per_class[:, 0], per_class[:, 1])
    epochs = valid.shape[2]
    if epochs >= 4:
        seeds_done = done.sum(axis=1)
        ok = seeds_done > 0
        early = np.where(done, valid[:, :, 3], 0.0).sum(axis=1)[ok] / seeds_done[ok]
        late = np.where(done, valid[:, :, -1], 0.0).sum(axis=1)[ok] / seeds_done[ok]
        if ok.sum() >= 3:
            stats["spearman_epoch4_final"] = _spearman(early, late)
    return stats


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")  # undefined for constant input
    return float(spearmanr(a, b).statistic)


# ---------------------------------------------------------------- workers
_WORKER: dict[str, Any] = {}


def init_worker(space_config: dict, dataset: dict, threads: int) -> None:
    """Set up a pool worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    load_worker(space_config, dataset, threads)


def load_worker(space_config: dict, dataset: dict, threads: int) -> None:
    """Set up job running in this process (a pool worker or, with ``workers=0``, the build itself)."""
    import torch

    torch.set_num_threads(threads)
    _WORKER["space"] = space_from_config(space_config)
    _WORKER["data"] = load_dataset(DatasetConfig(**dataset))


def run_job(decisions: tuple[int, ...] | list[tuple[int, ...]], recipe: dict, seed: int | list[int], device: str,
            timing: dict) -> RunResult | list[RunResult] | list[list[RunResult]] | float:
    """A timing job (``seed`` TIMING), a training job, (``seed`` a list of seeds) a stack of them, or (``decisions``
    a list of architectures as well) a union of such stacks."""
    if isinstance(decisions, list):
        return train_union(_WORKER["space"], decisions, _WORKER["data"], Recipe(**recipe), seed, device)
    if isinstance(seed, list):
        return train_stacked(_WORKER["space"], decisions, _WORKER["data"], Recipe(**recipe), seed, device)
    if seed == TIMING:
        return time_epoch(_WORKER["space"], decisions, _WORKER["data"], Recipe(**recipe), TimingConfig(**timing), device)
    return train(_WORKER["space"], decisions, _WORKER["data"], Recipe(**recipe), seed, device)


def cost_job(decisions: tuple[int, ...], recipe: dict, seeds: list[int], device: str, timing: dict) -> tuple[float, list]:
    """The costs pass for one class: its epoch time and, per trained seed, its latencies (a fresh model of that seed)."""
    import torch

    space, data, recipe_ = _WORKER["space"], _WORKER["data"], Recipe(**recipe)
    epoch_seconds = time_epoch(space, decisions, data, recipe_, TimingConfig(**timing), device)
    sample = torch.as_tensor(data.split("test")[0], device=device)
    latencies = []
    for seed in seeds:
        torch.manual_seed(seed)
        latencies.append(measure_latencies(space.build_model(decisions).to(device), sample, recipe_))
    return epoch_seconds, latencies


def worker_pool(workers: int, space: SearchSpace, dataset: DatasetConfig, threads: int) -> ProcessPoolExecutor:
    """``workers`` spawned processes, each set up by :func:`init_worker`, each ending when this process ends."""
    import multiprocessing

    from nasbench.workers import start_worker

    # Under joblib's launcher this process is a loky worker whose default start method is "loky"; spawned
    # children inherit that name and cannot resolve it, so name a standard method here.
    if multiprocessing.get_start_method(allow_none=True) not in multiprocessing.get_all_start_methods():
        multiprocessing.set_start_method("spawn", force=True)
    return ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=start_worker,
        initargs=(os.getpid(), f"{__name__}:init_worker", space.config(), dataset.to_dict(), threads),
    )


def job_seed(seeds: Sequence[int], job: tuple[int, int]) -> int | list[int]:
    """What :func:`run_job` takes for ``job``: TIMING, the seed, or for a STACK or UNION job every seed."""
    if job[1] in (STACK, UNION):
        return [int(s) for s in seeds]
    return TIMING if job[1] == TIMING else int(seeds[job[1]])


def progress_bar(total: int, enabled: bool, name: str, what: str = "build", unit: str = "run"):
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, desc=f"{what} {name}", unit=unit, smoothing=0.05, dynamic_ncols=True)


def store_result(table: TableData, job: tuple, result: RunResult | list[RunResult] | list[list[RunResult]] | float,
                 run: str) -> None:
    """Put a job's result into ``table``; a trained entry records the ``run`` id that trained it, and an entry
    trained in a union the union's first class (``entries["union"]``: the union is its classes with that id)."""
    if len(run) > 32:  # metrics/run holds 32 characters (a uuid4 hex)
        raise ValueError(f"run id {run!r} is longer than 32 characters")
    c, s = job
    if s == TIMING:
        table.epoch_seconds[c] = result
        return
    if s == UNION:
        for member, stack in zip(c, result):
            store_result(table, (member, STACK), stack, run)
            table.entries["union"][member, :len(stack)] = c[0]
        return
    if s == STACK:
        for position, entry in enumerate(result):
            store_result(table, (c, position), entry, run)
        return
    for name in EPOCH_FIELDS:
        table.epochs[name][c, s] = result.curves[name]
    table.entries["diverged"][c, s] = result.diverged
    table.entries["latency_b1"][c, s] = result.latency_b1
    table.entries["latency_b256"][c, s] = result.latency_b256
    table.entries["run"][c, s] = run
    table.entries["done"][c, s] = True


__all__ = [
    "TIMING", "STACK", "UNION", "job_order", "stack_jobs", "union_jobs", "job_classes", "job_decisions", "prioritise",
    "read_priority_file", "shard_path", "with_timing",
    "validity_stats", "init_worker", "load_worker", "run_job", "cost_job", "worker_pool", "job_seed", "progress_bar",
    "store_result",
]
