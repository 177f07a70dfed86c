"""Build a table: train every class representative for every seed, checkpointed.

Jobs are ``(class, seed)`` pairs, seed-major (all classes of the first seed
before the second) and, within a seed, in a fixed random order of classes, so
that a partial table is a uniform sample and a complete single-seed table
exists early. Shard ``i`` of ``n`` takes every ``n``-th job. Finished entries
are held in memory and the whole table is rewritten atomically every
``checkpoint_seconds`` and at the end, however the build ends (Ctrl-C, SIGTERM, a
failed job); rerunning the same command resumes.

With a recipe that stacks seeds (``train.stack_seeds``), a job is a whole class:
every seed of it trained together (:func:`nasbench.train.stacked.train_stacked`),
classes in the same fixed order, and shard ``i`` of ``n`` takes every ``n``-th
class. With ``train.archs_per_step`` as well, a job is that many of a shard's classes,
in that order, trained together in one masked union network
(:func:`nasbench.train.union.train_union`, the GPU path); each entry records the
union it was trained in, so that ``nasbench-verify`` re-trains the same union.

Each class is also timed once (:mod:`nasbench.train.timing`), by the shard that
trains its first seed, just before that training job; classes trained before
the timing pass existed are timed first when a build resumes.

The jobs and the worker processes that run them are in :mod:`nasbench.train.jobs`,
the costs pass in :mod:`nasbench.train.costs`, merging shard files in
:mod:`nasbench.train.merge`; their public names are importable from here too.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from nasbench.provenance import git_commit, library_versions
from nasbench.space.base import SearchSpace
from nasbench.table.store import TableData, TableError, read_table, write_table
from nasbench.train.costs import costs_pass_due, measure_costs, signals_deferred
from nasbench.train.data import DatasetConfig, Splits, load_dataset
from nasbench.train.jobs import (STACK, TIMING, UNION, job_decisions, job_order, job_seed, load_worker, prioritise,
                                 progress_bar, read_priority_file, run_job, shard_path, stack_jobs, store_result,
                                 union_jobs, validity_stats, with_timing, worker_pool)
from nasbench.train.merge import key_differences, merge_shards, merged_build_seconds, merged_history, missing_shards
from nasbench.train.recipe import Recipe, TimingConfig, check_device
from nasbench.train.trainer import float_fingerprint, machine_description, torch_threads
from nasbench.train.verify import describe_setup, other_setups, same_setup


def build_key(space: SearchSpace, recipe: Recipe, dataset: DatasetConfig, fingerprint: str, seeds: Sequence[int]) -> dict:
    """What two tables must share to be merged or resumed into one another."""
    return {
        "space": space.config(),
        "recipe": recipe.to_dict(),
        "dataset": dataset.to_dict(),
        "dataset_fingerprint": fingerprint,
        "seeds": [int(s) for s in seeds],
    }


def open_or_create(path: Path, space: SearchSpace, recipe: Recipe, key: dict, attrs: dict) -> TableData:
    """The table at ``path`` if it belongs to this build, else a new empty one."""
    if path.exists():
        table = read_table(path)
        stored = json.loads(table.attrs.get("build_key", "null") or "null")
        if stored != key:
            raise TableError(
                f"{path} holds a table of another build (differs in: {key_differences(stored, key)}, the file's "
                "first); choose another output path or delete it"
            )
        history = json.loads(table.attrs.get("build_history", "[]"))
        table.attrs.update({k: v for k, v in attrs.items() if k not in ("created", "build_history")})
    else:
        table = TableData.empty(space, len(key["seeds"]), recipe.epochs, attrs)
        history = []
    # Every (re)start of a build is recorded: a resumed table may span code versions, machines and
    # libraries; `seconds` (this run's, updated at each checkpoint) lets a merge count shared runs once.
    machine = json.loads(attrs["machine"])
    versions = json.loads(attrs["versions"])
    history.append({"run": uuid.uuid4().hex, "started": attrs["created"], "git_commit": attrs["git_commit"], "machine": machine.get("cpu", ""),
                    "cpu_capability": machine.get("cpu_capability"), "float_fingerprint": machine.get("float_fingerprint"),
                    "device": machine.get("device", "cpu"), "workers": machine.get("workers"),
                    "threads_per_worker": machine.get("threads_per_worker"),
                    "shard": attrs["shard"], "num_shards": attrs["num_shards"],
                    "torch": versions.get("torch"), "numpy": versions.get("numpy"), "seconds": 0.0})
    table.attrs["build_history"] = json.dumps(history)
    return table


@contextmanager
def output_lock(path: Path):
    """Hold ``.<name>.lock`` beside ``path`` while the block runs; another holder makes it a :class:`TableError`.

    Two builds of one output would each train everything. The lock is the operating
    system's (``flock``): a build that is killed holds it no longer, and the next one takes it.
    """
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no lock to take
        yield
        return
    lock = path.with_name(f".{path.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise TableError(f"{path} is being built by another process (pid {holder}, lock file {lock}); "
                             "wait for it to finish, or build into another output") from None
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # the holder finished and removed the file just before we locked it: lock the current one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.unlink(lock)  # before unlocking: a build that opened it meanwhile finds it gone and starts over
        os.close(fd)


def _holding_output_lock(build: Callable[..., Path]) -> Callable[..., Path]:
    """Run :func:`run_build` holding the :func:`output_lock` of the file it writes."""
    import functools
    import inspect

    signature = inspect.signature(build)

    @functools.wraps(build)
    def locked(*args: Any, **kwargs: Any) -> Path:
        given = signature.bind(*args, **kwargs)
        given.apply_defaults()
        arguments = given.arguments
        with output_lock(shard_path(Path(arguments["output"]), arguments["shard"], arguments["num_shards"])):
            return build(*args, **kwargs)

    return locked


def check_arguments(
    space: SearchSpace, recipe: Recipe, seeds: Sequence[int], workers: int, threads_per_worker: int, device: str,
    shard: int, num_shards: int, max_entries: int | None, max_classes: int | None, costs_pass: str,
    log: Callable[[str], None] = print,
) -> None:
    """Raise ``ValueError`` for a build option out of range, naming what is valid (see :func:`run_build`)."""
    if costs_pass not in ("auto", "now", "off"):
        raise ValueError(f"costs_pass must be auto, now or off, got {costs_pass!r}")
    if not 0 <= shard < num_shards:
        raise ValueError(f"shard must be in 0..num_shards-1 = 0..{num_shards - 1}, got {shard}")
    if not seeds or len(set(seeds)) != len(seeds) or not all(isinstance(s, (int, np.integer)) and s >= 0 for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct integers >= 0, got {list(seeds)}")
    if max_classes is not None and max_classes < 1:
        raise ValueError(f"max_classes must be >= 1 or null (all classes), got {max_classes}")
    if max_entries is not None and max_entries < 0:
        raise ValueError(f"max_entries must be >= 0 or null (no limit), got {max_entries}")
    if workers < 0 or threads_per_worker < 1:
        raise ValueError("workers must be >= 0 (0 trains in this process) and threads_per_worker >= 1")
    if recipe.archs_per_step is not None and space.kind != "cell":
        raise ValueError(f"train.archs_per_step trains architectures of a cell space together; space {space.kind!r} "
                         "is not one: use train=stacked or train=default")
    if check_device(device).startswith("cuda"):
        if recipe.archs_per_step is None:
            log(f"note: device={device} with a recipe that trains one architecture per job; train=gpu trains "
                "train.archs_per_step architectures per step, which is what a GPU is fast at")


def build_attrs(
    space: SearchSpace, recipe: Recipe, dataset: DatasetConfig, data: Splits, key: dict, fingerprint: str, *,
    workers: int, threads_per_worker: int, device: str, shard: int, num_shards: int, config_yaml: str,
) -> dict:
    """The provenance a build writes into its table's attributes: what was built, with what code, on what machine."""
    return {
        "build_key": json.dumps(key, sort_keys=True),
        "space": json.dumps(space.config()),
        "space_signature": space.signature,
        "recipe": json.dumps(recipe.to_dict()),
        "dataset": json.dumps(dataset.to_dict()),
        "dataset_fingerprint": data.fingerprint,
        "seeds": json.dumps([int(s) for s in key["seeds"]]),
        "config": config_yaml,
        "package_version": library_versions()["nasbench"],
        "git_commit": git_commit(),
        "versions": json.dumps(library_versions()),
        # torch_threads: what each training process uses (the workers set it), not this process's default
        "machine": json.dumps({**machine_description(), "float_fingerprint": fingerprint,
                               "torch_threads": threads_per_worker, "cpu_count": os.cpu_count(),
                               "workers": workers, "device": device, "threads_per_worker": threads_per_worker}),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "shard": shard,
        "num_shards": num_shards,
    }


