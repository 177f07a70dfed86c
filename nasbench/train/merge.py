"""Merging the shard files of one build into one table (``nasbench-merge``).

Shards of one build share its ``build_key``; each build run (a start or resume) is
counted once, however many copies of a table hold it (:func:`merged_history`,
:func:`merged_build_seconds`), and a sharded build's missing shards are named
(:func:`missing_shards`).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from nasbench.table.store import EPOCH_FIELDS, TableData, TableError, attr_json, read_table, write_table
from nasbench.train.jobs import validity_stats


def key_differences(first: dict | None, second: dict | None) -> str:
    """Where two build keys differ, in words, the first's value before the second's:
    ``recipe (archs_per_step: 8 vs unset), seeds``."""
    first, second = first or {}, second or {}

    def show(value) -> str:
        return "unset" if value is None else json.dumps(value)

    parts = []
    for name in sorted(set(first) | set(second)):
        a, b = first.get(name), second.get(name)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            fields = sorted(f for f in set(a) | set(b) if a.get(f) != b.get(f))
            parts.append(f"{name} ({', '.join(f'{f}: {show(a.get(f))} vs {show(b.get(f))}' for f in fields)})")
        else:
            parts.append(name)
    return ", ".join(parts)


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
            raise TableError(f"{p} was built with another config than {paths[0]} (differs in: "
                             f"{key_differences(attr_json(t, 'build_key'), attr_json(tables[0], 'build_key'))}); "
                             "refusing to merge")
    names = [os.path.basename(str(p)) for p in paths]
    older_counted = None
    if Path(output).exists():
        try:
            existing = read_table(output)
        except TableError:
            existing = None
        if existing is None:
            raise TableError(f"{output} exists and is not a table of this build; refusing to overwrite it")
        if existing.attrs.get("build_key") != key:
            raise TableError(f"{output} exists and is a table of another build (differs in: "
                             f"{key_differences(attr_json(existing, 'build_key'), attr_json(tables[0], 'build_key'))}, "
                             "the output's first); refusing to overwrite it")
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


__all__ = ["merge_shards", "missing_shards", "merged_history", "merged_build_seconds", "check_same_timing", "key_differences"]
