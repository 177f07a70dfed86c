"""NATS-Bench's topology API over a nasbench table: a NATS-Bench script runs after only its import changes.

::

    from nasbench.compat.nats import create      # was: from nats_bench import create

    api = create(None, "tss", fast_mode=True, verbose=False)   # the shipped flagship table
    info = api.get_more_info(1234, "mnist1d", hp="12")          # {'train-loss': ..., 'valid-accuracy': ...}
    valid_acc, latency, time_cost, total_time = api.simulate_train_eval(1234, "mnist1d", hp="12")

The methods, their arguments and the keys they return are NATS-Bench's (``nats_bench``
1.8, ``NATStopology``); the values come from the table. Where NATS-Bench's meaning
cannot carry over as it is, this is the mapping:

* **dataset**: the table's task (``"mnist1d"`` for the shipped tables), not ``cifar10``,
  ``cifar100`` or ``ImageNet16-120``.
* **splits**: the table has NATS-Bench's cifar100 / ImageNet16-120 layout, a model trained
  on the train split and evaluated on separate valid and test splits. So ``train-*`` is the
  train split (running averages over each epoch's batches, as NATS-Bench records them),
  ``valid-*`` is NATS-Bench's ``x-valid`` (the valid split), ``test-*`` its ``x-test`` (the
  test split) and ``valtest-*`` its ``ori-test``, the valid and test splits together: their
  accuracies and losses averaged with the splits' sizes as weights (exact, since both are
  means over their examples). cifar10's other layout (``cifar10-valid``, ``ori-test`` as
  the test set) does not occur.
* **hp**: the table has one training schedule, its epoch count (``"12"`` for the shipped
  tables); ``hp="200"`` is an error. ``full_train_epochs`` is that count too.
* **iepoch** is 0-based as in NATS-Bench (the table's epoch ``iepoch + 1``); ``None`` is the last.
  A table whose recipe evaluated only some epochs answers ``get_more_info`` only at those
  (``iepoch`` 0, 1, 3, 7, 11 for eval epochs 1, 2, 4, 8, 12); another is an error naming them.
* **units**: accuracies in percent and losses in nats, as NATS-Bench gives them; ``flops``
  (multiply-accumulates per example) and ``params`` in millions, as NATS-Bench's ``M`` and
  ``MB``; times in seconds.
* **times**: ``train-*-time`` and ``T-train@*`` are the table's simulated training time
  (``train_time``). The table records no evaluation time, so ``valid-``, ``test-`` and
  ``valtest-*-time`` and ``T-x-valid@*``, ``T-x-test@*``, ``T-ori-test@*`` are estimated from
  its measured forward latency: ``latency_b256 x examples / 256`` seconds per evaluation,
  one evaluation per epoch. ``simulate_train_eval`` charges, as NATS-Bench does,
  ``train-all-time + valid-per-time``.
* **latency**: forward seconds at batch 256 (``latency_b256``, NATS-Bench's ``get_latency``
  says batch 256), the mean over seeds.
* **indices** are this table's (``0 .. N-1``, see the README); the arch strings are
  NATS-Bench's, byte for byte, but index ``i`` here need not name the cell that index ``i``
  names in NATS-Bench's files: map between them through the arch string.
* **seeds**: ``is_random=True`` picks one of the seeds trained for the architecture with
  Python's :mod:`random`, as NATS-Bench does, so ``random.seed(...)`` makes a script
  repeatable; ``False`` averages the trained seeds; an int is a seed value of the table
  (``0, 1, 2``, where NATS-Bench has ``777, 888, 999``).
* ``fast_mode`` is accepted and changes nothing: the whole table is in memory after
  ``create`` (0.25 s on this 2-core machine). ``verbose=True`` prints one line when the API is created.
* ``query_index_by_arch`` returns ``-1`` for an arch string or structure that is not in the
  table, as NATS-Bench does; every other method raises a one-line :class:`ValueError`
  naming the valid values for it, and for an unknown dataset, hp, iepoch, seed or metric.
* ``find_best`` ranks the mean over seeds at the last epoch and returns the lowest index
  among ties, ``(-1, None)`` when no architecture meets ``flop_max`` / ``param_max``, as
  NATS-Bench; ``enforce_all`` is accepted and changes nothing (every architecture counts).
"""

