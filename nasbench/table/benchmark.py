"""Query a table by any encoding of an architecture, fast and without torch.

::

    from nasbench import Benchmark

    bench = Benchmark.load()                 # the default shipped table (DEFAULT_TABLE)
    Benchmark.load("blocks-mnist1d")         # another shipped table, by name (or its file name, blocks-mnist1d.h5)
    r = bench.query("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|")
    r.valid_accuracy, r.train_time, r.params
    bench.query(11153, epoch=4, seed=0)      # any encoding: index, string, ops, one-hot, matrix, Arch, ...
    bench.query_batch(range(100), as_frame=True)
    bench.best("valid_accuracy")

Conventions:

* accuracies are **fractions** in ``[0, 1]`` (not percent), losses are mean
  cross-entropy, times are seconds;
* ``epoch`` is 1-based and defaults to the last epoch of the table;
* ``seed`` is a seed *value* from the table's ``seeds`` attribute (e.g. 0, 1, 2);
  ``seed=None`` averages over the seeds trained for that class (``num_seeds``
  says how many). A run that diverged has NaN metrics from the epoch it
  diverged on; the mean ignores those NaN (and is NaN only if every seed is),
  and ``diverged`` is set;
* ``train_time`` is the simulated time to train to ``epoch``: ``epoch`` times
  the class's epoch seconds from the build's timing pass (CPU time of a fixed
  number of steps, :mod:`nasbench.train.timing`), the same for every seed; in a
  table where some trained class is untimed (built before the timing pass) it
  is the cumulative sum of the wall times recorded during training instead.
  :attr:`Benchmark.time_source` says which; ``latency`` / ``latency_b256`` are
  forward seconds at batch 1 / 256 (mean over seeds); ``params`` / ``flops``
  are the queried architecture's own analytic costs;
* metrics are stored per isomorphism class: every architecture of a class
  returns the numbers of the class representative, which was trained.

Everything is read into numpy once at :meth:`Benchmark.load`, and the mean
over seeds is precomputed, so a query is a few list and array lookups.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from nasbench.space.base import Arch, SearchSpace, SpaceError
from nasbench.space.registry import space_from_config
from nasbench.table.store import TableData, TableError, read_table

#: name of the default table among those shipped in the ``nasbench.tables`` package (file ``<name>.h5``):
#: what ``Benchmark.load()``, ``benchmark=table`` (``path: null``) and so ``nasbench-search`` and
#: ``nasbench-compare`` load; the one home of that choice
DEFAULT_TABLE = "nb201-mnist1d"

#: metrics with one value per epoch (``train_time`` is the cumulative ``epoch_time``)
EPOCH_METRICS = (
    "train_accuracy", "valid_accuracy", "test_accuracy",
    "train_loss", "valid_loss", "test_loss", "train_time",
)
#: metrics with one value per trained (class, seed) entry
ENTRY_METRICS = ("latency", "latency_b256")
#: analytic metrics of the architecture itself
ARCH_METRICS = ("params", "flops")
#: every metric :meth:`Benchmark.best` and :meth:`Benchmark.optimum` accept
METRICS = EPOCH_METRICS + ENTRY_METRICS + ARCH_METRICS
#: metrics where larger is better; every other metric is minimised
MAXIMISE = frozenset({"train_accuracy", "valid_accuracy", "test_accuracy"})

_PACKED = EPOCH_METRICS + ENTRY_METRICS  # column order of the packed value arrays


class MissingEntryError(TableError):
    """The queried (class, seed) entry has not been trained yet (the table is partial)."""


def resolve_table_path(path: str | os.PathLike | None) -> Path:
    """The file a table argument names: ``None`` is the default shipped table, a bare name a shipped table.

    A shipped table is named by its file name (``nb201-mnist1d.h5``) or by that name without
    ``.h5`` (``nb201-mnist1d``); a file of that name in the current folder comes first.
    """
    if path is None:
        path = default_table_path()
        if not path.exists():
            raise TableError(f"no table is shipped at {path}; build one with nasbench-build or pass the path of a table file")
        return path
    if not isinstance(path, (str, os.PathLike)):
        raise TableError(f"a table is given by a file path or a shipped table's name, got {type(path).__name__} {path!r}")
    path = Path(path)
    if not path.exists() and len(path.parts) == 1:  # a bare name: a shipped table
        shipped = shipped_tables()
        name = table_name(path)
        if name not in shipped:
            names = ", ".join(f"{n} (the default)" if n == DEFAULT_TABLE else n for n in shipped)
            raise TableError(f"table {path} is neither a file here nor a shipped table; shipped tables: "
                             f"{names or 'none'} (each by that name or as <name>.h5)")
        path = shipped[name]
    return path


def shipped_tables() -> dict[str, Path]:
    """The tables shipped in the ``nasbench.tables`` package, by name (file name without ``.h5``), sorted."""
    folder = default_table_path().parent
    return {table_name(p): p for p in sorted(folder.glob("*.h5"))}


def table_name(path: str | os.PathLike) -> str:
    """The name of a table file, as reports and folders call it: its file name without ``.h5``."""
    return Path(path).name.removesuffix(".h5")


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """``(inode, size, mtime_ns)`` of a file: another value means another version of it."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def default_table_path() -> Path:
    """Path of the default shipped table, :data:`DEFAULT_TABLE` (it may not exist in a source checkout)."""
    return Path(str(files("nasbench.tables") / f"{DEFAULT_TABLE}.h5"))


