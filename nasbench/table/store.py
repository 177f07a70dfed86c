"""The HDF5 table format: one dataset per field, provenance in root attributes.

Schema (version 1); ``N`` architectures, ``C`` classes, ``S`` seeds, ``E`` epochs:

=============================  ===============  =========================================
dataset                        shape, dtype     meaning
=============================  ===============  =========================================
``arch/arch_str``              (N,) str         the space's string of each architecture
``arch/class_id``              (N,) int32       isomorphism class of each architecture
``arch/connected``             (N,) bool        output depends on the input
``arch/params``                (N,) int64       parameters of the model built from it
``arch/flops``                 (N,) int64       multiply-accumulates per sample
``classes/representative``     (C,) int64       index of the architecture trained
``metrics/<split>_<metric>``   (C, S, E) f32    split in train/valid/test, metric in
                                                loss/accuracy (accuracy a fraction)
``metrics/epoch_time``         (C, S, E) f32    training wall seconds of each epoch
``metrics/done``               (C, S) bool      entry trained (else its metrics are NaN)
``metrics/diverged``           (C, S) bool      loss became NaN/inf; curves stop there
``metrics/run``                (C, S) S32       id of the build run (``build_history``)
                                                that trained the entry; "" where not
                                                recorded (optional, absent in tables
                                                built before it)
``latency/batch1``             (C, S) f32       forward seconds at batch 1 (median)
``latency/batch256``           (C, S) f32       forward seconds at batch 256 (median)
``cost/epoch_seconds``         (C,) f32         seconds of one training epoch from the
                                                timing pass (NaN: not timed; optional,
                                                absent in tables built before it)
=============================  ===============  =========================================

Root attributes: ``schema_version``, ``build_key`` (JSON: space, recipe,
dataset and seeds -- what makes two tables comparable), ``space``,
``space_signature``, ``recipe``,
``dataset``, ``dataset_fingerprint``, ``seeds``, ``config`` (resolved YAML),
``package_version``, ``git_commit``, ``versions`` (JSON), ``machine`` (JSON),
``build_history`` (JSON: one record per build run), ``build_seconds``,
``created``, ``updated``, ``complete``, ``shard``, ``num_shards``,
``validity`` (JSON), ``timing`` (JSON: how ``cost/epoch_seconds`` was measured),
``costs_pass`` (JSON: when every cost was last re-measured in one sitting).

Writes go to a temporary file in the same folder, then ``os.replace`` (:func:`nasbench.io.atomic_path`): a reader
or a killed writer never sees half a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.io import atomic_path, plain

SCHEMA_VERSION = 1
EPOCH_FIELDS = (
    "train_loss", "train_accuracy", "valid_loss", "valid_accuracy",
    "test_loss", "test_accuracy", "epoch_time",
)
_ENTRY_PATHS = {
    "done": "metrics/done",
    "diverged": "metrics/diverged",
    "latency_b1": "latency/batch1",
    "latency_b256": "latency/batch256",
    "run": "metrics/run",
    "union": "metrics/union",
}
#: per-entry datasets that older tables lack (read as their defaults), and written only where some entry sets them
_OPTIONAL_ENTRIES = {"union": -1}
_ARCH_FIELDS = ("arch_str", "class_id", "connected", "params", "flops")


class TableError(ValueError):
    """A table file that is missing, corrupt, of another schema or of another build."""


@dataclass
class TableData:
    """A table in memory: the arrays of the schema above plus attributes."""

    arch: dict[str, np.ndarray]
    representative: np.ndarray
    epochs: dict[str, np.ndarray]  # (C, S, E)
    entries: dict[str, np.ndarray]  # (C, S)
    attrs: dict[str, Any] = field(default_factory=dict)
    epoch_seconds: np.ndarray | None = None  # (C,) timing pass; None is all NaN

    def __post_init__(self):
        if self.epoch_seconds is None:
            self.epoch_seconds = np.full(len(self.representative), np.nan, dtype=np.float32)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.epochs["valid_accuracy"].shape

    @classmethod
    def empty(cls, space, num_seeds: int, num_epochs: int, attrs: dict[str, Any]) -> "TableData":
        classes = space.num_classes
        costs = space.costs(space.all_decisions)
        arch = {
            "arch_str": np.array([space.to_string(d) for d in space.all_decisions], dtype=object),
            "class_id": space.class_ids().astype(np.int32),
            "connected": space.is_connected().copy(),
            "params": costs["params"].astype(np.int64),
            "flops": costs["flops"].astype(np.int64),
        }
        shape = (classes, num_seeds, num_epochs)
        epochs = {name: np.full(shape, np.nan, dtype=np.float32) for name in EPOCH_FIELDS}
        entries = {
            "done": np.zeros(shape[:2], dtype=bool),
            "diverged": np.zeros(shape[:2], dtype=bool),
            "latency_b1": np.full(shape[:2], np.nan, dtype=np.float32),
            "latency_b256": np.full(shape[:2], np.nan, dtype=np.float32),
            "run": np.full(shape[:2], "", dtype="U32"),
            # the first class of the union network an entry was trained in (train.archs_per_step), -1: none
            "union": np.full(shape[:2], -1, dtype=np.int32),
        }
        return cls(arch, space.representatives().astype(np.int64), epochs, entries, dict(attrs))


def build_class_order(num_classes: int) -> np.ndarray:
    """The fixed shuffled order in which ``nasbench-build`` trains classes (each seed in turn).

    A partial table holds a prefix of it (a uniform sample of the classes), plus any
    classes a build was asked to train first (``priority_file``).
    """
    return np.random.default_rng(0).permutation(num_classes)


def write_table(path: str | Path, table: TableData) -> None:
    """Write atomically (temporary file in the same folder, then rename)."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        opts = {"compression": "gzip", "compression_opts": 6, "shuffle": True}
        for name in _ARCH_FIELDS:
            data = table.arch[name]
            if name == "arch_str":
                f.create_dataset("arch/arch_str", data=data.astype(object), dtype=h5py.string_dtype(), **opts)
            else:
                f.create_dataset(f"arch/{name}", data=data, **opts)
        f.create_dataset("classes/representative", data=table.representative, **opts)
        for name, data in table.epochs.items():
            f.create_dataset(f"metrics/{name}", data=data, chunks=True, **opts)
        for name, data in table.entries.items():
            if name in _OPTIONAL_ENTRIES and (data == _OPTIONAL_ENTRIES[name]).all():
                continue
            # run ids are 32 hex digits: fixed-length ASCII reads in a fraction of variable-length strings' time
            f.create_dataset(_ENTRY_PATHS[name], data=data.astype("S32") if name == "run" else data, **opts)
        f.create_dataset("cost/epoch_seconds", data=table.epoch_seconds.astype(np.float32), **opts)
        for key, value in table.attrs.items():
            f.attrs[key] = value
        f.attrs["schema_version"] = SCHEMA_VERSION