from __future__ import annotations

import random as _random
from typing import Any

import numpy as np

from nasbench.space.base import Arch
from nasbench.table.benchmark import Benchmark, QueryResult
from nasbench.table.store import TableError

#: NATS-Bench's names of its topology search space (``create``'s ``search_space``)
TOPOLOGY_NAMES = ("tss", "topology")
#: NATS-Bench's size search space: no nasbench table has it
SIZE_NAMES = ("sss", "size")
#: NATS-Bench's ``metric_on_set`` names and the split of this table each one reads
SET_NAMES = {
    "train": "train", "valid": "valid", "x-valid": "valid", "test": "test", "x-test": "test", "ori-test": "valtest",
}
#: the batch size of the latency NATS-Bench reports, and of the one the table's ``latency_b256`` holds
LATENCY_BATCH = 256


def create(file_path_or_dir: Any = None, search_space: str = "tss", fast_mode: bool = True,
           verbose: bool = False) -> "NATStopology":
    """NATS-Bench's ``create``: the API over a table (``None``: the shipped flagship; a shipped table's name or a path)."""
    if isinstance(search_space, str) and search_space in SIZE_NAMES:
        raise TableError(
            f"search space {search_space!r} is NATS-Bench's size space, which no nasbench table holds; "
            f"valid: {', '.join(TOPOLOGY_NAMES)}"
        )
    if not isinstance(search_space, str) or search_space not in TOPOLOGY_NAMES:
        raise TableError(f"unknown search space {search_space!r}; valid: {', '.join(TOPOLOGY_NAMES)}")
    api = NATStopology(Benchmark.load(file_path_or_dir), fast_mode=fast_mode, verbose=verbose)
    if verbose:
        print(f"Created {api!r}")
    return api


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


