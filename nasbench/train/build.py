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
class.

Each class is also timed once (:mod:`nasbench.train.timing`), by the shard that
trains its first seed, just before that training job; classes trained before
the timing pass existed are timed first when a build resumes.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, as_completed, wait
from dataclasses import asdict
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from nasbench.provenance import git_commit, library_versions
from nasbench.space.base import SearchSpace
from nasbench.space.registry import space_from_config
from nasbench.table.store import EPOCH_FIELDS, TableData, TableError, attr_json, build_class_order, read_table, write_table
from nasbench.train.data import DatasetConfig, Splits, load_dataset
from nasbench.train.recipe import Recipe, TimingConfig
from nasbench.train.stacked import train_stacked
from nasbench.train.timing import time_epoch
from nasbench.train.trainer import (RunResult, float_fingerprint, machine_description, measure_latencies, torch_threads,
                                    train)
from nasbench.train.verify import describe_setup, other_setups, same_setup

#: the seed position of a timing job ``(class, TIMING)``
TIMING = -1
#: the seed position of a job ``(class, STACK)`` that trains every seed of the class together
STACK = -2


def build_key(space: SearchSpace, recipe: Recipe, dataset: DatasetConfig, fingerprint: str, seeds: Sequence[int]) -> dict:
    """What two tables must share to be merged or resumed into one another."""
    return {
        "space": space.config(),
        "recipe": recipe.to_dict(),
        "dataset": dataset.to_dict(),
        "dataset_fingerprint": fingerprint,
        "seeds": [int(s) for s in seeds],
    }


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


def _init_worker(space_config: dict, dataset: dict, threads: int) -> None:
    """Set up a pool worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _load_worker(space_config, dataset, threads)


def _load_worker(space_config: dict, dataset: dict, threads: int) -> None:
    """Set up job running in this process (a pool worker or, with ``workers=0``, the build itself)."""
    import torch

    torch.set_num_threads(threads)
    _WORKER["space"] = space_from_config(space_config)
    _WORKER["data"] = load_dataset(DatasetConfig(**dataset))


def _run_job(decisions: tuple[int, ...], recipe: dict, seed: int | list[int], device: str,
             timing: dict) -> RunResult | list[RunResult] | float:
    """A timing job (``seed`` TIMING), a training job, or (``seed`` a list of seeds) a stack of them."""
    if isinstance(seed, list):
        return train_stacked(_WORKER["space"], decisions, _WORKER["data"], Recipe(**recipe), seed, device)
    if seed == TIMING:
        return time_epoch(_WORKER["space"], decisions, _WORKER["data"], Recipe(**recipe), TimingConfig(**timing), device)
    return train(_WORKER["space"], decisions, _WORKER["data"], Recipe(**recipe), seed, device)


def _cost_job(decisions: tuple[int, ...], recipe: dict, seeds: list[int], device: str, timing: dict) -> tuple[float, list]:
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


def with_timing(train_jobs: list[tuple[int, int]], timed_here: Sequence[int], table: TableData) -> list[tuple[int, int]]:
    """``train_jobs`` with a timing job before the first job of each untimed class of ``timed_here``.

    Untimed classes of ``timed_here`` that already have trained entries are timed
    first, so that a resumed table soon has a cost for everything it holds.
    """
    untimed = {c for c in timed_here if not np.isfinite(table.epoch_seconds[c])}
    first = [(c, TIMING) for c in timed_here if c in untimed and table.entries["done"][c].any()]
    jobs, queued = [], {c for c, _ in first}
    for c, s in train_jobs:
        if c in untimed and c not in queued:
            jobs.append((c, TIMING))
            queued.add(c)
        jobs.append((c, s))
    return first + jobs


def _store(table: TableData, job: tuple[int, int], result: RunResult | list[RunResult] | float, run: str) -> None:
    """Put a job's result into ``table``; a trained entry records the ``run`` id that trained it."""
    if len(run) > 32:  # metrics/run holds 32 characters (a uuid4 hex)
        raise ValueError(f"run id {run!r} is longer than 32 characters")
    c, s = job
    if s == TIMING:
        table.epoch_seconds[c] = result
        return
    if s == STACK:
        for position, entry in enumerate(result):
            _store(table, (c, position), entry, run)
        return
    for name in EPOCH_FIELDS:
        table.epochs[name][c, s] = result.curves[name]
    table.entries["diverged"][c, s] = result.diverged
    table.entries["latency_b1"][c, s] = result.latency_b1
    table.entries["latency_b256"][c, s] = result.latency_b256
    table.entries["run"][c, s] = run
    table.entries["done"][c, s] = True


