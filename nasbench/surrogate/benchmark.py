"""A surrogate served as a benchmark: the :class:`~nasbench.table.Benchmark` query API over predictions.

::

    from nasbench.surrogate import SurrogateBenchmark

    bench = SurrogateBenchmark.load()                    # the shipped surrogate/ folder
    bench.query(9527).valid_accuracy                     # same calls, same QueryResult as a table
    noisy = SurrogateBenchmark.load(noise=True, noise_seed=3)
    noisy.query(9527, seed=1).valid_accuracy             # one seed-like draw, fixed per (class, seed)

At load, every class representative is predicted once (at most a few
thousand rows) into a table of the same shape as the real one, ``(C, S, E)``,
with ``S`` the source table's seeds; queries are then the table's lookups.

* ``noise=False``: every seed holds the ensemble mean (deterministic).
  ``noise=True``: seed ``s`` holds the ``s``-th draw of
  :meth:`Surrogate.predict_seeds` with a generator seeded by ``noise_seed`` (each
  seed of a class from another ensemble member), so a search sees seed-to-seed
  noise, and ``seed=None`` is the mean over those draws (as a table's is the
  mean over its seeds).
* ``valid_accuracy`` at epoch ``e`` is the predicted curve (linear between
  the ``curve_epochs`` of the model and its last epoch, flat before the
  first); ``train_time`` at ``e`` is the predicted final time times the
  source table's median share of time spent by epoch ``e``; other predicted
  targets exist at the last epoch only (NaN before), and metrics the model
  does not predict are NaN. Accuracies are clipped to [0, 1], times,
  losses and latencies to >= 0.
* every (class, seed) entry is "done"; ``metadata["surrogate"]`` is the
  model's ``metadata.json`` (training config, source table, split, quality).
"""

from __future__ import annotations

import json
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.surrogate.model import METADATA, Surrogate, SurrogateError
from nasbench.table.benchmark import ARCH_METRICS, METRICS, Benchmark, QueryResult
from nasbench.table.store import SCHEMA_VERSION, TableData, TableError

#: where each final-epoch target goes in the table schema (``None``: the per-epoch curve is built separately)
_FIELDS = {
    "train_accuracy": "train_accuracy", "test_accuracy": "test_accuracy", "train_loss": "train_loss",
    "valid_loss": "valid_loss", "test_loss": "test_loss", "valid_accuracy": None, "train_time": None,
    "latency": "latency_b1", "latency_b256": "latency_b256",
}


def default_surrogate_path() -> Path:
    """The shipped surrogate folder (top-level ``surrogate/``, installed as ``nasbench.surrogate_models``)."""
    return Path(str(files("nasbench.surrogate_models")))


def shipped_surrogates() -> dict[str, Path]:
    """The shipped model folders by the name :meth:`SurrogateBenchmark.load` takes: the top-level one by its
    table's name (``"nb201-mnist1d"``), then each subfolder by its own (``"blocks-mnist1d"``)."""
    root = default_surrogate_path()
    names = {}
    if (root / METADATA).is_file():
        try:
            table = json.loads((root / METADATA).read_text())["table"]["file"]
        except (OSError, ValueError, KeyError, TypeError):
            table = None
        if isinstance(table, str) and table:
            names[Path(table).stem] = root
    for meta in sorted(root.glob(f"*/{METADATA}")):
        names.setdefault(meta.parent.name, meta.parent)
    return names


def _shipped_or_given(path: str | Path) -> Path:
    if not isinstance(path, (str, Path)):
        raise SurrogateError(f"a surrogate path must be a folder path or name, got {type(path).__name__} {path!r}")
    path = Path(path)
    if not path.exists() and len(path.parts) == 1:
        return shipped_surrogates().get(path.name, path)
    return path