def adopt_timing(table: TableData, path: Path, timing: TimingConfig, device: str, threads_per_worker: int) -> None:
    """Record how this build times classes; a table already timed another way is a :class:`TableError`."""
    timing_attr = json.dumps({**asdict(timing), "clock": "wall" if device.startswith("cuda") else "process CPU",
                              "device": device, "threads": threads_per_worker})
    if np.isfinite(table.epoch_seconds).any() and table.attrs.get("timing") not in (None, timing_attr):
        raise TableError(
            f"{path}: its classes were timed with {table.attrs['timing']}, this build asks for {timing_attr}; "
            "resume with the same timing, device and threads_per_worker"
        )
    table.attrs["timing"] = timing_attr


def check_setup(path: Path, history: list[dict], allow_other_setup: bool, log: Callable[[str], None]) -> None:
    """Refuse (unless ``allow_other_setup``) to add entries of this run's setup to a table trained on another.

    ``history[-1]`` is this run. Entries trained on setups that cannot be told apart
    (older runs without a float fingerprint) are only noted.
    """
    this = history[-1]
    conflicting = list(dict.fromkeys(describe_setup(run) for run in history[:-1] if same_setup(run, this) is False))
    if conflicting and not allow_other_setup:
        raise TableError(
            f"{path} was trained on {'; '.join(conflicting)}, this machine is {describe_setup(this)}: entries of "
            "both would not re-run bit for bit on one machine; resume on a matching machine, or pass allow_other_setup=true "
            "(each entry records the run that trained it)")
    others = other_setups(history[:-1], this)
    if others:
        log(f"{path}: note: earlier runs trained on {'; '.join(others)}; entries trained on different setups "
            "do not re-run bit for bit on one machine (nasbench-verify checks those of this machine's)")