def open_or_create(path: Path, space: SearchSpace, recipe: Recipe, key: dict, attrs: dict) -> TableData:
    """The table at ``path`` if it belongs to this build, else a new empty one."""
    if path.exists():
        table = read_table(path)
        stored = json.loads(table.attrs.get("build_key", "null") or "null")
        if stored != key:
            fields = sorted(k for k in key if (stored or {}).get(k) != key[k])
            raise TableError(
                f"{path} holds a table of another build (differs in: {', '.join(fields)}); "
                "choose another output path or delete it"
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
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"device={device} asked for, but torch sees no CUDA device; valid here: cpu")
    path = shard_path(Path(output), shard, num_shards)
    data: Splits = load_dataset(dataset)
    with torch_threads(threads_per_worker):  # the float order of the training processes
        fingerprint = float_fingerprint(space, data, recipe, device)
    key = build_key(space, recipe, dataset, data.fingerprint, seeds)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    attrs = {
        "build_key": json.dumps(key, sort_keys=True),
        "space": json.dumps(space.config()),
        "space_signature": space.signature,
        "recipe": json.dumps(recipe.to_dict()),
        "dataset": json.dumps(dataset.to_dict()),
        "dataset_fingerprint": data.fingerprint,
        "seeds": json.dumps([int(s) for s in seeds]),
        "config": config_yaml,
        "package_version": library_versions()["nasbench"],
        "git_commit": git_commit(),
        "versions": json.dumps(library_versions()),
        # torch_threads: what each training process uses (the workers set it), not this process's default
        "machine": json.dumps({**machine_description(), "float_fingerprint": fingerprint,
                               "torch_threads": threads_per_worker, "cpu_count": os.cpu_count(),
                               "workers": workers, "device": device, "threads_per_worker": threads_per_worker}),
        "created": now,
        "shard": shard,
        "num_shards": num_shards,
    }
    # A build killed mid-checkpoint (SIGKILL) leaves its temporary file; the table itself is intact.
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    table = open_or_create(path, space, recipe, key, attrs)
    table.attrs.setdefault("build_seconds", 0.0)
    timing_attr = json.dumps({**asdict(timing), "clock": "wall" if device.startswith("cuda") else "process CPU",
                              "device": device, "threads": threads_per_worker})
    if np.isfinite(table.epoch_seconds).any() and table.attrs.get("timing") not in (None, timing_attr):
        raise TableError(
            f"{path}: its classes were timed with {table.attrs['timing']}, this build asks for {timing_attr}; "
            "resume with the same timing, device and threads_per_worker"
        )
    table.attrs["timing"] = timing_attr
    stacked = recipe.stack_seeds
    mine = job_order(space.num_classes, len(seeds), shard, num_shards, max_classes, stacked)
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
    everything = job_order(space.num_classes, len(seeds), shard, num_shards, stacked=stacked)
    timed_here = [c for c, s in everything if s == 0]  # the shard that trains a class's first seed times it
    jobs = with_timing(train_jobs, timed_here, table)
    log(f"{path}: {int(table.entries['done'].sum())} entries done, {len(train_jobs)} to train and "
        f"{len(jobs) - len(train_jobs)} classes to time in this run (shard {shard} of {num_shards}: {len(mine)} entries)")
    reps = space.representatives()

    started = time.monotonic()
    seconds_before = float(table.attrs["build_seconds"])

    history = json.loads(table.attrs["build_history"])
    others = other_setups(history[:-1], history[-1])
    conflicting = list(dict.fromkeys(describe_setup(run) for run in history[:-1] if same_setup(run, history[-1]) is False))
    if conflicting and not allow_other_setup:
        raise TableError(
            f"{path} was trained on {'; '.join(conflicting)}, this machine is {describe_setup(history[-1])}: entries of "
            "both would not re-run bit for bit on one machine; resume on a matching machine, or pass allow_other_setup=true "
            "(each entry records the run that trained it)")
    if others:
        log(f"{path}: note: earlier runs trained on {'; '.join(others)}; entries trained on different setups "
            "do not re-run bit for bit on one machine (nasbench-verify checks those of this machine's)")
    run_id = history[-1]["run"]

    def checkpoint() -> None:
        table.attrs["complete"] = bool(all(table.entries["done"][j] for j in everything)
                                       and np.isfinite(table.epoch_seconds[timed_here]).all())
        table.attrs["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        elapsed = time.monotonic() - started
        table.attrs["build_seconds"] = seconds_before + elapsed
        history[-1]["seconds"] = elapsed
        table.attrs["build_history"] = json.dumps(history)
        table.attrs["validity"] = json.dumps(validity_stats(table))
        write_table(path, table)

    def final_checkpoint() -> bool:
        """Checkpoint until a write completes; whether an interrupt arrived meanwhile."""
        interrupted = False
        while True:
            try:
                checkpoint()
                return interrupted
            except KeyboardInterrupt:  # a Ctrl-C or SIGTERM mid-write: the write was discarded, write again
                interrupted = True

    bar = _progress(len(jobs), progress, path.name)
    last = time.monotonic()
    pool = None
    pending: dict[Any, tuple[int, int]] = {}
    shard_classes = [c for c, s in mine if s == 0]

    def costs_pass_now() -> None:
        """Re-measure the costs of every trained class (see :func:`measure_costs`), then checkpoint."""
        nonlocal pool
        if pool is None and workers > 0:
            pool = _worker_pool(workers, space, dataset, threads_per_worker)
        # (with workers=0 this process was set up as the worker before training)
        trained = [int(c) for c in np.flatnonzero(table.entries["done"].any(axis=1))]  # every entry in this file
        checkpoint()  # the pass takes a while: what is trained is on disk first
        log(f"{path}: costs pass: re-measuring the epoch time of {len(trained)} classes and the latency of their "
            f"{int(table.entries['done'][trained].sum())} entries in one sitting")
        measure_costs(table, space, recipe, seeds, trained, pool, workers, device, timing, progress, path.name)
        checkpoint()

    before_later_seeds = costs_pass == "auto"  # no job of a later seed yet: the first seed's pass is checked there

    def at_seed_boundary(job: tuple[int, int]) -> bool:
        """Whether ``job`` is this run's first job of a later seed (jobs are seed-major), where a pass may be due."""
        nonlocal before_later_seeds
        if not before_later_seeds or job[1] in (TIMING, 0, STACK):
            return False
        before_later_seeds = False
        return True

    # Whatever ends the loop (done, Ctrl-C, SIGTERM, a failed job, a killed worker), finished work is saved
    # first, before the pool shuts down: its shutdown waits for running jobs.
    try:
        if workers == 0:
            _load_worker(space.config(), dataset.to_dict(), threads_per_worker)
            for job in jobs:
                if at_seed_boundary(job) and costs_pass_due(table, shard_classes, mine):
                    costs_pass_now()
                result = _run_job(tuple(space.all_decisions[reps[job[0]]]), asdict(recipe), _seed(seeds, job), device, asdict(timing))
                _store(table, job, result, run_id)
                bar.update(1)
                if time.monotonic() - last > checkpoint_seconds:
                    checkpoint()
                    last = time.monotonic()
        else:
            pool = _worker_pool(workers, space, dataset, threads_per_worker)
            queue = iter(jobs)
            while True:
                while len(pending) < 2 * workers:
                    job = next(queue, None)
                    if job is None:
                        break
                    if at_seed_boundary(job):
                        # the first seed's jobs finish first: then every class may have a seed, and its costs pass is due
                        for future in wait(pending).done:
                            _store(table, pending.pop(future), future.result(), run_id)
                            bar.update(1)
                        if costs_pass_due(table, shard_classes, mine):
                            costs_pass_now()
                            last = time.monotonic()
                    decisions = tuple(int(d) for d in space.all_decisions[reps[job[0]]])
                    future = pool.submit(_run_job, decisions, asdict(recipe), _seed(seeds, job), device, asdict(timing))
                    pending[future] = job
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    _store(table, pending.pop(future), future.result(), run_id)
                    bar.update(1)
                if time.monotonic() - last > checkpoint_seconds:
                    checkpoint()
                    last = time.monotonic()
        if costs_pass == "now" or (costs_pass == "auto" and costs_pass_due(table, shard_classes, mine)):
            bar.close()
            costs_pass_now()
    finally:
        for future, job in pending.items():
            if future.done() and not future.cancelled() and future.exception() is None:
                _store(table, job, future.result(), run_id)
        interrupted = final_checkpoint()
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        if interrupted:
            raise KeyboardInterrupt
    stats = json.loads(table.attrs["validity"])
    log(f"{path}: {int(table.entries['done'].sum())} entries; validity: {json.dumps(stats)}")
    return path


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

    Costs measured during a build that spans sessions mix machines and loads (on the
    flagship the classes timed in one session cost twice what the same classes cost
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
    bar = _progress(len(jobs), progress, name, "costs pass", "class")
    results = {}
    try:
        if pool is None:
            for c, (_, args) in jobs.items():
                results[c] = _cost_job(*args)
                bar.update(1)
        else:
            futures = {pool.submit(_cost_job, *args): c for c, (_, args) in jobs.items()}
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


def _worker_pool(workers: int, space: SearchSpace, dataset: DatasetConfig, threads: int) -> ProcessPoolExecutor:
    """``workers`` spawned processes, each set up by :func:`_init_worker`, each ending when this process ends."""
    import multiprocessing

    from nasbench.workers import start_worker

    # Under joblib's launcher this process is a loky worker whose default start method is "loky"; spawned
    # children inherit that name and cannot resolve it, so name a standard method here.
    if multiprocessing.get_start_method(allow_none=True) not in multiprocessing.get_all_start_methods():
        multiprocessing.set_start_method("spawn", force=True)
    return ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=start_worker,
        initargs=(os.getpid(), f"{__name__}:_init_worker", space.config(), dataset.to_dict(), threads),
    )


def _seed(seeds: Sequence[int], job: tuple[int, int]) -> int | list[int]:
    """What :func:`_run_job` takes for ``job``: TIMING, the seed, or for a STACK job every seed."""
    if job[1] == STACK:
        return [int(s) for s in seeds]
    return TIMING if job[1] == TIMING else int(seeds[job[1]])


def _progress(total: int, enabled: bool, name: str, what: str = "build", unit: str = "run"):
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, desc=f"{what} {name}", unit=unit, smoothing=0.05, dynamic_ncols=True)