def read_table(path: str | Path) -> TableData:
    """Read every dataset into memory, checking schema version and shapes."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise TableError(f"table file {path} does not exist")
    if not path.is_file():
        raise TableError(f"{path} is a folder, not a table file (.h5)")
    try:
        with h5py.File(path, "r") as f:
            version = f.attrs.get("schema_version")
            if version is None:
                raise TableError(f"{path} is not a nasbench table (it has no schema_version); it is {_describe_hdf5(f)}")
            if version != SCHEMA_VERSION:
                raise TableError(f"{path}: schema version {version}, this nasbench reads version {SCHEMA_VERSION}")
            arch = {name: f[f"arch/{name}"][()] for name in _ARCH_FIELDS if name != "arch_str"}
            arch["arch_str"] = f["arch/arch_str"].asstr()[()].astype(object)
            representative = f["classes/representative"][()]
            epochs = {name: f[f"metrics/{name}"][()] for name in EPOCH_FIELDS}
            entries = {name: f[p][()] for name, p in _ENTRY_PATHS.items() if name != "run" and (name not in _OPTIONAL_ENTRIES
                                                                                               or p in f)}
            for name, default in _OPTIONAL_ENTRIES.items():
                entries.setdefault(name, np.full(entries["done"].shape, default, dtype=np.int32))
            # tables built before 2026-12-06 record no run: "" for every entry
            entries["run"] = _read_ids(f["metrics/run"]) if "metrics/run" in f else np.full(entries["done"].shape, "", "U32")
            epoch_seconds = f["cost/epoch_seconds"][()] if "cost/epoch_seconds" in f else None
            attrs = {key: plain(value) for key, value in f.attrs.items()}
    except TableError:
        raise
    except KeyError as err:
        raise TableError(f"{path}: missing dataset ({err}); the file is not a complete nasbench table") from None
    except OSError as err:
        reason = " ".join(str(err).split())  # h5py's messages span lines
        raise TableError(f"{path}: not a readable HDF5 table (truncated or corrupt?): {reason}") from None
    table = TableData(arch, representative, epochs, entries, attrs, epoch_seconds)
    _check_shapes(path, table)
    return table


def _describe_hdf5(f) -> str:
    """What an HDF5 file that is no nasbench table seems to hold, in a few words."""
    import h5py

    try:
        if "keras_version" in f.attrs or "model_config" in f.attrs:
            return "a Keras model file"
        if any("pandas_type" in f[key].attrs for key in f):
            return f"a pandas HDFStore (keys: {', '.join(sorted(f)[:5])})"
        if not len(f):
            return "an empty HDF5 file"
        shown = [f"{key}/ (group)" if isinstance(f[key], h5py.Group) else f"{key} {f[key].shape} {f[key].dtype}"
                 for key in sorted(f)[:5]]
    except (KeyError, OSError):  # a dangling link: say no more than what kind of file it is
        return "an HDF5 file of another kind"
    more = f" and {len(f) - 5} more" if len(f) > 5 else ""
    return f"an HDF5 file holding {', '.join(shown)}{more}"


def _read_ids(dataset) -> np.ndarray:
    """Run ids as a ``U32`` array, from fixed-length ASCII or (as first written) variable-length strings."""
    if dataset.dtype.kind == "S":
        return dataset[()].astype("U32")
    return dataset.asstr()[()].astype("U32")


def _check_shapes(path: Path, table: TableData) -> None:
    n = len(table.arch["class_id"])
    c, s, e = table.shape
    problems = []
    if any(len(v) != n for v in table.arch.values()):
        problems.append("arch/* datasets differ in length")
    if table.representative.shape != (c,):
        problems.append("classes/representative does not match the metrics' class axis")
    if any(v.shape != (c, s, e) for v in table.epochs.values()):
        problems.append("metrics/* datasets differ in shape")
    if any(v.shape != (c, s) for v in table.entries.values()):
        problems.append("per-entry datasets do not match the metrics' shape")
    if table.epoch_seconds.shape != (c,):
        problems.append("cost/epoch_seconds does not match the metrics' class axis")
    if n and (table.arch["class_id"].min() < 0 or table.arch["class_id"].max() >= c):
        problems.append("arch/class_id holds ids outside the class axis")
    if problems:
        raise TableError(f"{path}: inconsistent table: {'; '.join(problems)}")


def build_commits(build_history: list[dict] | None, git_commit: str | None = None) -> list[str]:
    """The git commits a (resumed) build ran at, in order, once each; ``[git_commit]`` without a history."""
    commits = [run.get("git_commit") for run in build_history or []] or [git_commit]
    return list(dict.fromkeys(c for c in commits if c))


def attr_json(table: TableData, key: str, default: Any = None) -> Any:
    value = table.attrs.get(key)
    return default if value is None else json.loads(value)