class NATStopology:
    """NATS-Bench's ``NATStopology`` over a :class:`~nasbench.table.Benchmark` (see the module's mapping)."""

    def __init__(self, benchmark: Benchmark, fast_mode: bool = True, verbose: bool = False):
        self.benchmark = benchmark
        self.fast_mode = bool(fast_mode)
        self.verbose = bool(verbose)
        dataset = benchmark.metadata.get("dataset")
        if not isinstance(dataset, dict) or not {"name", "n_valid", "n_test"} <= set(dataset):
            raise TableError(f"{benchmark.path}: the table records no dataset name and split sizes")
        self.dataset = str(dataset["name"])
        self._n_valid, self._n_test = int(dataset["n_valid"]), int(dataset["n_test"])
        #: arch string of every index, as NATS-Bench's ``meta_archs``
        self.meta_archs: list[str] = benchmark.query_batch(np.arange(len(benchmark)), missing="nan")["arch_str"].tolist()
        self.archstr2index = {text: index for index, text in enumerate(self.meta_archs)}
        self._hp = str(benchmark.num_epochs)
        self._used_time = 0.0

    def __repr__(self) -> str:
        where = self.benchmark.path.name if self.benchmark.path is not None else "in memory"
        return (
            f"{type(self).__name__}({self.benchmark.entries_done}/{self.benchmark.done.size} entries trained, "
            f"{len(self)} architectures, dataset={self.dataset}, hp={self._hp}, file={where})"
        )

    def __len__(self) -> int:
        return len(self.meta_archs)

    def __getitem__(self, index: int) -> str:
        if not _is_int(index):
            raise TypeError(f"architecture index must be an integer in 0..{len(self) - 1}, got {index!r}")
        try:
            return self.meta_archs[index]
        except IndexError:
            raise IndexError(f"architecture index {index} out of range; valid: 0..{len(self) - 1}") from None

    # ------------------------------------------------------------------ NATS-Bench's attributes
    @property
    def used_time(self) -> float:
        """Seconds charged by :meth:`simulate_train_eval` since the last :meth:`reset_time`."""
        return self._used_time

    def reset_time(self) -> None:
        self._used_time = 0.0

    @property
    def full_train_epochs(self) -> int:
        """Epochs of the table's one schedule (NATS-Bench: 200)."""
        return self.benchmark.num_epochs

    @property
    def avaliable_hps(self) -> list[str]:  # NATS-Bench's spelling
        return [self._hp]

    @property
    def search_space_name(self) -> str:
        return "topology"

    def random(self) -> int:
        """A uniformly random index, drawn with Python's :mod:`random` as NATS-Bench does."""
        return _random.randint(0, len(self) - 1)

    # ------------------------------------------------------------------ architectures
    def arch(self, index: int) -> str:
        """The arch string of architecture ``index``."""
        return self.meta_archs[self._check_index(index)]

    def query_index_by_arch(self, arch: Any) -> int:
        """Index of ``arch``: an index, an arch string, a NATS-Bench structure (anything with ``tostr()``)
        or a nasbench ``Arch``; ``-1`` if it is not in the table, as NATS-Bench returns."""
        if _is_int(arch):
            return self._check_index(arch)
        if isinstance(arch, str):
            return self.archstr2index.get(arch, -1)
        if isinstance(arch, Arch):
            return arch.index if arch.space == self.benchmark.space else -1
        tostr = getattr(arch, "tostr", None)
        if callable(tostr):
            text = tostr()
            return self.archstr2index.get(text, -1) if isinstance(text, str) else -1
        return -1

    # ------------------------------------------------------------------ queries
    def get_more_info(self, index: Any, dataset: str, iepoch: int | None = None, hp: Any = "12",
                      is_random: bool | int = True) -> dict[str, float]:
        """Loss, accuracy (percent) and time of the train, valid, test and valid+test splits after ``iepoch``."""
        index = self._index(index)
        self._check_dataset(dataset)
        self._check_hp(hp)
        epoch = self._epoch(iepoch)
        result = self.benchmark.query(index, epoch=epoch, seed=self._seed(is_random, index))
        return self._info(result)

    def get_cost_info(self, index: Any, dataset: str, hp: Any = "12") -> dict[str, float]:
        """``flops`` and ``params`` (millions), ``latency`` (s) and training / evaluation times, mean over seeds."""
        index = self._index(index)
        self._check_dataset(dataset)
        self._check_hp(hp)
        result = self.benchmark.query(index)
        epochs = result.epoch
        info = {
            "flops": result.flops / 1e6,
            "params": result.params / 1e6,
            "latency": result.latency_b256,
            "T-train@epoch": result.train_time / epochs,
            "T-train@total": result.train_time,
        }
        for name, examples in (("x-valid", self._n_valid), ("x-test", self._n_test),
                               ("ori-test", self._n_valid + self._n_test)):
            seconds = self._eval_seconds(result, examples)
            info[f"T-{name}@epoch"] = seconds
            info[f"T-{name}@total"] = seconds * epochs
        return info

    def get_latency(self, index: Any, dataset: str, hp: Any = "12") -> float:
        """Forward seconds at batch 256, mean over seeds."""
        return self.get_cost_info(index, dataset, hp)["latency"]

    def simulate_train_eval(self, arch: Any, dataset: str, iepoch: int | None = None, hp: Any = "12",
                            account_time: bool = True) -> tuple[float, float, float, float]:
        """Train ``arch`` with a random trained seed: ``(valid_accuracy, latency, time_cost, used_time)``."""
        index = self._index(arch)
        info = self.get_more_info(index, dataset, iepoch=iepoch, hp=hp, is_random=True)
        time_cost = info["train-all-time"] + info["valid-per-time"]
        latency = self.get_latency(index, dataset, hp=hp)
        if account_time:
            self._used_time += time_cost
        return info["valid-accuracy"], latency, time_cost, self._used_time

    def find_best(self, dataset: str, metric_on_set: str, flop_max: float | None = None,
                  param_max: float | None = None, hp: Any = "12", enforce_all: bool | None = None) -> tuple[int, float | None]:
        """``(index, accuracy)`` of the most accurate architecture on ``metric_on_set`` within the bounds."""
        self._check_dataset(dataset)
        self._check_hp(hp)
        split = SET_NAMES.get(metric_on_set) if isinstance(metric_on_set, str) else None
        if split is None:
            raise TableError(f"unknown metric_on_set {metric_on_set!r}; valid: {', '.join(SET_NAMES)}")
        columns = self.benchmark.query_batch(np.arange(len(self)), missing="nan")
        accuracy = 100 * self._split(columns, split, "accuracy")
        ok = np.isfinite(accuracy)
        for name, bound in (("flops", flop_max), ("params", param_max)):
            if bound is None:
                continue
            if not isinstance(bound, (int, float, np.integer, np.floating)) or isinstance(bound, (bool, np.bool_)):
                raise TableError(f"{'flop_max' if name == 'flops' else 'param_max'} must be a number (millions) or None, got {bound!r}")
            ok &= columns[name] / 1e6 <= bound
        if not ok.any():
            return -1, None
        best = int(np.argmax(np.where(ok, accuracy, -np.inf)))
        return best, float(accuracy[best])

    # ------------------------------------------------------------------ helpers
    def _check_index(self, index: Any) -> int:
        if not _is_int(index) or not 0 <= index < len(self):
            raise TableError(f"architecture index {index!r} out of range; valid: 0..{len(self) - 1}")
        return int(index)

    def _index(self, arch: Any) -> int:
        index = self.query_index_by_arch(arch)
        if index < 0:
            raise TableError(
                f"{arch!r} is not an architecture of this table; valid: an index 0..{len(self) - 1}, "
                f"an arch string such as {self.meta_archs[-1]!r}, or a structure whose tostr() gives one"
            )
        return index

    def _check_dataset(self, dataset: Any) -> None:
        if dataset != self.dataset or not isinstance(dataset, str):
            raise TableError(f"unknown dataset {dataset!r}; valid: {self.dataset} (the table's task)")

    def _check_hp(self, hp: Any) -> None:
        if str(hp) != self._hp:
            raise TableError(f"hp {hp!r} is not in this table; valid: {self._hp!r} (its one {self._hp}-epoch schedule)")

    def _epoch(self, iepoch: Any) -> int | None:
        last = self.benchmark.num_epochs - 1
        if iepoch is None:
            return None
        if not _is_int(iepoch) or not 0 <= iepoch <= last:
            raise TableError(f"iepoch {iepoch!r} out of range; valid: 0..{last} (None for the last)")
        return self.benchmark.check_evaluated(int(iepoch) + 1, "iepoch", first=0)

    def _seed(self, is_random: Any, index: int) -> int | None:
        seeds = self.benchmark.seeds
        if isinstance(is_random, (bool, np.bool_)):
            if not is_random:
                return None
            done = self.benchmark.done[self.benchmark.class_ids[index]]
            trained = sorted(seed for seed, ok in zip(seeds, done) if ok)
            # nothing trained: the query with the mean raises the table's own error
            return _random.choice(trained) if trained else None
        if _is_int(is_random) and int(is_random) in seeds:
            return int(is_random)
        raise TableError(
            f"is_random must be True (a random trained seed), False (the mean over seeds) or a seed of the table "
            f"({', '.join(map(str, seeds))}), got {is_random!r}"
        )

    def _eval_seconds(self, result: QueryResult, examples: int) -> float:
        """Seconds of one evaluation of ``examples`` examples, estimated from the batch-256 forward latency."""
        return result.latency_b256 * examples / LATENCY_BATCH

    def _split(self, values: Any, split: str, metric: str) -> Any:
        """``metric`` of a split; ``valtest``: valid and test together, weighted by their sizes."""
        if split != "valtest":
            return _get(values, f"{split}_{metric}")
        valid, test = _get(values, f"valid_{metric}"), _get(values, f"test_{metric}")
        return (valid * self._n_valid + test * self._n_test) / (self._n_valid + self._n_test)

    def _info(self, result: QueryResult) -> dict[str, float]:
        epochs = result.epoch
        info = {
            "train-loss": result.train_loss,
            "train-accuracy": 100 * result.train_accuracy,
            "train-per-time": result.train_time / epochs,
            "train-all-time": result.train_time,
        }
        sizes = {"valid": self._n_valid, "test": self._n_test, "valtest": self._n_valid + self._n_test}
        for split, examples in sizes.items():
            seconds = self._eval_seconds(result, examples)
            info[f"{split}-loss"] = float(self._split(result, split, "loss"))
            info[f"{split}-accuracy"] = float(100 * self._split(result, split, "accuracy"))
            info[f"{split}-per-time"] = seconds
            info[f"{split}-all-time"] = seconds * epochs
        return info


def _get(values: Any, name: str) -> Any:
    """A field of a :class:`QueryResult` or a column of a ``query_batch`` dict."""
    return values[name] if isinstance(values, dict) else getattr(values, name)