def check_same_timing(paths: Sequence[str | Path], tables: Sequence[TableData]) -> None:
    """Refuse inputs whose classes were timed differently: their train_time would mix clocks."""
    timed = [(p, t.attrs.get("timing")) for p, t in zip(paths, tables) if np.isfinite(t.epoch_seconds).any()]
    for p, timing in timed[1:]:
        if timing != timed[0][1]:
            raise TableError(
                f"{p} timed its classes with {timing}, {timed[0][0]} with {timed[0][1]}; refusing to merge "
                "(train_time would mix clocks): rebuild the shards with the same timing, device and threads_per_worker"
            )


def _runs(table: TableData) -> list[dict]:
    """``build_history`` of ``table``; older entries of a shard file (which lack it) get the file's shard."""
    runs = attr_json(table, "build_history", [])
    if int(table.attrs.get("num_shards", 1)) > 1:  # shards started together by a multirun differ only in it
        shard = {"shard": int(table.attrs["shard"]), "num_shards": int(table.attrs["num_shards"])}
        runs = [run if "shard" in run else {**run, **shard} for run in runs]
    return runs


def _run_key(run: dict) -> str:
    """A build run's identity: its ``run`` id, or for older entries everything but its running ``seconds``."""
    return run.get("run") or json.dumps({k: v for k, v in run.items() if k != "seconds"}, sort_keys=True)