@dataclass(frozen=True)
class QueryResult:
    """Metrics of one architecture at one epoch, for one seed or the mean over seeds.

    Accuracies are fractions in ``[0, 1]``; losses are mean cross-entropy;
    ``train_time``, ``latency`` and ``latency_b256`` are seconds.
    """

    arch_str: str
    index: int
    class_id: int
    epoch: int  # 1-based
    seed: int | None  # None: mean over the trained seeds
    num_seeds: int  # seeds trained for this class (a diverged seed drops out of the mean from its NaN epochs)
    train_accuracy: float
    valid_accuracy: float
    test_accuracy: float
    train_loss: float
    valid_loss: float
    test_loss: float
    train_time: float  # seconds of training up to and including `epoch`
    latency: float  # forward seconds at batch 1
    latency_b256: float  # forward seconds at batch 256
    params: int
    flops: int  # multiply-accumulates per sample
    diverged: bool  # a seed behind these numbers diverged (NaN from then on)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_new_object = object.__new__
_set_attribute = object.__setattr__


def _result(arch_str: str, index: int, class_id: int, epoch: int, seed: int | None, num_seeds: int,
            row: list[float], params: int, flops: int, diverged: bool) -> QueryResult:
    # The dataclass __init__ sets 18 frozen fields one by one (several us);
    # filling __dict__ in one step keeps a query at a few us.
    train_acc, valid_acc, test_acc, train_loss, valid_loss, test_loss, train_time, lat, lat_b256 = row
    result = _new_object(QueryResult)
    _set_attribute(result, "__dict__", {
        "arch_str": arch_str, "index": index, "class_id": class_id, "epoch": epoch, "seed": seed,
        "num_seeds": num_seeds, "train_accuracy": train_acc, "valid_accuracy": valid_acc,
        "test_accuracy": test_acc, "train_loss": train_loss, "valid_loss": valid_loss, "test_loss": test_loss,
        "train_time": train_time, "latency": lat, "latency_b256": lat_b256, "params": params, "flops": flops,
        "diverged": diverged,
    })
    return result


