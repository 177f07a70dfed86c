"""An XGBoost surrogate of a table: features of an architecture -> its metrics.

::

    from nasbench.surrogate import Surrogate, open_table, split_classes

    bench = open_table("tables/nb201-mnist1d.h5")
    train, valid, test = split_classes(bench, (0.8, 0.1, 0.1), seed=0)
    model = Surrogate(ensemble_size=5).fit(bench, train, valid, test)
    model.predict(range(100))                        # ensemble mean, deterministic
    model.predict(range(100), noise=True, rng=np.random.default_rng(0))   # one seed-like draw
    model.predict_seeds(range(100), 3, np.random.default_rng(0))         # three, each from another member
    model.save("surrogate/")
    Surrogate.load("surrogate/", table=bench)        # refuses a model of another table

Conventions:

* the model maps ``space.features`` of a class **representative** to the
  class's metrics, like the table: every member of an isomorphism class gets
  the same prediction;
* outputs (``outputs_``): the ``targets`` at the table's last epoch (mean over
  seeds; accuracies are fractions in [0, 1], ``train_time`` is cumulative
  seconds) and ``valid_accuracy@e`` for each ``curve_epochs`` value ``e``
  below the last epoch (the curve ends in ``valid_accuracy``);
* one XGBoost regressor per output and ensemble member (``xgboost.train``
  with ``XGBRegressor``'s parameter names: ``XGBRegressor`` itself needs
  scikit-learn), early stopping on the valid classes' mean over seeds;
* **seed noise**: member ``k`` fits the values of seed ``k`` (the table's
  seed order) where that seed is trained, and a randomly drawn trained seed
  of the class otherwise (every member beyond the number of seeds draws for
  every class). ``noise=False`` returns the ensemble mean; ``noise=True``
  returns, per architecture, one member's deviation from the mean, scaled by
  a factor per output fitted on the valid classes so that the spread matches
  the table's seed-to-seed standard deviation (see ``noise_scale_``), and
  bounded by the largest deviation of any trained seed from its class mean
  among train classes of about the same mean (the same twentieth by mean,
  ``noise_clip_``), both at the class's level and where the draw lands: where
  members disagree for want of data, not seed noise, an unbounded draw would
  make up a new optimum; ``predict_seeds`` draws several seeds, each of an
  architecture from another member, so that they differ as a table's seeds do;
* saved as XGBoost's native JSON model files plus ``metadata.json`` (never
  pickle); loading checks format, file checksums and space, and with
  ``table=`` the table's SHA-256.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from tqdm import tqdm

from nasbench.io import plain, to_json
from nasbench.provenance import command_line, git_commit, library_versions, sha256_file
from nasbench.space.base import Arch, SpaceError, is_sequence
from nasbench.space.registry import space_from_config
from nasbench.table.benchmark import ENTRY_METRICS, EPOCH_METRICS, Benchmark, file_stamp

#: version of the saved model folder's layout
FORMAT_VERSION = 2  # 2: noise draws are bounded by noise_clip
#: metadata file of a saved model folder
METADATA = "metadata.json"
#: outputs the search runner needs (cost, what the search sees, ground truth)
REQUIRED_TARGETS = ("valid_accuracy", "test_accuracy", "train_time")
#: every metric a target may name (its value at the table's last epoch)
TARGETS = EPOCH_METRICS + ENTRY_METRICS
#: the default ``curve_epochs``: 1, 2, 4, 8, ... below the table's last epoch, among those it evaluated
DEFAULT_CURVE_EPOCHS = "doubling"
#: XGBoost parameters a surrogate takes (``XGBRegressor``'s names)
XGB_PARAMS = (
    "n_estimators", "early_stopping_rounds", "learning_rate", "max_depth", "max_leaves", "min_child_weight",
    "subsample", "colsample_bytree", "colsample_bylevel", "colsample_bynode", "reg_lambda", "reg_alpha", "gamma",
    "max_delta_step", "max_bin", "grow_policy", "tree_method", "objective", "n_jobs", "device",
)
_NATIVE_NAMES = {"n_jobs": "nthread"}
DEFAULT_PARAMS: dict[str, Any] = {
    "n_estimators": 1000,
    "learning_rate": 0.05,
    "max_depth": 6,
    "min_child_weight": 1.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "early_stopping_rounds": 50,
    # One thread: these boosters are small (a few thousand rows), so threads mostly wait at barriers, and on
    # a busy machine (a table build on every core) two threads made a 14 s fit take over 12 minutes.
    "n_jobs": 1,
}


class SurrogateError(ValueError):
    """Bad input for a surrogate, or a saved model that does not fit: the message says what is valid."""


class TableReplaced(SurrogateError):
    """The file a :class:`Benchmark` was read from has been replaced since."""


# ---------------------------------------------------------------------- tables
_CHECKSUMS: "weakref.WeakKeyDictionary[Benchmark, str]" = weakref.WeakKeyDictionary()


def open_table(table: str | Path | Benchmark | None) -> Benchmark:
    """A :class:`Benchmark` from a path (``None``: the shipped table) or as given, its checksum taken.

    A table rewritten while it is read and hashed (a running build checkpoints
    atomically) is read again, so the checksum recorded is that of the bytes read.
    """
    if isinstance(table, Benchmark):
        return table
    if table is not None and not isinstance(table, (str, os.PathLike)):
        raise SurrogateError(f"table must be a path or a Benchmark, got {type(table).__name__}")
    for _ in range(3):
        bench = Benchmark.load(table)  # the one to say what is wrong with a missing or bad file
        try:
            table_checksum(bench)
            return bench
        except TableReplaced:
            continue
    raise SurrogateError(f"the table {table} changed three times while being read; try again")


def table_checksum(bench: Benchmark) -> str | None:
    """SHA-256 of the bytes ``bench`` was read from (``None`` for an in-memory table).

    A table loaded by :meth:`Benchmark.load` whose file has been replaced since
    (a build checkpoint) is an error: its bytes are gone, so no checksum can vouch for it.
    """
    if bench in _CHECKSUMS:
        return _CHECKSUMS[bench]
    if bench.path is None or bench.file_stamp is None:
        return None
    digest = sha256_file(bench.path)
    if file_stamp(bench.path) != bench.file_stamp:  # replaced before or while hashing: a new file has a new stamp
        raise TableReplaced(f"{bench.path} was replaced since this Benchmark read it; load it again")
    _CHECKSUMS[bench] = digest
    return digest


def trained_classes(bench: Benchmark) -> np.ndarray:
    """Class ids with at least one trained seed, ``(m,)`` int64 ascending."""
    return np.flatnonzero(np.asarray(bench.done).any(axis=1)).astype(np.int64)


SPLIT_STREAM = 5_917_337  # entropy that keeps the split's shuffle apart from other seed-0 shuffles


def split_classes(
    bench: Benchmark, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random disjoint train / valid / test class ids among the trained classes.

    ``fractions`` are shares of the trained classes (positive, summing to at
    most 1); each split gets at least :data:`MIN_SPLIT` classes (two train
    classes to learn from, one valid class to stop on, two test classes for R2
    and Kendall tau), else a one-line error says how many trained classes the
    split needs. Returns three sorted ``(n_i,)`` int64 arrays.
    """
    fr = [float(f) for f in fractions] if is_sequence(fractions) else []
    if len(fr) != 3 or not all(0 < f < 1 for f in fr) or sum(fr) > 1 + 1e-9:
        raise SurrogateError(
            f"split fractions must be three numbers in (0, 1) (train, valid, test) summing to at most 1, got {fractions!r}"
        )
    classes = trained_classes(bench)
    sizes = _split_sizes(len(classes), fr)
    if sizes is None:
        need = next(n for n in range(max(len(classes), sum(MIN_SPLIT)), 1 << 40) if _split_sizes(n, fr))
        raise SurrogateError(
            f"the table has {len(classes)} trained classes; the split (train {fr[0]:g}, valid {fr[1]:g}, test {fr[2]:g}) "
            f"needs at least {need} (at least {MIN_SPLIT[0]} train, {MIN_SPLIT[1]} valid and {MIN_SPLIT[2]} test "
            "classes: R2 and Kendall tau on the test classes need two); train more classes or give the split other shares"
        )
    n_train, n_valid, n_test = sizes
    # A stream of its own: with default_rng(seed) alone, seed 0 shuffles exactly as the build orders classes
    # (build_class_order), so a partial table's later seeds would all land in the train split.
    order = np.random.default_rng([SPLIT_STREAM, seed]).permutation(classes)
    parts = np.split(order, [n_train, n_train + n_valid, n_train + n_valid + n_test])[:3]
    return tuple(np.sort(p).astype(np.int64) for p in parts)  # type: ignore[return-value]