def merged_history(tables: Sequence[TableData]) -> list[dict]:
    """The build runs of all ``tables``, each once (a run two copies share, with its longest ``seconds``), by start."""
    runs: dict[str, dict] = {}
    for t in tables:
        for run in _runs(t):
            key = _run_key(run)
            if key not in runs or run.get("seconds", 0.0) > runs[key].get("seconds", 0.0):
                runs[key] = run
    return sorted(runs.values(), key=lambda run: str(run.get("started", "")))


def merged_build_seconds(tables: Sequence[TableData], older_counted: Sequence[bool] | None = None) -> float:
    """Build time of the union of ``tables``, counting each run once.

    Runs that record their ``seconds`` are summed once each. The rest of a table's
    ``build_seconds`` belongs to its older runs (no record): a table whose older runs
    are among another's (a copy of it) adds nothing more; tables with other older
    runs add theirs, except those ``older_counted`` marks (shards an earlier merge
    into another input already counted).
    """
    older_counted = older_counted or [False] * len(tables)
    timed: dict[str, float] = {}
    lumps: dict[frozenset, float] = {}
    for t, counted_elsewhere in zip(tables, older_counted):
        untimed, counted = set(), 0.0
        for run in _runs(t):
            if "seconds" in run:
                timed[_run_key(run)] = max(timed.get(_run_key(run), 0.0), float(run["seconds"]))
                counted += float(run["seconds"])
            else:
                untimed.add(_run_key(run))
        if not counted_elsewhere:  # copies share their older runs: the longest-built copy holds them all
            runs = frozenset(untimed)
            lumps[runs] = max(lumps.get(runs, 0.0), max(float(t.attrs.get("build_seconds", 0.0)) - counted, 0.0))
    kept = [seconds for runs, seconds in lumps.items() if not any(runs < other for other in lumps)]
    return float(sum(timed.values()) + sum(kept))