@dataclass
class BuildPlan:
    """Which entries one run of one shard trains and times, in the order it runs them."""

    mine: list[tuple[int, int]]  # this shard's (class, seed position) entries, trained or not
    everything: list[tuple[int, int]]  # the shard's entries of the whole table (``max_classes`` and ``only`` aside)
    timed_here: list[int]  # the classes this shard times: those whose first seed it trains
    train_jobs: list  # the training jobs of this run (entries, stacked classes or unions)
    jobs: list  # train_jobs with a timing job before each untimed class

    @property
    def shard_classes(self) -> list[int]:
        return [c for c, s in self.mine if s == 0]


def plan_jobs(
    space: SearchSpace, recipe: Recipe, num_seeds: int, table: TableData, shard: int = 0, num_shards: int = 1,
    max_classes: int | None = None, max_entries: int | None = None, only: Sequence[Any] | None = None,
    priority: Sequence[Any] = (),
) -> BuildPlan:
    """The :class:`BuildPlan` of a run: the shard's entries that ``table`` lacks, as jobs of ``recipe``."""
    stacked = recipe.stack_seeds
    mine = job_order(space.num_classes, num_seeds, shard, num_shards, max_classes, stacked)
    if only is not None:
        chosen = {int(space.parse(arch).class_id) for arch in only}
        if not chosen:
            raise ValueError("classes_file lists no architecture; give one per line")
        mine = [job for job in mine if job[0] in chosen]
    train_jobs = prioritise([j for j in mine if not table.entries["done"][j]], space, priority)
    if max_entries is not None:
        train_jobs = train_jobs[:max_entries]
    if stacked:  # a class's seeds train together: max_entries rounds up to whole classes
        train_jobs = stack_jobs(train_jobs)
    if recipe.archs_per_step is not None:  # and archs_per_step classes in one union network
        train_jobs = union_jobs(train_jobs, recipe.archs_per_step)
    everything = job_order(space.num_classes, num_seeds, shard, num_shards, stacked=stacked)
    timed_here = [c for c, s in everything if s == 0]  # the shard that trains a class's first seed times it
    return BuildPlan(mine, everything, timed_here, train_jobs, with_timing(train_jobs, timed_here, table))