class SurrogateBenchmark(Benchmark):
    """A :class:`~nasbench.table.Benchmark` whose values are a surrogate's predictions.

    Parameters
    ----------
    surrogate : Surrogate
        A fitted or loaded model.
    noise : bool
        Seed-like noise per (class, seed); ``False`` gives the ensemble mean for every seed.
    noise_seed : int
        Seeds the noise draws (the same seed gives the same benchmark).
    path : path or None
        The model folder, recorded as :attr:`path`.
    """

    def __init__(self, surrogate: Surrogate, noise: bool = False, noise_seed: int = 0, path: str | Path | None = None):
        if not isinstance(noise, (bool, np.bool_)):
            raise SurrogateError(f"noise must be true or false, got {noise!r}")
        if isinstance(noise_seed, (bool, np.bool_)) or not isinstance(noise_seed, (int, np.integer)):
            raise SurrogateError(f"noise_seed must be an integer, got {noise_seed!r}")
        if not isinstance(surrogate, Surrogate):
            raise SurrogateError(f"expected a fitted Surrogate, got {type(surrogate).__name__}")
        self.surrogate = surrogate
        self.noise = bool(noise)
        self.noise_seed = int(noise_seed)
        table = self._predicted_table(surrogate)
        super().__init__(table, path)

    def _predicted_table(self, model: Surrogate) -> TableData:
        space, seeds, last = model.space_, model.seeds_, model.num_epochs_
        meta = model.metadata_
        source = meta.get("table", {})
        attrs = {
            "schema_version": SCHEMA_VERSION,
            "kind": "surrogate",
            "space": json.dumps(space.config()),
            "space_signature": space.signature,
            "seeds": json.dumps(list(seeds)),
            "git_commit": source.get("git_commit") or "",
            "dataset_fingerprint": source.get("dataset_fingerprint") or "",
            "noise": json.dumps(self.noise),
            "noise_seed": self.noise_seed,
            "surrogate": json.dumps(meta, sort_keys=True),
            "complete": True,
        }
        table = TableData.empty(space, len(seeds), last, attrs)
        features = model.class_features
        draws = (model.predict_seeds(features, len(seeds), np.random.default_rng(self.noise_seed)) if self.noise
                 else [model.predict(features)] * len(seeds))
        # valid_accuracy at every epoch is a fixed linear combination of the predicted curve points
        points = [*model.curve_epochs_, last]
        weights = np.stack([np.interp(np.arange(1, last + 1), points, np.eye(len(points))[p])
                            for p in range(len(points))], axis=1)  # (E, P)
        steps = np.diff(np.concatenate([[0.0], model.time_profile_]))  # (E,) share of the time per epoch
        for s, pred in enumerate(draws):
            curve = np.stack([pred[f"valid_accuracy@{e}"] for e in model.curve_epochs_] + [pred["valid_accuracy"]], axis=1)
            table.epochs["valid_accuracy"][:, s] = np.clip(curve @ weights.T, 0.0, 1.0)
            table.epochs["epoch_time"][:, s] = np.maximum(pred["train_time"], 0.0)[:, None] * steps
            for target, field in _FIELDS.items():
                if field is None or target not in pred:
                    continue
                high = 1.0 if target.endswith("accuracy") else np.inf
                value = np.clip(pred[target], 0.0, high)
                if field in table.epochs:
                    table.epochs[field][:, s, last - 1] = value
                else:
                    table.entries[field][:, s] = value
        table.entries["done"][:] = True
        return table

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        noise: bool = False,
        noise_seed: int = 0,
        table: Any = None,
    ) -> "SurrogateBenchmark":
        """Load a model folder (default: the shipped ``surrogate/``) and predict every class.

        A bare name that does not exist in the current folder names a shipped
        model (:func:`shipped_surrogates`: ``"nb201-mnist1d"``, the default, and
        ``"blocks-mnist1d"``). ``table`` (a path or a
        :class:`~nasbench.table.Benchmark`) makes the load refuse a model
        fitted on another table (see :meth:`Surrogate.load`).
        """
        folder = default_surrogate_path() if path is None else _shipped_or_given(path)
        if not (folder / METADATA).is_file():
            shipped = ", ".join(shipped_surrogates()) or "none"
            raise SurrogateError(
                f"no surrogate at {folder}: {METADATA} is missing; fit one with nasbench-surrogate out=DIR and "
                f"pass benchmark.path=DIR, or name a shipped one (benchmark.path=NAME; shipped: {shipped})"
            )
        return cls(Surrogate.load(folder, table=table), noise=noise, noise_seed=noise_seed, path=folder)

    def __repr__(self) -> str:
        where = str(self.path) if self.path is not None else "in memory"
        return (
            f"SurrogateBenchmark({where}: {len(self)} architectures, {self.num_classes} classes, "
            f"{len(self.seeds)} seeds, {self.num_epochs} epochs, noise={self.noise})"
        )

    @cached_property
    def fitted_on(self) -> Benchmark | None:
        """The table the model was fitted on, when its file is at hand unchanged (same SHA-256); else ``None``."""
        from nasbench.surrogate.model import table_checksum

        source = self.surrogate.metadata_.get("table") or {}
        name, recorded = source.get("file"), source.get("sha256")
        if not name or not recorded:
            return None
        try:
            table = Benchmark.load(name)
            return table if table_checksum(table) == recorded else None
        except (TableError, OSError):
            return None

    @cached_property
    def evaluation_seconds(self) -> float:
        """That of the table the model was fitted on (:attr:`fitted_on`), so that searches on a surrogate
        and on its table get the same default budget; the mean predicted ``train_time`` without it."""
        table = self.fitted_on
        return table.evaluation_seconds if table is not None else self._mean_train_time()

    @property
    def evaluation_seconds_from(self) -> str:
        name = (self.surrogate.metadata_.get("table") or {}).get("file") or "an in-memory table"
        if self.fitted_on is not None:
            return f"the table the surrogate was fitted on ({name})"
        return f"the surrogate's predicted train_time (the table it was fitted on, {name}, is not at hand unchanged)"

    @property
    def predicted_metrics(self) -> tuple[str, ...]:
        """The metrics this benchmark has values for (the others are NaN)."""
        targets = self.surrogate.metadata_["training"]["targets"]
        return tuple(m for m in METRICS if m in targets or m in ARCH_METRICS)

    def best(self, metric: str = "valid_accuracy", epoch: int | None = None, seed: int | None = None) -> QueryResult:
        """As :meth:`Benchmark.best`, for the metrics the surrogate predicts."""
        if metric in METRICS and metric not in self.predicted_metrics:
            raise TableError(
                f"the surrogate does not predict {metric}; valid: {', '.join(self.predicted_metrics)} "
                "(fit it with more targets)"
            )
        return super().best(metric, epoch, seed)


__all__ = ["SurrogateBenchmark", "default_surrogate_path", "shipped_surrogates"]