#: fewest train, valid and test classes of a split (two test classes: R2 and Kendall tau need two)
MIN_SPLIT = (2, 1, 2)


def _split_sizes(n: int, fr: Sequence[float]) -> tuple[int, int, int] | None:
    """Train, valid and test sizes of ``n`` classes split by shares ``fr``; ``None`` if one falls below :data:`MIN_SPLIT`."""
    n_valid = max(MIN_SPLIT[1], int(round(fr[1] * n)))
    n_test = max(MIN_SPLIT[2], int(round(fr[2] * n)))
    n_train = min(max(MIN_SPLIT[0], int(round(fr[0] * n))), n - n_valid - n_test)
    return (n_train, n_valid, n_test) if n_train >= MIN_SPLIT[0] else None


def seed_targets(bench: Benchmark, outputs: Sequence[str]) -> np.ndarray:
    """Per-seed values of each output for every class, ``(S, C, T)`` float64; NaN where not trained.

    ``name`` is the metric at the last epoch, ``name@e`` the metric at epoch ``e``.
    """
    reps = np.asarray(bench.representatives)
    out = np.full((len(bench.seeds), len(reps), len(outputs)), np.nan)
    wanted: dict[int, list[tuple[int, str]]] = {}
    for t, name in enumerate(outputs):
        metric, _, epoch = name.partition("@")
        wanted.setdefault(int(epoch) if epoch else bench.num_epochs, []).append((t, metric))
    for s, seed in enumerate(bench.seeds):
        for epoch, columns in wanted.items():
            values = bench.query_batch(reps, epoch=epoch, seed=seed, missing="nan")
            for t, metric in columns:
                out[s, :, t] = values[metric]
    return out


NOISE_BINS = 20  #: bins by class mean of the bound on noise draws (fewer when there are < 10 classes a bin)