class Benchmark:
    """A lookup table in memory. Build it with :meth:`load`."""

    def __init__(self, table: TableData, path: str | Path | None = None):
        self.path = None if path is None else Path(path)
        self.file_stamp: tuple[int, int, int] | None = None  # set by load: the file version read
        where = str(self.path) if self.path is not None else "table"
        self._attrs = dict(table.attrs)
        self._space = _space_of(table, where)
        self._seeds = _seeds_of(table, where)
        num_classes, num_seeds, num_epochs = table.shape
        if len(self._seeds) != num_seeds:
            raise TableError(f"{where}: 'seeds' lists {len(self._seeds)} seeds but the metrics hold {num_seeds}")
        if num_epochs < 1:
            raise TableError(f"{where}: the table holds no epochs")
        self._n = len(self._space)
        self._num_epochs = num_epochs
        self._last = num_epochs - 1

        # ---- architectures: check them against the rebuilt space
        strs = table.arch["arch_str"]
        if len(strs) != self._n:
            raise TableError(
                f"{where}: the table holds {len(strs)} architectures, its space ({self._space!r}) has {self._n}"
            )
        _check_strings(self._space, strs, where)
        class_ids = np.asarray(table.arch["class_id"], dtype=np.intp)
        reps = np.asarray(table.representative, dtype=np.intp)
        if len(reps) and (reps.min() < 0 or reps.max() >= self._n
                          or not np.array_equal(class_ids[reps], np.arange(num_classes))):
            raise TableError(f"{where}: classes/representative does not match arch/class_id")
        self._class_ids = _frozen(class_ids)
        self._reps = _frozen(reps)
        self._strs = strs.tolist()  # Python str per index: O(1) for single queries
        self._strs_arr = _frozen(np.asarray(strs, dtype=object))
        self._str_index = dict(zip(self._strs, range(self._n)))
        self._class_list = class_ids.tolist()
        self._params = _frozen(np.asarray(table.arch["params"], dtype=np.int64))
        self._flops = _frozen(np.asarray(table.arch["flops"], dtype=np.int64))
        self._params_list = self._params.tolist()
        self._flops_list = self._flops.tolist()
        self._connected = _frozen(np.asarray(table.arch["connected"], dtype=bool))

        # ---- values: (F, S, C, E) float64 per metric and seed, NaN where not trained
        done = np.asarray(table.entries["done"], dtype=bool)
        diverged = np.asarray(table.entries["diverged"], dtype=bool) & done
        values = np.empty((len(_PACKED), num_seeds, num_classes, num_epochs), dtype=np.float64)
        for k, name in enumerate(EPOCH_METRICS[:-1]):
            values[k] = table.epochs[name].transpose(1, 0, 2)
        epoch_seconds = np.asarray(table.epoch_seconds, dtype=np.float64)
        trained = done.any(axis=1)
        self._time_source = "timed" if trained.any() and np.isfinite(epoch_seconds[trained]).all() else "measured"
        if self._time_source == "timed":
            timed = epoch_seconds[:, None, None] * np.arange(1, num_epochs + 1)  # (C, 1, E)
            cumulative = np.where(np.isfinite(table.epochs["epoch_time"]), timed, np.nan)  # NaN after divergence
        else:
            cumulative = np.cumsum(table.epochs["epoch_time"], axis=2, dtype=np.float64)
        values[6] = cumulative.transpose(1, 0, 2)
        values[7] = table.entries["latency_b1"].T[:, :, None]
        values[8] = table.entries["latency_b256"].T[:, :, None]
        values[:, ~done.T] = np.nan
        self._values = _frozen(values)

        # ---- mean over trained seeds, ignoring NaN after a divergence: (F, C, E)
        total = np.zeros((len(_PACKED), num_classes, num_epochs))
        count = np.zeros((len(_PACKED), num_classes, num_epochs), dtype=np.int64)
        for s in range(num_seeds):
            finite = np.isfinite(values[:, s])
            np.add(total, values[:, s], out=total, where=finite)
            count += finite
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count  # 0 / 0 is NaN: no trained seed
        self._mean = _frozen(np.ascontiguousarray(mean.transpose(1, 2, 0)))  # (C, E, F): one row per query
        self._mean_efc = _frozen(np.ascontiguousarray(mean.transpose(2, 0, 1)))  # (E, F, C): batch gathers

        self._done = _frozen(done)
        self._diverged = _frozen(diverged)
        self._num_done = _frozen(done.sum(axis=1).astype(np.int64))
        self._num_done_list = self._num_done.tolist()
        self._diverged_any = _frozen(diverged.any(axis=1))
        self._diverged_any_list = self._diverged_any.tolist()
        self._seed_pos = {seed: pos for pos, seed in enumerate(self._seeds)}
        self._entries_done = int(done.sum())

    @cached_property
    def _done_list(self) -> list[list[bool]]:
        return self._done.tolist()

    @cached_property
    def _diverged_list(self) -> list[list[bool]]:
        return self._diverged.tolist()

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | Path | None = None) -> "Benchmark":
        """Read a table file (default: the default shipped table, :data:`DEFAULT_TABLE`) into memory.

        A bare name that does not exist in the current folder names a shipped
        table, with or without ``.h5`` (``"blocks-mnist1d"``, ``"blocks-mnist1d.h5"``);
        an unknown one is a one-line :class:`TableError` listing the shipped names.

        Raises :class:`TableError` for a missing, truncated, corrupt or
        foreign file, or one whose architectures disagree with its space.
        :attr:`file_stamp` identifies the file version read.
        """
        path = resolve_table_path(path)
        for _ in range(3):  # a running build replaces the file atomically: read one version, whole
            stamp = file_stamp(path)
            bench = cls(read_table(path), path)
            if file_stamp(path) == stamp:
                bench.file_stamp = stamp
                return bench
        raise TableError(f"{path} changed three times while being read; try again")

    def __repr__(self) -> str:
        where = str(self.path) if self.path is not None else "in memory"
        return (
            f"Benchmark({where}: {self._n} architectures, {self.num_classes} classes, "
            f"{len(self._seeds)} seeds, {self._num_epochs} epochs{self._evaluated_note()}, "
            f"{self._entries_done}/{self._done.size} entries done)"
        )

    def _evaluated_note(self) -> str:
        evaluated = self.evaluated_epochs
        if len(evaluated) == self._num_epochs:
            return ""
        return f" (valid and test at epochs {', '.join(map(str, evaluated))})"

    def __len__(self) -> int:
        return self._n

    # ------------------------------------------------------------------ properties
    @property
    def space(self) -> SearchSpace:
        return self._space

    @property
    def seeds(self) -> tuple[int, ...]:
        """Seed values of the table, in its seed-axis order."""
        return self._seeds

    @property
    def num_epochs(self) -> int:
        return self._num_epochs

    @property
    def evaluated_epochs(self) -> tuple[int, ...]:
        """The 1-based epochs whose valid and test metrics the table holds: every epoch, unless its recipe's
        ``eval_epochs`` chose some (the other epochs' valid and test metrics are NaN)."""
        try:
            chosen = json.loads(self._attrs.get("recipe") or "{}").get("eval_epochs")
        except (TypeError, ValueError):
            chosen = None
        return tuple(range(1, self._num_epochs + 1)) if not chosen else tuple(int(e) for e in chosen)

    def check_evaluated(self, epoch: int, name: str = "epoch", first: int = 1) -> int:
        """``epoch`` (1-based) if the table evaluated valid and test after it, else a one-line :class:`TableError`.

        The message speaks the caller's unit: ``name`` for the argument, counted from ``first``
        (0 for NATS-Bench's ``iepoch``).
        """
        evaluated = self.evaluated_epochs
        if epoch not in evaluated:
            shift = first - 1
            raise TableError(f"{name} {epoch + shift} was not evaluated: this table's recipe measured valid and test "
                             f"only after some epochs (eval_epochs); valid {name}: "
                             f"{', '.join(str(e + shift) for e in evaluated)}")
        return epoch

    def epoch_seconds(self, arch: Any) -> float:
        """Simulated seconds one training epoch of ``arch`` costs: its ``train_time`` to the last epoch
        divided by the number of epochs (mean over seeds). One-shot strategies convert measured time
        at this rate (see ``nasbench.search.oneshot.common.calibrate``)."""
        return float(self.query(arch, epoch=self.num_epochs).train_time) / self.num_epochs

    @cached_property
    def evaluation_seconds(self) -> float:
        """Mean simulated seconds of one full evaluation: ``train_time`` to the last epoch (mean over seeds)
        of an architecture drawn uniformly from the space, over the trained classes.

        A search budget is given as a number of these (``budget.evaluations``), so that the
        default budget buys about the same number of evaluations on every table.
        """
        return self._mean_train_time()

    def _mean_train_time(self) -> float:
        times = self.query_batch(np.arange(self._n), missing="nan")["train_time"]
        finite = times[np.isfinite(times)]
        if not len(finite):
            raise MissingEntryError("no trained class has a train_time to the last epoch: the table has no evaluation cost")
        return float(finite.mean())

    @property
    def evaluation_seconds_from(self) -> str:
        """Where :attr:`evaluation_seconds` comes from, in words (for reports)."""
        return "the table"

    @property
    def num_classes(self) -> int:
        return len(self._reps)

    @property
    def class_ids(self) -> np.ndarray:
        """Class of every architecture, ``(N,)``, as stored in the table."""
        return self._class_ids

    @property
    def representatives(self) -> np.ndarray:
        """Index of the trained architecture of every class, ``(C,)``."""
        return self._reps

    @property
    def connected(self) -> np.ndarray:
        return self._connected

    @property
    def done(self) -> np.ndarray:
        """``(num_classes, num_seeds)`` bool: which (class, seed) entries are trained."""
        return self._done

    @property
    def entries_done(self) -> int:
        return self._entries_done

    @property
    def complete(self) -> bool:
        """Every (class, seed) entry is trained."""
        return self._entries_done == self._done.size

    @property
    def time_source(self) -> str:
        """``"timed"``: ``train_time`` comes from the timing pass; ``"measured"``: from training wall times."""
        return self._time_source

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """The table's root attributes, JSON-valued ones decoded."""
        out = {}
        for key, value in self._attrs.items():
            if isinstance(value, str) and value[:1] in "[{":
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            out[key] = value
        return out

    # ------------------------------------------------------------------ argument checks
    def index_of(self, arch: Any) -> int:
        """Index of an architecture given in any encoding the space parses."""
        if type(arch) is int:
            if 0 <= arch < self._n:
                return arch
        elif type(arch) is str:
            index = self._str_index.get(arch)
            if index is not None:
                return index
        return self._space.parse(arch).index

    def _epoch(self, epoch: Any) -> int:
        if epoch is None:
            return self._last
        if isinstance(epoch, (bool, np.bool_)) or not isinstance(epoch, (int, np.integer)):
            raise TableError(
                f"epoch must be an integer 1..{self._num_epochs} or None (the last), got {epoch!r}"
            )
        if not 1 <= epoch <= self._num_epochs:
            raise TableError(f"epoch {epoch} out of range; valid: 1..{self._num_epochs} (None for the last)")
        return int(epoch) - 1

    def _seed(self, seed: Any) -> int:
        pos = None
        if not isinstance(seed, (bool, np.bool_)) and isinstance(seed, (int, np.integer)):
            pos = self._seed_pos.get(int(seed))
        if pos is None:
            raise TableError(
                f"seed {seed!r} is not in the table; valid: {', '.join(map(str, self._seeds))} "
                "(None for the mean over seeds)"
            )
        return pos

    def _metric(self, metric: Any, allowed: tuple[str, ...] = METRICS) -> str:
        if metric not in allowed:
            raise TableError(f"unknown metric {metric!r}; valid: {', '.join(allowed)}")
        return metric

    def _missing(self, index: int, class_id: int, seed: Any) -> MissingEntryError:
        which = "for any seed" if seed is None else f"for seed {seed}"
        return MissingEntryError(
            f"architecture {index} (class {class_id}) is not trained {which} yet: the table is partial, "
            f"{self._entries_done} of {self._done.size} (class, seed) entries are done"
        )

    # ------------------------------------------------------------------ queries
    def query(self, arch: Any, epoch: int | None = None, seed: int | None = None) -> QueryResult:
        """Metrics of ``arch`` (any encoding) at ``epoch`` (1-based, default last).

        ``seed=None`` averages over the trained seeds; raises
        :class:`MissingEntryError` (a :class:`TableError`) if the entry is not trained.
        At an epoch the table did not evaluate (not in :attr:`evaluated_epochs`) the
        valid and test metrics are NaN; the train metrics and costs are there.
        """
        index = self.index_of(arch)
        e = self._last if epoch is None else self._epoch(epoch)
        c = self._class_list[index]
        if seed is None:
            n = self._num_done_list[c]
            if not n:
                raise self._missing(index, c, None)
            return _result(
                self._strs[index], index, c, e + 1, None, n, self._mean[c, e].tolist(),
                self._params_list[index], self._flops_list[index], self._diverged_any_list[c],
            )
        s = self._seed(seed)
        if not self._done_list[c][s]:
            raise self._missing(index, c, seed)
        return _result(
            self._strs[index], index, c, e + 1, self._seeds[s], 1, self._values[:, s, c, e].tolist(),
            self._params_list[index], self._flops_list[index], self._diverged_list[c][s],
        )

    def indices(self, archs: Iterable[Any] | np.ndarray) -> np.ndarray:
        """Indices ``(n,)`` of a sequence of architectures in any encodings."""
        if isinstance(archs, (str, bytes, Arch)) or not hasattr(archs, "__iter__"):
            raise TableError(
                f"expected a sequence of architectures (indices, strings, ...), got {type(archs).__name__}; "
                "use query() for one architecture"
            )
        if not isinstance(archs, np.ndarray):
            archs = list(archs)
            if not all(type(a) is int for a in archs):
                return np.fromiter((self.index_of(a) for a in archs), dtype=np.intp, count=len(archs))
            archs = np.array(archs, dtype=np.intp)
        if archs.ndim == 1 and archs.dtype.kind in "iu":
            if len(archs) and (archs.min() < 0 or archs.max() >= self._n):
                bad = archs[(archs < 0) | (archs >= self._n)][0]
                raise SpaceError(f"architecture index {bad} out of range; valid: 0..{self._n - 1}")
            return archs.astype(np.intp)  # a copy: the result must not alias the argument
        if archs.ndim == 0:
            raise TableError("expected a sequence of architectures, got a 0-d array; use query() for one")
        return np.fromiter((self.index_of(a) for a in archs), dtype=np.intp, count=len(archs))

    def query_batch(
        self,
        archs: Iterable[Any] | np.ndarray,
        epoch: int | None = None,
        seed: int | None = None,
        as_frame: bool = False,
        missing: str = "raise",
    ):
        """Vectorised :meth:`query`: a dict of ``(n,)`` arrays (or a pandas DataFrame).

        Keys are the fields of :class:`QueryResult` except ``epoch`` and
        ``seed`` (the arguments). An int array of indices takes a pure numpy
        path. ``missing="raise"`` (default) raises :class:`MissingEntryError`
        if any entry is not trained; ``missing="nan"`` gives NaN metrics and
        ``num_seeds`` 0 for those.
        """
        if missing not in ("raise", "nan"):
            raise TableError(f"missing must be 'raise' or 'nan', got {missing!r}")
        idx = self.indices(archs)
        e = self._epoch(epoch)
        cls = np.take(self._class_ids, idx)
        if seed is None:
            columns = np.take(self._mean_efc[e], cls, axis=1)
            num_seeds = np.take(self._num_done, cls)
            ok = num_seeds > 0
            diverged = np.take(self._diverged_any, cls)
        else:
            s = self._seed(seed)
            columns = np.take(self._values[:, s, :, e], cls, axis=1)
            ok = np.take(self._done[:, s], cls)
            num_seeds = ok.astype(np.int64)
            diverged = np.take(self._diverged[:, s], cls)
        if missing == "raise" and not ok.all():
            first = int(np.argmin(ok))
            err = self._missing(int(idx[first]), int(cls[first]), seed)
            raise MissingEntryError(
                f"{int((~ok).sum())} of the {len(idx)} architectures asked for are not trained; first: {err} "
                "(pass missing='nan' to get NaN for them)"
            )
        out: dict[str, np.ndarray] = {
            "arch_str": np.take(self._strs_arr, idx),
            "index": idx,
            "class_id": cls,
            "num_seeds": num_seeds,
        }
        for k, name in enumerate(_PACKED):
            out[name] = columns[k]
        out["params"] = np.take(self._params, idx)
        out["flops"] = np.take(self._flops, idx)
        out["diverged"] = diverged
        if as_frame:
            import pandas as pd

            return pd.DataFrame(out)
        return out

    def to_dataframe(self, epoch: int | None = None, seed: int | None = None):
        """A pandas DataFrame of every architecture (row ``i`` is index ``i``); NaN where not trained."""
        return self.query_batch(np.arange(self._n), epoch, seed, as_frame=True, missing="nan")

    def curve(self, arch: Any, metric: str = "valid_accuracy", seed: int | None = None) -> np.ndarray:
        """``metric`` at every epoch, ``(num_epochs,)`` float64."""
        k = _PACKED.index(self._metric(metric, EPOCH_METRICS))
        index = self.index_of(arch)
        c = self._class_list[index]
        if seed is None:
            if not self._num_done_list[c]:
                raise self._missing(index, c, None)
            return self._mean[c, :, k].copy()
        s = self._seed(seed)
        if not self._done_list[c][s]:
            raise self._missing(index, c, seed)
        return self._values[k, s, c].copy()

    def _class_values(self, metric: str, epoch: int | None, seed: int | None) -> np.ndarray:
        """``metric`` per class, NaN where the class has no trained entry."""
        self._metric(metric)
        e = self._epoch(epoch)
        if seed is None:
            trained = self._num_done > 0
        else:
            s = self._seed(seed)
            trained = self._done[:, s]
        if metric in ARCH_METRICS:
            costs = (self._params if metric == "params" else self._flops)[self._reps]
            return np.where(trained, costs.astype(np.float64), np.nan)
        k = _PACKED.index(metric)
        return (self._mean[:, e, k] if seed is None else self._values[k, s, :, e]).copy()

    def best(self, metric: str = "valid_accuracy", epoch: int | None = None, seed: int | None = None) -> QueryResult:
        """The :class:`QueryResult` of the best trained class by ``metric`` (mean over seeds by default).

        Accuracies are maximised, every other metric minimised; the result is
        the class representative (the architecture that was trained).
        """
        values = self._class_values(metric, epoch, seed)
        if not np.isfinite(values).any():
            raise MissingEntryError(
                f"no trained entry has a value for {metric} at epoch {self._epoch(epoch) + 1}: "
                f"{self._entries_done} of {self._done.size} (class, seed) entries are done"
            )
        c = int(np.nanargmax(values) if metric in MAXIMISE else np.nanargmin(values))
        return self.query(int(self._reps[c]), epoch, seed)

    def optimum(self, metric: str = "valid_accuracy", epoch: int | None = None, seed: int | None = None) -> float:
        """The best value of ``metric`` over the trained classes (see :meth:`best`)."""
        return float(getattr(self.best(metric, epoch, seed), metric))