class _BuildRun:
    """One run of :func:`run_build` once its table is open: runs the plan's jobs, checkpoints, runs costs passes.

    Whatever ends it (done, Ctrl-C, SIGTERM, a failed job, a killed worker),
    :meth:`run` saves finished work before the worker pool shuts down, since the
    pool's shutdown waits for running jobs.
    """

    def __init__(self, path: Path, table: TableData, plan: BuildPlan, space: SearchSpace, recipe: Recipe,
                 dataset: DatasetConfig, seeds: Sequence[int], *, workers: int, threads_per_worker: int, device: str,
                 timing: TimingConfig, costs_pass: str, checkpoint_seconds: float, progress: bool,
                 log: Callable[[str], None]):
        self.path, self.table, self.plan = path, table, plan
        self.space, self.recipe, self.dataset, self.seeds = space, recipe, dataset, seeds
        self.workers, self.threads_per_worker, self.device, self.timing = workers, threads_per_worker, device, timing
        self.costs_pass, self.checkpoint_seconds, self.progress, self.log = costs_pass, checkpoint_seconds, progress, log
        self.history = json.loads(table.attrs["build_history"])
        self.run_id = self.history[-1]["run"]
        self.started = time.monotonic()
        self.last_checkpoint = self.started
        self.seconds_before = float(table.attrs["build_seconds"])
        self.pool = None
        self.pending: dict[Any, Any] = {}
        self.bar = progress_bar(len(plan.jobs), progress, path.name)
        # no job of a later seed yet: with costs_pass=auto, the first seed's pass is checked there
        self.before_later_seeds = costs_pass == "auto"

    def checkpoint(self) -> None:
        table, plan = self.table, self.plan
        table.attrs["complete"] = bool(all(table.entries["done"][j] for j in plan.everything)
                                       and np.isfinite(table.epoch_seconds[plan.timed_here]).all())
        table.attrs["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        elapsed = time.monotonic() - self.started
        table.attrs["build_seconds"] = self.seconds_before + elapsed
        self.history[-1]["seconds"] = elapsed
        table.attrs["build_history"] = json.dumps(self.history)
        table.attrs["validity"] = json.dumps(validity_stats(table))
        write_table(self.path, table)

    def checkpoint_if_due(self) -> None:
        if time.monotonic() - self.last_checkpoint > self.checkpoint_seconds:
            self.checkpoint()
            self.last_checkpoint = time.monotonic()

    def final_checkpoint(self) -> bool:
        """Checkpoint until a write completes; whether an interrupt arrived meanwhile."""
        interrupted = False
        while True:
            try:
                self.checkpoint()
                return interrupted
            except KeyboardInterrupt:  # a Ctrl-C or SIGTERM mid-write: the write was discarded, write again
                interrupted = True

    def store(self, job: Any, result: Any) -> None:
        store_result(self.table, job, result, self.run_id)
        self.bar.update(1)

    def costs_pass_due(self) -> bool:
        return costs_pass_due(self.table, self.plan.shard_classes, self.plan.mine)

    def run_costs_pass(self) -> None:
        """Re-measure the costs of every trained class (see :func:`measure_costs`), then checkpoint."""
        if self.pool is None and self.workers > 0:
            self.pool = worker_pool(self.workers, self.space, self.dataset, self.threads_per_worker)
        # (with workers=0 this process was set up as the worker before training)
        table = self.table
        trained = [int(c) for c in np.flatnonzero(table.entries["done"].any(axis=1))]  # every entry in this file
        self.checkpoint()  # the pass takes a while: what is trained is on disk first
        self.log(f"{self.path}: costs pass: re-measuring the epoch time of {len(trained)} classes and the latency of "
                 f"their {int(table.entries['done'][trained].sum())} entries in one sitting")
        measure_costs(table, self.space, self.recipe, self.seeds, trained, self.pool, self.workers, self.device,
                      self.timing, self.progress, self.path.name)
        self.checkpoint()

    def at_seed_boundary(self, job: Any) -> bool:
        """Whether ``job`` is this run's first job of a later seed (jobs are seed-major), where a pass may be due."""
        if not self.before_later_seeds or job[1] in (TIMING, 0, STACK, UNION):
            return False
        self.before_later_seeds = False
        return True

    def job_arguments(self, job: Any) -> tuple:
        """What :func:`run_job` takes for ``job``."""
        return (job_decisions(self.space, job), asdict(self.recipe), job_seed(self.seeds, job), self.device,
                asdict(self.timing))

    def run_here(self) -> None:
        """Run every job in this process (``workers=0``)."""
        load_worker(self.space.config(), self.dataset.to_dict(), self.threads_per_worker)
        for job in self.plan.jobs:
            if self.at_seed_boundary(job) and self.costs_pass_due():
                self.run_costs_pass()
            self.store(job, run_job(*self.job_arguments(job)))
            self.checkpoint_if_due()

    def run_in_pool(self) -> None:
        """Run the jobs in ``workers`` processes, two queued per worker."""
        self.pool = worker_pool(self.workers, self.space, self.dataset, self.threads_per_worker)
        queue = iter(self.plan.jobs)
        while True:
            while len(self.pending) < 2 * self.workers:
                job = next(queue, None)
                if job is None:
                    break
                if self.at_seed_boundary(job):
                    # the first seed's jobs finish first: then every class may have a seed, and its costs pass is due
                    for future in wait(self.pending).done:
                        self.store(self.pending.pop(future), future.result())
                    if self.costs_pass_due():
                        self.run_costs_pass()
                        self.last_checkpoint = time.monotonic()
                self.pending[self.pool.submit(run_job, *self.job_arguments(job))] = job
            if not self.pending:
                break
            finished, _ = wait(self.pending, return_when=FIRST_COMPLETED)
            for future in finished:
                self.store(self.pending.pop(future), future.result())
            self.checkpoint_if_due()

    def run(self) -> None:
        try:
            if self.workers == 0:
                self.run_here()
            else:
                self.run_in_pool()
            if self.costs_pass == "now" or (self.costs_pass == "auto" and self.costs_pass_due()):
                self.bar.close()
                self.run_costs_pass()
        finally:
            for future, job in self.pending.items():
                if future.done() and not future.cancelled() and future.exception() is None:
                    store_result(self.table, job, future.result(), self.run_id)
            interrupted = self.final_checkpoint()
            self.bar.close()
            if self.pool is not None:
                self.pool.shutdown(cancel_futures=True)
            if interrupted:
                raise KeyboardInterrupt


@_holding_output_lock
def run_build(
    space: SearchSpace,
    recipe: Recipe,
    dataset: DatasetConfig,
    seeds: Sequence[int],
    output: str | Path,
    workers: int = 2,
    threads_per_worker: int = 1,
    device: str = "cpu",
    shard: int = 0,
    num_shards: int = 1,
    checkpoint_seconds: float = 60.0,
    max_entries: int | None = None,
    max_classes: int | None = None,
    priority: Sequence[Any] = (),
    only: Sequence[Any] | None = None,
    timing: TimingConfig = TimingConfig(),
    costs_pass: str = "auto",
    allow_other_setup: bool = False,
    config_yaml: str = "",
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Train the missing entries of this shard into ``output`` (or its shard file); returns the path.

    ``workers``: training processes (0 trains in this process), each with
    ``threads_per_worker`` torch threads. ``max_entries`` and ``max_classes`` cap
    this run (a uniform subsample of classes); ``priority`` architectures (any
    encoding) are trained first. ``checkpoint_seconds``: how often finished work is
    written.

    ``only``: architectures (any encoding) whose classes alone are trained, e.g. a
    pilot's sample; the table is then partial by design (``complete`` stays false).

    ``costs_pass``: when to re-measure every trained class's epoch time and every
    entry's latency in one sitting (:func:`measure_costs`): ``auto`` once every class
    of the shard has a trained seed (before the run's first job of a later seed, after
    the first seed's jobs have finished) and again once every entry is trained
    (:func:`costs_pass_due`), ``now`` after this run's training whatever is trained,
    ``off`` never.

    A table whose earlier runs recorded another setup (another float fingerprint, or for
    runs without one another CPU, torch kernels, device, torch or numpy version) is refused
    unless ``allow_other_setup``: entries trained on different setups do not re-run bit for
    bit on any one machine. Each trained entry records this run's id (``metrics/run``) and
    the run its fingerprint, so ``nasbench-verify`` knows which entries this machine can check.

    The build holds the file's :func:`output_lock` throughout: a second build of the same file is refused.
    """
    check_arguments(space, recipe, seeds, workers, threads_per_worker, device, shard, num_shards, max_entries,
                    max_classes, costs_pass, log)
    path = shard_path(Path(output), shard, num_shards)
    data: Splits = load_dataset(dataset)
    with torch_threads(threads_per_worker):  # the float order of the training processes
        fingerprint = float_fingerprint(space, data, recipe, device)
    key = build_key(space, recipe, dataset, data.fingerprint, seeds)
    attrs = build_attrs(space, recipe, dataset, data, key, fingerprint, workers=workers,
                        threads_per_worker=threads_per_worker, device=device, shard=shard, num_shards=num_shards,
                        config_yaml=config_yaml)
    # A build killed mid-checkpoint (SIGKILL) leaves its temporary file; the table itself is intact.
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    table = open_or_create(path, space, recipe, key, attrs)
    table.attrs.setdefault("build_seconds", 0.0)
    adopt_timing(table, path, timing, device, threads_per_worker)
    plan = plan_jobs(space, recipe, len(seeds), table, shard, num_shards, max_classes, max_entries, only, priority)
    log(f"{path}: {int(table.entries['done'].sum())} entries done, {len(plan.train_jobs)} to train and "
        f"{len(plan.jobs) - len(plan.train_jobs)} classes to time in this run (shard {shard} of {num_shards}: "
        f"{len(plan.mine)} entries)")
    check_setup(path, json.loads(table.attrs["build_history"]), allow_other_setup, log)
    _BuildRun(path, table, plan, space, recipe, dataset, seeds, workers=workers, threads_per_worker=threads_per_worker,
              device=device, timing=timing, costs_pass=costs_pass, checkpoint_seconds=checkpoint_seconds,
              progress=progress, log=log).run()
    stats = json.loads(table.attrs["validity"])
    log(f"{path}: {int(table.entries['done'].sum())} entries; validity: {json.dumps(stats)}")
    return path


def example_table() -> Path:
    """A small complete table for examples and doctests, built once into the cache (a few seconds).

    The 27-cell tiny space (3 nodes; ``none``, ``skip_connect``, ``nor_conv_3x3``;
    channels 4/8), MNIST-1D 400/300/300, one seed, one epoch.
    """
    from nasbench.space.cell import CellSpace
    from nasbench.train.data import cache_dir

    output = cache_dir() / "examples" / "tiny-1seed-1epoch.h5"
    if not output.exists():
        run_build(
            space=CellSpace(num_nodes=3, ops=["none", "skip_connect", "nor_conv_3x3"], channels=[4, 8]),
            recipe=Recipe(epochs=1, batch_size=128, latency_repeats=3),
            dataset=DatasetConfig(n_train=400, n_valid=300, n_test=300),
            seeds=[0], output=output, workers=0, progress=False, log=lambda _: None,
        )
    return output


__all__ = [
    "run_build", "build_key", "build_attrs", "check_arguments", "check_setup", "adopt_timing", "plan_jobs", "BuildPlan",
    "open_or_create", "output_lock", "example_table",
    # the build's parts, importable from here as before
    "TIMING", "STACK", "UNION", "job_order", "stack_jobs", "union_jobs", "prioritise", "read_priority_file", "shard_path",
    "with_timing",
    "validity_stats", "costs_pass_due", "measure_costs", "signals_deferred",
    "merge_shards", "missing_shards", "merged_history", "merged_build_seconds",
]