def seed_deviation_bound(values: np.ndarray, bins: int = NOISE_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Largest ``|seed value - class mean|`` by level of the class mean: ``(edges (T, B-1), bounds (T, B))``.

    ``values``: ``(S, n, T)`` per-seed values. Classes with two or more finite
    seeds are put in ``B`` bins by their mean (quantiles; at least 10 classes a
    bin); ``bounds[t, b]`` is the largest deviation in bin ``b`` (an empty bin,
    from tied quantiles, gets the largest of all). An output with no such class
    gets 0 (its draws are refused anyway: see ``_check_noise_calibrated``).
    """
    several = np.isfinite(values).sum(axis=0) >= 2  # (n, T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        mean = np.nanmean(values, axis=0)  # (n, T)
        deviation = np.nanmax(np.abs(values - mean), axis=0) if len(values) else np.zeros(mean.shape)
    T = values.shape[-1]
    fewest = int(several.sum(axis=0).min()) if several.size else 0  # classes with several seeds, by output
    B = max(1, min(bins, fewest // 10))
    edges, bounds = np.zeros((T, B - 1)), np.zeros((T, B))
    for t in range(T):
        rows = several[:, t]
        if not rows.any():
            continue
        edges[t] = np.quantile(mean[rows, t], np.linspace(0, 1, B + 1)[1:-1])
        which = np.searchsorted(edges[t], mean[rows, t], side="right")
        largest = deviation[rows, t].max()
        bounds[t] = [deviation[rows, t][which == b].max(initial=-1.0) for b in range(B)]
        bounds[t][bounds[t] < 0] = largest
    return edges, bounds


def time_profile(bench: Benchmark, classes: np.ndarray) -> np.ndarray:
    """Median share of the final ``train_time`` spent by each epoch's end, ``(E,)``, last entry 1."""
    reps = np.asarray(bench.representatives)[classes]
    shares = []
    for seed in bench.seeds:
        cum = np.stack([bench.query_batch(reps, epoch=e, seed=seed, missing="nan")["train_time"]
                        for e in range(1, bench.num_epochs + 1)])  # (E, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares.append(cum / cum[-1])
    stacked = np.concatenate(shares, axis=1)
    ok = np.isfinite(stacked).all(axis=0)
    if not ok.any():
        return np.arange(1, bench.num_epochs + 1) / bench.num_epochs
    profile = np.median(stacked[:, ok], axis=1)
    profile[-1] = 1.0
    return profile


# ---------------------------------------------------------------------- the model
class Surrogate:
    """An ensemble of XGBoost regressors from architecture features to table metrics.

    Parameters
    ----------
    targets : sequence of str
        Metrics predicted at the table's last epoch, from :data:`TARGETS`;
        must include :data:`REQUIRED_TARGETS`.
    curve_epochs : sequence of int, None or "doubling"
        Epochs at which ``valid_accuracy`` is also predicted (``valid_accuracy@e``);
        each must be an epoch the table evaluated (1..last, see
        :attr:`Benchmark.evaluated_epochs`), else :meth:`fit` refuses it; the
        last epoch is ``valid_accuracy`` itself. ``None``: every evaluated epoch;
        ``"doubling"`` (the default): 1, 2, 4, 8, ... among the evaluated ones.
    params : dict or None
        XGBoost parameters (``XGBRegressor`` names, :data:`XGB_PARAMS`) over
        :data:`DEFAULT_PARAMS`; ``early_stopping_rounds`` watches the valid classes.
    ensemble_size : int
        Members per output (>= 1; noise draws need >= 2).
    seed : int
        Seeds the members' XGBoost seeds (``seed + k``) and their seed draws.

    Attributes (after :meth:`fit` or :meth:`load`)
    ----------------------------------------------
    space_ : SearchSpace
    outputs_ : list of str, ``T`` output names (targets, then ``valid_accuracy@e``)
    curve_epochs_ : list of int
    num_epochs_ : int, epochs of the table
    boosters_ : list (``K``) of lists (``T``) of ``xgboost.Booster``
    noise_scale_ : (T,) float64, factor on member deviations for noise draws
    noise_clip_ : (T, B) float64, bound on a noise draw's deviation from the mean (units of the output), by level
    noise_clip_edges_ : (T, B-1) float64, the levels' inner edges on the predicted mean
    time_profile_ : (E,) float64, share of the final train_time at each epoch's end
    metadata_ : dict, what ``metadata.json`` holds
    """

    def __init__(
        self,
        targets: Sequence[str] = REQUIRED_TARGETS,
        curve_epochs: Sequence[int] | str | None = DEFAULT_CURVE_EPOCHS,
        params: dict[str, Any] | None = None,
        ensemble_size: int = 5,
        seed: int = 0,
    ):
        self.targets = targets
        self.curve_epochs = curve_epochs
        self.params = params
        self.ensemble_size = ensemble_size
        self.seed = seed
        self._check_config()

    # ------------------------------------------------------------------ config
    def _check_config(self) -> None:
        targets = self.targets
        if isinstance(targets, str) or not is_sequence(targets) or not all(isinstance(t, str) for t in targets):
            raise SurrogateError(f"targets must be a list of metric names from {', '.join(TARGETS)}; got {targets!r}")
        unknown = [t for t in targets if t not in TARGETS]
        if unknown:
            raise SurrogateError(f"unknown target {unknown[0]!r}; valid: {', '.join(TARGETS)}")
        missing = [t for t in REQUIRED_TARGETS if t not in targets]
        if missing or len(set(targets)) != len(targets):
            raise SurrogateError(
                f"targets must be distinct and include {', '.join(REQUIRED_TARGETS)} (the search runner needs them); "
                f"got {list(targets)}"
            )
        if self.curve_epochs is not None and self.curve_epochs != DEFAULT_CURVE_EPOCHS and (
            isinstance(self.curve_epochs, str) or not is_sequence(self.curve_epochs)
            or not all(_is_int(e) and e >= 1 for e in self.curve_epochs)
        ):
            raise SurrogateError(
                f"curve_epochs must be a list of epochs >= 1, null (every evaluated epoch) or "
                f"{DEFAULT_CURVE_EPOCHS!r} (1, 2, 4, 8, ...), got {self.curve_epochs!r}"
            )
        if not _is_int(self.ensemble_size) or self.ensemble_size < 1:
            raise SurrogateError(f"ensemble_size must be an integer >= 1, got {self.ensemble_size!r}")
        if not _is_int(self.seed):
            raise SurrogateError(f"seed must be an integer, got {self.seed!r}")
        if self.params is not None and not isinstance(self.params, dict):
            raise SurrogateError(f"params must be a dict of XGBoost parameters, got {type(self.params).__name__}")
        unknown = sorted(set(self.params or {}) - set(XGB_PARAMS))
        if unknown:
            raise SurrogateError(f"unknown XGBoost parameter {unknown[0]!r}; valid: {', '.join(XGB_PARAMS)}")
        params = self.xgb_params()
        if not _is_int(params.get("n_estimators")) or params["n_estimators"] < 1:
            raise SurrogateError(f"n_estimators must be an integer >= 1, got {params.get('n_estimators')!r}")
        stop = params.get("early_stopping_rounds")
        if stop is not None and (not _is_int(stop) or stop < 1):
            raise SurrogateError(f"early_stopping_rounds must be an integer >= 1 or null (no early stopping), got {stop!r}")
        rate = params.get("learning_rate", 0.3)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
            raise SurrogateError(f"learning_rate must be a number in (0, 1], got {rate!r}")

    def _curve(self, bench: Benchmark) -> list[int]:
        """The epochs below the table's last at which ``valid_accuracy`` is predicted; one-line error for an
        explicit epoch beyond the table or one it did not evaluate."""
        last, evaluated = bench.num_epochs, bench.evaluated_epochs
        if self.curve_epochs is None:
            return [e for e in evaluated if e < last]
        if self.curve_epochs == DEFAULT_CURVE_EPOCHS:
            return [e for e in evaluated if e < last and e & (e - 1) == 0]
        for e in self.curve_epochs:
            if not 1 <= int(e) <= last:
                raise SurrogateError(f"curve_epochs: epoch {int(e)} out of range; valid: 1..{last}")
            if int(e) not in evaluated:
                raise SurrogateError(
                    f"curve_epochs: epoch {int(e)} was not evaluated by the table (its recipe's eval_epochs); "
                    f"valid: {', '.join(map(str, evaluated))}"
                )
        return sorted({int(e) for e in self.curve_epochs if int(e) < last})

    def xgb_params(self) -> dict[str, Any]:
        """The XGBoost parameters of every member (``XGBRegressor`` names; the seed is set per member)."""
        merged = {**DEFAULT_PARAMS, **(self.params or {})}
        return {k: v for k, v in merged.items() if v is not None}

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        table: str | Path | Benchmark,
        train_classes: Iterable[int],
        valid_classes: Iterable[int],
        test_classes: Iterable[int] | None = None,
        progress: bool = False,
    ) -> "Surrogate":
        """Fit the ensemble on ``train_classes``, early-stopping on ``valid_classes``.

        ``table`` is a :class:`Benchmark` or a table path. Class ids index the
        table's classes; ``test_classes`` is only recorded (held out for
        :mod:`nasbench.surrogate.quality`). The splits must be disjoint and
        the train and valid classes trained for at least one seed. ``progress``:
        a bar (stderr) over the boosters, ``ensemble_size`` x outputs.
        """
        self._check_config()
        bench = open_table(table)
        space, last = bench.space, bench.num_epochs
        train = _class_array(train_classes, bench, "train_classes")
        valid = _class_array(valid_classes, bench, "valid_classes")
        test = _class_array(test_classes, bench, "test_classes", allow_empty=True) if test_classes is not None else None
        named = [("train", train), ("valid", valid)] + ([("test", test)] if test is not None else [])
        for i, (a, x) in enumerate(named):
            for b, y in named[i + 1:]:
                if np.intersect1d(x, y).size:
                    raise SurrogateError(f"{a} and {b} classes overlap (class {int(np.intersect1d(x, y)[0])}); splits must be disjoint")
        untrained = np.setdiff1d(np.concatenate([train, valid]), trained_classes(bench))
        if untrained.size:
            raise SurrogateError(f"class {int(untrained[0])} is not trained for any seed; fit on trained classes only")

        curve = self._curve(bench)
        if not curve and last > 1:
            raise SurrogateError(
                f"curve_epochs {_shown(self.curve_epochs)} has no epoch below the table's last ({last}), so the "
                f"surrogate would answer every epoch with the final accuracy; give epochs in 1..{last - 1}, "
                "or null for every epoch"
            )
        outputs = list(self.targets) + [f"valid_accuracy@{e}" for e in curve]
        values = seed_targets(bench, outputs)  # (S, C, T)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: untrained classes
            mean = np.nanmean(values, axis=0)  # (C, T)
        features = space.features(space.all_decisions[np.asarray(bench.representatives)])
        params = self.xgb_params()
        boosters, best = [], []
        bar = tqdm(total=self.ensemble_size * len(outputs), desc="fit surrogate", unit="booster", disable=not progress)
        for k in range(self.ensemble_size):
            member = _member_values(values, np.asarray(bench.done), k, np.random.default_rng([int(self.seed), k]))
            row_boosters, row_best = [], []
            for t, name in enumerate(outputs):
                rows = train[np.isfinite(member[train, t])]
                vrows = valid[np.isfinite(mean[valid, t])]
                if not len(rows) or not len(vrows):
                    which = "train" if not len(rows) else "valid"
                    raise SurrogateError(f"no {which} class has a finite value of {name}; use more (or other) classes")
                booster = _train(params, features[rows], member[rows, t], features[vrows], mean[vrows, t],
                                 seed=int(self.seed) + k)
                row_boosters.append(booster)
                row_best.append(booster.num_boosted_rounds())
                bar.update(1)
            boosters.append(row_boosters)
            best.append(row_best)
        bar.close()

        self._cache = self._class_features = None  # predictions and features of a previous fit
        self.space_ = space
        self.outputs_ = outputs
        self.curve_epochs_ = curve
        self.num_epochs_ = last
        self.seeds_ = tuple(bench.seeds)
        self.boosters_ = boosters
        self.num_features_ = features.shape[1]
        self.time_profile_ = time_profile(bench, train)
        self.noise_clip_edges_, self.noise_clip_ = seed_deviation_bound(values[:, train])
        self.noise_scale_, noise_info = self._calibrate(values[:, valid], features[valid])
        noise_info["clip"] = {name: {"edges": self.noise_clip_edges_[t].tolist(), "bounds": self.noise_clip_[t].tolist()}
                              for t, name in enumerate(outputs)}
        meta = bench.metadata
        self.metadata_ = {
            "format_version": FORMAT_VERSION,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "training": {
                "targets": list(self.targets),
                "curve_epochs": curve,
                "outputs": outputs,
                "params": params,
                "ensemble_size": int(self.ensemble_size),
                "seed": int(self.seed),
                "num_trees": best,
            },
            "table": {
                "file": None if bench.path is None else bench.path.name,
                "sha256": table_checksum(bench),
                "schema_version": plain(meta.get("schema_version")),
                "build_key": meta.get("build_key"),
                "git_commit": meta.get("git_commit"),
                "dataset_fingerprint": meta.get("dataset_fingerprint"),
                "seeds": list(bench.seeds),
                "num_epochs": last,
                "entries_done": int(bench.entries_done),
                "complete": bool(bench.complete),
            },
            "space": {"config": space.config(), "signature": space.signature, "num_features": int(features.shape[1])},
            "split": {
                "train": train.tolist(),
                "valid": valid.tolist(),
                "test": None if test is None else test.tolist(),
            },
            "noise": noise_info,
            "time_profile": self.time_profile_.tolist(),
            "versions": library_versions(),
            "git_commit": git_commit(),
            "command": command_line(),
            "quality": {},
        }
        return self

    def _calibrate(self, values: np.ndarray, features: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """Scale per output so that the draws' spread matches the seed std on these classes.

        ``values``: ``(S, n, T)`` per-seed values; ``features``: ``(n, F)``. The
        root mean square over classes of the draws' std (bounded by
        ``noise_clip_``, so found by bisection) equals the table's.
        """
        members = self._members(features)  # (K, n, T)
        finite = np.isfinite(values).sum(axis=0) >= 2  # (n, T)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            true_std = np.nanstd(values, axis=0, ddof=1)  # (n, T)
        scale = np.ones(len(self.outputs_))
        info: dict[str, Any] = {"classes_with_two_seeds": int(finite[:, 0].sum()), "scale": {}, "calibrated": {},
                                "reachable": {}}
        for t, name in enumerate(self.outputs_):
            rows = finite[:, t]
            true_var = float(np.mean(true_std[rows, t] ** 2)) if rows.any() else float("nan")
            pred_var = float(np.mean(members[:, rows, t].std(axis=0) ** 2)) if rows.any() else float("nan")
            ok = self.ensemble_size > 1 and np.isfinite(true_var) and pred_var > 0
            if ok:
                column = members[:, rows][..., [t]]  # (K, r, 1)
                column_mean = column.mean(axis=0)

                def draw_var(factor: float) -> float:
                    draws = self._bounded(column_mean, factor * (column - column_mean), outputs=[t])
                    return float(np.mean(draws[..., 0].std(axis=0) ** 2))
                unbounded = np.sqrt(true_var / pred_var)
                found = _bisect_increasing(draw_var, true_var, start=unbounded)
                # the bound can hold the draws below the seeds' spread (with two seeds their std exceeds
                # their deviation from the mean): then keep the unbounded factor and say so
                scale[t] = unbounded if found is None else found
                info["reachable"][name] = found is not None
            info["scale"][name] = float(scale[t])
            info["calibrated"][name] = bool(ok)
        return scale, info

    # ------------------------------------------------------------------ predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "boosters_"):
            raise SurrogateError("this Surrogate is not fitted; call fit() or Surrogate.load() first")

    @property
    def class_features(self) -> np.ndarray:
        """Features of every class representative, ``(C, F)`` float32 (cached)."""
        self._check_fitted()
        if getattr(self, "_class_features", None) is None:
            space = self.space_
            self._class_features = space.features(space.all_decisions[space.representatives()])
        return self._class_features

    def _indices(self, archs: Any) -> np.ndarray:
        """``(n,)`` architecture indices of any encodings (one architecture or a sequence)."""
        space = self.space_
        n = len(space)
        if isinstance(archs, (str, Arch, int, np.integer)) and not isinstance(archs, (bool, np.bool_)):
            archs = [archs]
        elif isinstance(archs, range):
            archs = np.arange(archs.start, archs.stop, archs.step)
        if isinstance(archs, np.ndarray) and archs.ndim == 1 and archs.dtype.kind in "iu":
            if archs.size and (archs.min() < 0 or archs.max() >= n):
                bad = archs[(archs < 0) | (archs >= n)][0]
                raise SurrogateError(f"architecture index {bad} out of range; valid: 0..{n - 1}")
            return archs.astype(np.intp)
        if not hasattr(archs, "__iter__") or isinstance(archs, (bytes, dict)):
            raise SurrogateError(
                f"cannot read architectures from {type(archs).__name__}; valid: (n, {self.num_features_}) float "
                "features, or a sequence of architectures (indices, arch strings, Arch objects, ...)"
            )
        try:
            return np.fromiter((space.parse(a).index for a in archs), dtype=np.intp)
        except SpaceError as err:
            raise SurrogateError(f"{err} (this surrogate's space: {space!r})") from None

    def _members(self, features: np.ndarray) -> np.ndarray:
        """Every member's prediction, ``(K, n, T)`` float64."""
        out = np.empty((len(self.boosters_), len(features), len(self.outputs_)))
        if len(features):
            for k, row in enumerate(self.boosters_):
                for t, booster in enumerate(row):
                    out[k, :, t] = booster.inplace_predict(features)
        return out

    def predict_members(self, X: Any) -> np.ndarray:
        """Every member's prediction for ``X`` (see :meth:`predict`), ``(K, n, T)`` float64 in ``outputs_`` order."""
        self._check_fitted()
        if isinstance(X, np.ndarray) and X.dtype.kind == "f":
            if X.ndim != 2 or X.shape[1] != self.num_features_:
                raise SurrogateError(
                    f"features must have shape (n, {self.num_features_}) for this {self.space_.kind} space "
                    f"(space.features), got {X.shape}; or pass architectures (indices, arch strings, Arch objects)"
                )
            return self._members(X.astype(np.float32, copy=False))
        return self._class_members(np.asarray(self.space_.class_ids())[self._indices(X)])

    def _class_members(self, classes: np.ndarray) -> np.ndarray:
        """Members' predictions for class ids, ``(K, n, T)``; each class runs through the boosters once, then is cached."""
        if getattr(self, "_cache", None) is None:
            shape = (len(self.boosters_), self.space_.num_classes, len(self.outputs_))
            self._cache, self._cached = np.empty(shape), np.zeros(shape[1], dtype=bool)
        need = np.unique(classes[~self._cached[classes]])
        if need.size:
            self._cache[:, need] = self._members(self.class_features[need])
            self._cached[need] = True
        return self._cache[:, classes]

    def predict(self, X: Any, noise: bool = False, rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
        """Predicted metrics of ``X``: a dict from output name to ``(n,)`` float64.

        ``X`` is ``(n, F)`` float features (``space.features``) or
        architectures: one (an index, an arch string or an :class:`Arch`) or a
        sequence of them (an int array takes a fast path). A list, tuple or
        array is always a batch, as in ``Benchmark.query_batch``: pass one
        decision vector as ``space.parse(decisions)``. Architectures are
        predicted through their class representative. ``noise=False``: the ensemble mean (deterministic).
        ``noise=True``: per architecture, one member drawn by ``rng``
        (a ``numpy.random.Generator``), its deviation from the mean scaled by
        ``noise_scale_`` and bounded (see ``_bounded``): one seed-like draw,
        the same member for every output.
        """
        if not isinstance(noise, (bool, np.bool_)):
            raise SurrogateError(f"noise must be True or False, got {noise!r}")
        if noise and not isinstance(rng, np.random.Generator):
            raise SurrogateError(f"noise=True needs rng=numpy.random.Generator, got {type(rng).__name__}")
        members = self.predict_members(X)
        mean = members.mean(axis=0)
        if noise:
            self._check_noise_draws(len(members))
            mean = self._draw(members, mean, rng.integers(len(members), size=mean.shape[0]))
        return {name: mean[:, t] for t, name in enumerate(self.outputs_)}

    def predict_seeds(self, X: Any, num_seeds: int, rng: np.random.Generator) -> list[dict[str, np.ndarray]]:
        """``num_seeds`` seed-like draws of ``X``: a list of what :meth:`predict` returns with ``noise=True``.

        Each draw on its own is one :meth:`predict` draw (a member drawn uniformly, so the
        calibrated scale holds), but the seeds of one architecture take different members, a
        random order of them per architecture (a new order after every ``K`` seeds): drawn
        independently, two of three seeds took the same member, and so the same value, for
        about half the classes, where a table's seeds tie only by chance.
        """
        if not isinstance(rng, np.random.Generator):
            raise SurrogateError(f"seed draws need rng=numpy.random.Generator, got {type(rng).__name__}")
        if isinstance(num_seeds, (bool, np.bool_)) or not isinstance(num_seeds, (int, np.integer)) or num_seeds < 1:
            raise SurrogateError(f"num_seeds must be an integer >= 1, got {num_seeds!r}")
        members = self.predict_members(X)
        self._check_noise_draws(len(members))
        mean = members.mean(axis=0)
        k, n = len(members), mean.shape[0]
        orders = [rng.permuted(np.tile(np.arange(k), (n, 1)), axis=1) for _ in range(-(-num_seeds // k))]
        picks = np.concatenate(orders, axis=1)  # (n, >= num_seeds)
        draws = [self._draw(members, mean, picks[:, s]) for s in range(num_seeds)]
        return [{name: draw[:, t] for t, name in enumerate(self.outputs_)} for draw in draws]

    def _draw(self, members: np.ndarray, mean: np.ndarray, pick: np.ndarray) -> np.ndarray:
        """One seed-like draw ``(n, T)``: member ``pick[i]``'s deviation from ``mean`` for architecture ``i``, scaled
        by ``noise_scale_`` and bounded (see :meth:`_bounded`)."""
        deviation = self.noise_scale_ * (members[pick, np.arange(mean.shape[0])] - mean)
        return mean + self._bounded(mean, deviation)

    def _check_noise_draws(self, members: int) -> None:
        if members < 2:
            raise SurrogateError("noise=True needs an ensemble of at least 2 members; this surrogate has 1")
        self._check_noise_calibrated()

    def _check_noise_calibrated(self) -> None:
        """Refuse seed-like draws whose scale was never fitted to the table's seed noise."""
        calibrated = self.metadata_.get("noise", {}).get("calibrated", {})
        missing = [name for name in self.outputs_ if not calibrated.get(name, False)]
        if missing:
            raise SurrogateError(
                f"noise=True needs a seed-noise model calibrated on classes with two or more trained seeds, but "
                f"{', '.join(missing)} had none in this surrogate's valid split; use noise=False, or refit on a "
                f"table with more seeds trained"
            )

    def noise_bound(self, level: np.ndarray, outputs: Sequence[int] | None = None) -> np.ndarray:
        """The table's largest seed deviation at each level, ``(..., T)`` for values ``(..., T)``.

        ``outputs``: the output indices the last axis holds (default: all, in order).
        """
        outputs = range(len(self.outputs_)) if outputs is None else outputs
        return np.stack([self.noise_clip_[t][np.searchsorted(self.noise_clip_edges_[t], level[..., i], side="right")]
                         for i, t in enumerate(outputs)], axis=-1)

    def _bounded(self, mean: np.ndarray, deviation: np.ndarray, outputs: Sequence[int] | None = None) -> np.ndarray:
        """Scaled deviations ``(..., n, T)`` from the ensemble mean ``(n, T)``, bounded at both ends.

        The bound is the smaller of :meth:`noise_bound` at the mean and at the
        value the unbounded draw would reach, so a draw neither leaves its
        class's level by more than the table's seeds do nor reaches far into a
        level where they stray less. (So the draws' spread can shrink as the
        scale grows; the calibration's bisection finds one crossing.)
        """
        bound = np.minimum(self.noise_bound(mean, outputs), self.noise_bound(mean + deviation, outputs))
        return np.clip(deviation, -bound, bound)

    def predict_std(self, X: Any) -> dict[str, np.ndarray]:
        """Standard deviation of ``noise=True`` draws (over the members, as drawn): output name -> ``(n,)``."""
        members = self.predict_members(X)
        mean = members.mean(axis=0)
        spread = self._bounded(mean, self.noise_scale_ * (members - mean)).std(axis=0)
        return {name: spread[:, t] for t, name in enumerate(self.outputs_)}

    # ------------------------------------------------------------------ save / load
    def _file_names(self) -> list[list[str]]:
        return [[f"member{k}-{name.replace('@', '-epoch')}.json" for name in self.outputs_]
                for k in range(len(self.boosters_))]

    def save(self, path: str | Path) -> Path:
        """Write the boosters (XGBoost JSON) and ``metadata.json`` into folder ``path``; returns it.

        A new folder is written in a temporary folder beside it and renamed
        into place. Into an existing folder (such as the shipped
        ``surrogate/`` package) the files are moved one by one with
        ``metadata.json`` last; it lists every file's SHA-256, so a reader
        never silently mixes two models.
        """
        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path if path.is_dir() else path.parent, prefix=f".{path.name}.tmp-"))
        try:
            files = {}
            for row, names in zip(self.boosters_, self._file_names()):
                for booster, name in zip(row, names):
                    booster.save_model(str(tmp / name))
                    files[name] = sha256_file(tmp / name)
            meta = {**self.metadata_, "files": files, "noise_scale": self.noise_scale_.tolist(),
                    "noise_clip": self.noise_clip_.tolist(), "noise_clip_edges": self.noise_clip_edges_.tolist()}
            (tmp / METADATA).write_text(to_json(meta))
            if not path.exists():
                os.replace(tmp, path)
                return path
            if not path.is_dir():
                raise SurrogateError(f"{path} exists and is not a folder; pass a folder for the model")
            stale = {p.name for p in path.glob("member*-*.json")} - set(files)
            for name in files:
                os.replace(tmp / name, path / name)
            os.replace(tmp / METADATA, path / METADATA)
            for name in stale:
                (path / name).unlink(missing_ok=True)
            return path
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, path: str | Path, table: str | Path | Benchmark | None = None) -> "Surrogate":
        """Read a model folder written by :meth:`save`.

        Raises :class:`SurrogateError` (one line) for a missing or unreadable
        folder, another format version, a file whose checksum differs from
        ``metadata.json``, a space this nasbench rebuilds differently, or,
        with ``table`` (a path or a :class:`Benchmark`), a model fitted on
        another table (SHA-256 of the file) or space.
        """
        import xgboost

        path = Path(path)
        meta_path = path / METADATA
        if not meta_path.is_file():
            raise SurrogateError(f"no surrogate at {path}: {METADATA} is missing; fit one with nasbench-surrogate")
        try:
            meta = json.loads(meta_path.read_text())
            version = meta["format_version"]
        except (ValueError, KeyError, TypeError):
            raise SurrogateError(f"{meta_path} is not a surrogate's metadata (unreadable JSON or no format_version)") from None
        if version != FORMAT_VERSION:
            raise SurrogateError(f"{path}: surrogate format version {version!r}; this nasbench reads {FORMAT_VERSION}: "
                                 "refit it with nasbench-surrogate")
        try:
            space = space_from_config(meta["space"]["config"])
            training = meta["training"]
            files = meta["files"]
            noise = {key: np.asarray(meta[key], dtype=np.float64) for key in ("noise_scale", "noise_clip", "noise_clip_edges")}
        except (KeyError, TypeError, ValueError) as err:
            raise SurrogateError(f"{meta_path}: bad or missing field ({err})") from None
        if space.signature != meta["space"].get("signature"):
            raise SurrogateError(
                f"{path}: the model's space rebuilds with signature {space.signature}, "
                f"recorded {meta['space'].get('signature')}; it was written by an incompatible nasbench"
            )
        if table is not None:
            bench = open_table(table)
            if bench.space.signature != space.signature:
                raise SurrogateError(
                    f"{path} models another space ({meta['space']['config']}) than the table's ({bench.space.config()})"
                )
            digest, recorded = table_checksum(bench), meta["table"].get("sha256")
            if digest is None or recorded is None:
                raise SurrogateError(
                    f"cannot check that {path} was fitted on this table: "
                    f"{'the table is in memory' if digest is None else 'the model was fitted on an in-memory table'}, "
                    "with no file checksum; give a table file"
                )
            if digest != recorded:
                raise SurrogateError(
                    f"{path} was fitted on another table (sha256 {str(recorded)[:12]}..., this table's is "
                    f"{str(digest)[:12]}...); refit with nasbench-surrogate table=<this table>"
                )
        model = cls(
            targets=training["targets"], curve_epochs=training["curve_epochs"],
            params=training["params"],
            ensemble_size=training["ensemble_size"], seed=training["seed"],
        )
        model.space_ = space
        model.outputs_ = list(training["outputs"])
        model.curve_epochs_ = list(training["curve_epochs"])
        model.num_epochs_ = int(meta["table"]["num_epochs"])
        model.seeds_ = tuple(meta["table"]["seeds"])
        model.num_features_ = int(meta["space"]["num_features"])
        model.time_profile_ = np.asarray(meta["time_profile"], dtype=np.float64)
        model.noise_scale_ = noise["noise_scale"]
        model.noise_clip_ = noise["noise_clip"].reshape(len(model.outputs_), -1)
        model.noise_clip_edges_ = noise["noise_clip_edges"].reshape(len(model.outputs_), -1)
        model.boosters_ = []
        for names in [[f"member{k}-{n.replace('@', '-epoch')}.json" for n in model.outputs_]
                      for k in range(model.ensemble_size)]:
            row = []
            for name in names:
                file = path / name
                if not file.is_file() or name not in files or sha256_file(file) != files[name]:
                    raise SurrogateError(
                        f"{path}: model file {name} is missing or differs from {METADATA} (partly written or edited?); "
                        "fit the surrogate again"
                    )
                booster = xgboost.Booster()
                booster.load_model(str(file))
                row.append(booster)
            model.boosters_.append(row)
        model.metadata_ = {k: v for k, v in meta.items() if k not in ("files", "noise_scale", "noise_clip", "noise_clip_edges")}
        return model

    def __repr__(self) -> str:
        if not hasattr(self, "boosters_"):
            return f"Surrogate(targets={list(self.targets)}, ensemble_size={self.ensemble_size}, unfitted)"
        return (
            f"Surrogate({self.space_!r}: {len(self.outputs_)} outputs x {len(self.boosters_)} members, "
            f"{self.num_epochs_} epochs)"
        )


# ---------------------------------------------------------------------- helpers
def _bisect_increasing(f: Callable[[float], float], target: float, start: float, steps: int = 60) -> float | None:
    """``x >= 0`` with ``f(x)`` crossing ``target`` (``f`` nondecreasing, or nearly: bisection finds one crossing).

    ``None`` when ``f`` stays below ``target`` up to ``2**20 * start``.
    """
    low, high = 0.0, max(start, 1e-12)
    for _ in range(20):  # widen: a bound on the draws may need a larger factor than the unbounded one
        if f(high) >= target:
            break
        low, high = high, 2 * high
    else:
        return None
    for _ in range(steps):
        middle = (low + high) / 2
        low, high = (middle, high) if f(middle) < target else (low, middle)
    return high


def _member_values(values: np.ndarray, done: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Targets of member ``k``, ``(C, T)``: seed ``k``'s values where trained, else a random trained seed per class.

    ``values``: ``(S, C, T)``; ``done``: ``(C, S)`` bool.
    """
    num_seeds, num_classes = values.shape[:2]
    scores = rng.random((num_classes, num_seeds))
    scores[~done] = -1.0
    pick = scores.argmax(axis=1)  # a random trained seed (seed 0 where none is trained: NaN rows)
    if k < num_seeds:
        pick = np.where(done[:, k], k, pick)
    return values[pick, np.arange(num_classes)]


def _train(params: dict[str, Any], x: np.ndarray, y: np.ndarray, x_valid: np.ndarray, y_valid: np.ndarray,
           seed: int):
    """One booster, ``XGBRegressor(**params, random_state=seed).fit(x, y, eval_set=[(x_valid, y_valid)])``.

    Written against ``xgboost.train`` (``XGBRegressor`` needs scikit-learn);
    with early stopping the booster keeps only the trees up to the best round.
    """
    import xgboost

    native = {_NATIVE_NAMES.get(k, k): v for k, v in params.items() if k not in ("n_estimators", "early_stopping_rounds")}
    native.setdefault("objective", "reg:squarederror")
    native["seed"] = seed
    train, valid = xgboost.DMatrix(x, label=y), xgboost.DMatrix(x_valid, label=y_valid)
    booster = xgboost.train(
        native, train, num_boost_round=int(params.get("n_estimators", 100)), evals=[(valid, "valid")],
        early_stopping_rounds=params.get("early_stopping_rounds"), verbose_eval=False,
    )
    if params.get("early_stopping_rounds"):
        booster = booster[: booster.best_iteration + 1]
    return booster


def _shown(curve_epochs: Any) -> str:
    return repr(curve_epochs) if isinstance(curve_epochs, str) else str(list(curve_epochs))


def _class_array(classes: Any, bench: Benchmark, what: str, allow_empty: bool = False) -> np.ndarray:
    try:
        arr = np.asarray(list(classes) if not isinstance(classes, np.ndarray) else classes)
    except TypeError:
        raise SurrogateError(f"{what} must be a sequence of class ids, got {type(classes).__name__}") from None
    if arr.size == 0 and allow_empty:
        return arr.astype(np.int64)
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
        raise SurrogateError(f"{what} must be a non-empty 1-D sequence of integer class ids, got {arr!r:.80}")
    if arr.min() < 0 or arr.max() >= bench.num_classes:
        raise SurrogateError(f"{what} holds a class id out of range; valid: 0..{bench.num_classes - 1}")
    if len(np.unique(arr)) != len(arr):
        raise SurrogateError(f"{what} holds a class id twice")
    return np.sort(arr).astype(np.int64)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


__all__ = [
    "Surrogate", "SurrogateError", "open_table", "split_classes", "table_checksum", "trained_classes",
    "seed_targets", "REQUIRED_TARGETS", "TARGETS", "DEFAULT_PARAMS", "DEFAULT_CURVE_EPOCHS",
]