# ---------------------------------------------------------------------- helpers
def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


def _space_of(table: TableData, where: str) -> SearchSpace:
    raw = table.attrs.get("space")
    if not raw:
        raise TableError(f"{where}: no 'space' attribute; not a table written by nasbench-build")
    try:
        space = space_from_config(json.loads(raw))
    except ValueError as err:  # bad JSON or SpaceError
        raise TableError(f"{where}: cannot rebuild the search space from the 'space' attribute: {err}") from None
    stored = table.attrs.get("space_signature")
    if stored and stored != space.signature:
        raise TableError(
            f"{where}: space signature {stored} differs from the rebuilt space's {space.signature}; "
            "the table was written by an incompatible nasbench"
        )
    return space


def _seeds_of(table: TableData, where: str) -> tuple[int, ...]:
    try:
        seeds = json.loads(table.attrs.get("seeds") or "null")
    except ValueError:
        seeds = None
    if not isinstance(seeds, list) or not all(type(s) is int for s in seeds) or len(set(seeds)) != len(seeds):
        raise TableError(f"{where}: the 'seeds' attribute must be a JSON list of distinct integers")
    return tuple(seeds)


def _check_strings(space: SearchSpace, strs: np.ndarray, where: str) -> None:
    """Check the table's arch strings against the space at a sample of indices.

    The sample holds, for every decision and option, the architecture with
    only that decision set (so any change of decision or option order shows),
    the last index and an even spread of 64 others. Generating all N
    strings would take most of the load time.
    """
    n = len(space)
    radix = space.index_of(np.eye(space.num_decisions, dtype=np.int64))
    radix = np.atleast_1d(radix)
    probes = [o * int(r) for r, k in zip(radix, space.num_choices) for o in range(k)]
    probes += np.linspace(0, n - 1, min(n, 64)).astype(np.int64).tolist()
    probes = sorted(set(probes))
    for index, decisions in zip(probes, space.decisions_of(np.array(probes)).tolist()):
        expected = space.to_string(decisions)
        if strs[index] != expected:
            raise TableError(
                f"{where}: arch/arch_str[{index}] is {strs[index]!r} but the table's space gives {expected!r}; "
                "the table was written by an incompatible nasbench"
            )