def missing_shards(paths: Sequence[str | Path], tables: Sequence[TableData]) -> list[str]:
    """The shards of a sharded build that none of ``tables`` holds (by their runs' records), named after the
    given shard files (``t.shard1of2.h5``) where their names follow :func:`shard_path`."""
    missing = []
    for n in sorted({int(t.attrs.get("num_shards", 1)) for t in tables} - {1}):
        held = {int(run["shard"]) for t in tables for run in _runs(t) if run.get("num_shards") == n}
        given, i = next((Path(p), int(t.attrs["shard"])) for p, t in zip(paths, tables) if int(t.attrs.get("num_shards", 1)) == n)
        for j in sorted(set(range(n)) - held):
            name = given.name.replace(f".shard{i}of{n}.", f".shard{j}of{n}.")
            missing.append(str(given.with_name(name)) if name != given.name else f"shard {j} of {n}")
    return missing


def merge_shards(paths: Sequence[str | Path], output: str | Path, allow_partial: bool = False) -> Path:
    """Join shard files of one build into one table; refuses shards of different builds.

    An existing ``output`` of the same build is merged too, so merging adds to it. A sharded
    build's shards must all be there (given, or merged into ``output`` before), unless
    ``allow_partial``.
    """
    if not paths:
        raise ValueError("no shard files given")
    resolved = [Path(p).resolve() for p in paths]
    if len(set(resolved)) < len(resolved):
        twice = next(str(p) for p, r in zip(paths, resolved) if resolved.count(r) > 1)
        raise TableError(f"{twice} is given twice; give each shard once")
    if Path(output).resolve() in resolved:
        raise TableError(f"the output {output} is one of the shards; give a new path for the merged table")
    tables = [read_table(p) for p in paths]
    key = tables[0].attrs.get("build_key")
    for p, t in zip(paths, tables):
        if t.attrs.get("build_key") != key:
            raise TableError(f"{p} was built with another config than {paths[0]}; refusing to merge")
    names = [os.path.basename(str(p)) for p in paths]
    older_counted = None
    if Path(output).exists():
        try:
            existing = read_table(output)
        except TableError:
            existing = None
        if existing is None or existing.attrs.get("build_key") != key:
            raise TableError(f"{output} exists and is not a table of this build; refusing to overwrite it")
        # An existing table of this build is one more input: its entries are kept.
        merged_before = json.loads(existing.attrs.get("merged_from", "null") or "null") or []
        earlier = merged_before or [os.path.basename(str(output))]
        # shards an earlier merge into the output joined: their older runs' time is in the output's already
        older_counted = [False] + [os.path.basename(str(p)) in merged_before for p in paths]
        names = list(dict.fromkeys(earlier + names))
        paths, tables = [output, *paths], [existing, *tables]
    missing = missing_shards(paths, tables)
    if missing and not allow_partial:
        raise TableError(f"shards of this build missing: {', '.join(missing)}; give every shard, or pass --allow-partial "
                         "(allow_partial=True) to merge a table without their entries")
    check_same_timing(paths, tables)
    # Inputs that measured their costs in their own sittings make a table whose costs are not of one, so the
    # next nasbench-build on it (costs_pass=auto or now) measures them again. Copies of one table that timed
    # nothing since (same record, same epoch times) keep that sitting's record.
    sittings = {t.attrs.get("costs_pass") for t in tables}
    keep_costs_pass = len(sittings) == 1 and None not in sittings and all(
        np.array_equal(t.epoch_seconds, tables[0].epoch_seconds, equal_nan=True) for t in tables[1:])
    seconds = merged_build_seconds(tables, older_counted)
    history = merged_history(tables)
    merged = tables[0]
    for p, t in zip(paths[1:], tables[1:]):
        both = merged.entries["done"] & t.entries["done"]
        if both.any():
            same = all(
                np.allclose(merged.epochs[n][both], t.epochs[n][both], equal_nan=True)
                for n in EPOCH_FIELDS if n != "epoch_time"
            )
            if not same:
                raise TableError(f"{p} disagrees with another input on entries both hold; refusing to merge")
        new = t.entries["done"] & ~merged.entries["done"]
        for n in EPOCH_FIELDS:
            merged.epochs[n][new] = t.epochs[n][new]
        for n in merged.entries:
            merged.entries[n][new] = t.entries[n][new]
        timed = np.isfinite(t.epoch_seconds) & ~np.isfinite(merged.epoch_seconds)
        merged.epoch_seconds[timed] = t.epoch_seconds[timed]
    merged.attrs["build_seconds"] = seconds
    if not keep_costs_pass:
        merged.attrs.pop("costs_pass", None)
    merged.attrs["build_history"] = json.dumps(history)
    merged.attrs["shard"] = 0
    merged.attrs["num_shards"] = 1
    merged.attrs["merged_from"] = json.dumps(names)
    merged.attrs["complete"] = bool(merged.entries["done"].all() and np.isfinite(merged.epoch_seconds).all())
    merged.attrs["validity"] = json.dumps(validity_stats(merged))
    merged.attrs["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_table(output, merged)
    return Path(output)


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
