"""Is the surrogate right? Its predictions against the exhaustive table on held-out classes.

* :func:`regression_metrics`: R^2, RMSE, Kendall tau (tau-b), Spearman rho and
  the **sparse Kendall tau** of NAS-Bench-301 (``kendall_tau_1_dec`` in
  ``nasbench301/surrogate_models/utils.py``: accuracies in percent,
  predictions rounded to one decimal, truth left as is, so that differences
  below 0.1 points do not count as ranking errors);
* :func:`evaluate`: those metrics per output on a set of classes, truth = the
  table's mean over seeds;
* :func:`noise_check`: the spread of ``noise=True`` draws against the table's
  per-class standard deviation over seeds;
* :func:`seed_agreement`: the same metrics for one training seed of the table
  as the "prediction" of the mean of its other seeds -- what a tabular
  benchmark with a single seed would score, the noise ceiling against which
  a surrogate's numbers are read (NAS-Bench-301 makes the same comparison);
* :func:`top_quarter`: the classes where searches look (top quarter by valid accuracy);
* :func:`split_agreement`: valid accuracy as the "prediction" of the same
  runs' test accuracy -- the evaluation noise alone, available with one seed;
* :func:`oracle_ceiling`: the rank correlation a perfect predictor of each
  class's expected accuracy would reach against the table's mean over seeds,
  which is itself noisy (simulated from the table's own seed spread);
* :func:`fraction_study`: the metrics as the training set grows (1% .. 80% of
  the trained classes; valid and test classes fixed);

The report of all of it (README.md, CSV, JSON and PNG figures) is :func:`nasbench.report.surrogate.write_report`.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from nasbench.surrogate.model import Surrogate, SurrogateError, seed_targets, trained_classes
from nasbench.table.benchmark import Benchmark

DEFAULT_FRACTIONS = (0.01, 0.05, 0.1, 0.25, 0.5, 0.8)
#: outputs whose sparse Kendall tau is defined (accuracies, rounded in percent)
_ACCURACY = ("accuracy",)


def sparse_kendall_tau(true: np.ndarray, pred: np.ndarray, decimals: int = 1) -> float:
    """NAS-Bench-301's sparse Kendall tau of accuracies given as fractions in [0, 1].

    ``kendalltau(100 * true, round(100 * pred, decimals))``: ties made by the
    rounding are not ranking errors. NaN for fewer than two values.
    """
    from scipy.stats import kendalltau

    if len(true) < 2:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input: NaN
        return float(kendalltau(100 * np.asarray(true), np.round(100 * np.asarray(pred), decimals)).statistic)


def regression_metrics(true: np.ndarray, pred: np.ndarray, accuracy: bool = True) -> dict[str, float]:
    """``n``, ``r2``, ``rmse``, ``kendall_tau``, ``spearman`` and ``sparse_kendall_tau`` of ``(n,)`` arrays.

    Rows where the truth is NaN are dropped. Undefined values (fewer than
    two rows, constant input) are NaN; ``sparse_kendall_tau`` is NaN unless
    ``accuracy`` (the rounding is in percentage points).
    """
    from scipy.stats import kendalltau, spearmanr

    true, pred = np.asarray(true, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    keep = np.isfinite(true) & np.isfinite(pred)
    true, pred = true[keep], pred[keep]
    out = {"n": int(len(true)), "r2": float("nan"), "rmse": float("nan"), "kendall_tau": float("nan"),
           "spearman": float("nan"), "sparse_kendall_tau": float("nan")}
    if not len(true):
        return out
    out["rmse"] = float(np.sqrt(np.mean((true - pred) ** 2)))
    if len(true) < 2:
        return out
    total = np.sum((true - true.mean()) ** 2)
    out["r2"] = float(1 - np.sum((true - pred) ** 2) / total) if total > 0 else float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input: NaN
        out["kendall_tau"] = float(kendalltau(true, pred).statistic)
        out["spearman"] = float(spearmanr(true, pred).statistic)
    if accuracy:
        out["sparse_kendall_tau"] = sparse_kendall_tau(true, pred)
    return out


def seed_truth(model: Surrogate, bench: Benchmark, classes: np.ndarray) -> np.ndarray:
    """Per-seed values ``(S, n, T)`` of the model's outputs for ``classes``, after checking the table fits."""
    if bench.space.signature != model.space_.signature:
        raise SurrogateError(f"the table's space ({bench.space!r}) is not the surrogate's ({model.space_!r})")
    return seed_targets(bench, model.outputs_)[:, classes]


def evaluate(model: Surrogate, bench: Benchmark, classes: Sequence[int]) -> dict[str, dict[str, float]]:
    """:func:`regression_metrics` of every output on ``classes`` (noise-free prediction vs mean over seeds)."""
    classes = np.asarray(classes, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # untrained classes: NaN truth, dropped
        truth = np.nanmean(seed_truth(model, bench, classes), axis=0)
    pred = model.predict(np.asarray(bench.representatives)[classes])
    return {
        name: regression_metrics(truth[:, t], pred[name], accuracy=name.split("@")[0].endswith(_ACCURACY))
        for t, name in enumerate(model.outputs_)
    }


def seed_agreement(bench: Benchmark, outputs: Sequence[str], classes: Sequence[int]) -> dict[str, dict[str, float]]:
    """:func:`regression_metrics` of one seed against the mean of the other seeds, averaged over the seed left out.

    Over the ``classes`` with every seed trained; all NaN (``n`` 0) for a
    table of one seed or with no such class.
    """
    classes = np.asarray(classes, dtype=np.int64)
    values = seed_targets(bench, outputs)[:, classes]  # (S, n, T)
    num_seeds = values.shape[0]
    out = {}
    for t, name in enumerate(outputs):
        rows = np.isfinite(values[:, :, t]).all(axis=0) if num_seeds >= 2 else np.zeros(len(classes), bool)
        accuracy = name.split("@")[0].endswith(_ACCURACY)
        if rows.sum() < 2:
            out[name] = {**regression_metrics(np.array([]), np.array([]), accuracy), "n": int(rows.sum())}
            continue
        per_seed = [
            regression_metrics(np.delete(values[:, rows, t], s, axis=0).mean(axis=0), values[s, rows, t], accuracy)
            for s in range(num_seeds)
        ]
        out[name] = {key: float(np.mean([m[key] for m in per_seed])) for key in per_seed[0]}
        out[name]["n"] = int(rows.sum())
    return out


def oracle_agreement(per_seed: np.ndarray, draws: int = 200, seed: int = 0) -> dict[str, float]:
    """Rank correlation of the expected values with their noisy mean over seeds, simulated from ``(S, n)`` values.

    Each class's expected value is taken as its mean over its finite seeds,
    shrunk towards the grand mean so that the spread across classes loses the
    seed noise's share; each draw adds Gaussian noise of that class's own seed
    std / sqrt(seeds) and scores the ranks. Classes with fewer than two finite
    seeds are left out; ``n`` 0 and NaN figures when fewer than two remain,
    NaN figures too when the seed noise is as large as the spread across
    classes (nothing left to rank).
    """
    from scipy.stats import kendalltau, spearmanr

    rows = np.isfinite(per_seed).sum(axis=0) >= 2
    nan = {"n": int(rows.sum()), "kendall_tau": float("nan"), "kendall_tau_sd": float("nan"), "spearman": float("nan")}
    if rows.sum() < 2:
        return {**nan, "n": 0}
    values = per_seed[:, rows]
    count = np.isfinite(values).sum(axis=0)
    mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0, ddof=1)
    noise_var = std ** 2 / count
    spread = np.var(mean)
    if spread == 0:
        return nan
    shrink = np.sqrt(max(spread - noise_var.mean(), 0.0) / spread)
    expected = mean.mean() + shrink * (mean - mean.mean())
    rng = np.random.default_rng(seed)
    taus, rhos = [], []
    for _ in range(draws):
        observed = expected + rng.standard_normal(len(expected)) * np.sqrt(noise_var)
        taus.append(kendalltau(expected, observed).statistic)
        rhos.append(spearmanr(expected, observed).statistic)
    return {"n": int(rows.sum()), "kendall_tau": float(np.mean(taus)), "kendall_tau_sd": float(np.std(taus)),
            "spearman": float(np.mean(rhos))}


def oracle_ceiling(bench: Benchmark, classes: Sequence[int], outputs: Sequence[str] = ("valid_accuracy", "test_accuracy"),
                   draws: int = 200, seed: int = 0) -> dict[str, dict[str, float]]:
    """:func:`oracle_agreement` of each output's final per-seed values on ``classes``: the best rank a model can score."""
    values = seed_targets(bench, list(outputs))[:, np.asarray(classes, dtype=np.int64)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # classes with one seed: NaN std, left out
        return {name: oracle_agreement(values[:, :, t], draws, seed) for t, name in enumerate(outputs)}


def top_quarter(bench: Benchmark, classes: Sequence[int]) -> np.ndarray:
    """The ``classes`` whose final valid accuracy (mean over seeds) is in their top quarter: where searches look."""
    classes = np.asarray(classes, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        valid = np.nanmean(seed_targets(bench, ["valid_accuracy"])[:, classes, 0], axis=0)
    trained = np.isfinite(valid)
    if not trained.any():
        return classes[:0]
    return classes[trained & (valid >= np.quantile(valid[trained], 0.75))]


def split_agreement(bench: Benchmark, classes: Sequence[int]) -> dict[str, float]:
    """:func:`regression_metrics` of final valid accuracy as the "prediction" of final test accuracy.

    Both are the mean over the trained seeds of the same runs, so the two
    differ only by which held-out examples scored them: the evaluation noise
    that no predictor of one split's accuracy can remove. Unlike
    :func:`seed_agreement` it needs only one seed.
    """
    values = seed_targets(bench, ["valid_accuracy", "test_accuracy"])[:, np.asarray(classes, dtype=np.int64)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # untrained classes: NaN, dropped
        valid, test = np.nanmean(values, axis=0).T
    return regression_metrics(test, valid, accuracy=True)


def noise_check(model: Surrogate, bench: Benchmark, classes: Sequence[int]) -> dict[str, dict[str, float]]:
    """Spread of ``noise=True`` draws vs the table's seed-to-seed std, per output.

    Over the ``classes`` with at least two finite seeds: ``true_std`` and
    ``predicted_std`` are root-mean-square standard deviations (the table's
    with ``ddof=1``), ``ratio`` is predicted / true, ``spearman`` correlates
    them class by class. The ``median_*`` figures are the same over the median
    class: a few classes with far-apart seeds (or members) dominate the
    root mean square.
    """
    from scipy.stats import spearmanr

    classes = np.asarray(classes, dtype=np.int64)
    values = seed_truth(model, bench, classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        true_std = np.nanstd(values, axis=0, ddof=1)
    enough = np.isfinite(values).sum(axis=0) >= 2
    spread = model.predict_std(np.asarray(bench.representatives)[classes])
    out = {}
    for t, name in enumerate(model.outputs_):
        rows = enough[:, t]
        entry = {"classes": int(rows.sum()), "true_std": float("nan"), "predicted_std": float("nan"),
                 "ratio": float("nan"), "median_true_std": float("nan"), "median_predicted_std": float("nan"),
                 "median_ratio": float("nan"), "spearman": float("nan")}
        if rows.any():
            entry["true_std"] = float(np.sqrt(np.mean(true_std[rows, t] ** 2)))
            entry["predicted_std"] = float(np.sqrt(np.mean(spread[name][rows] ** 2)))
            entry["median_true_std"] = float(np.median(true_std[rows, t]))
            entry["median_predicted_std"] = float(np.median(spread[name][rows]))
            if entry["true_std"] > 0:
                entry["ratio"] = entry["predicted_std"] / entry["true_std"]
            if entry["median_true_std"] > 0:
                entry["median_ratio"] = entry["median_predicted_std"] / entry["median_true_std"]
            if rows.sum() >= 2:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    entry["spearman"] = float(spearmanr(true_std[rows, t], spread[name][rows]).statistic)
        out[name] = entry
    return out


def fraction_study(
    bench: Benchmark,
    split: tuple[np.ndarray, np.ndarray, np.ndarray],
    fractions: Sequence[float],
    make_model: Callable[[], Surrogate],
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """Test metrics of models fitted on growing shares of the trained classes.

    For each fraction ``f`` a fresh ``make_model()`` is fitted on the first
    ``round(f * trained classes)`` (at least 1) classes of a fixed shuffle of
    the train split (nested sets; capped at the split's size, ``capped``
    says so), early-stopping on the valid split, scored on the test split.
    Returns one row per (fraction, output); ``progress``: a bar (stderr) over the fractions.
    """
    fractions = check_fractions(fractions)
    train, valid, test = split
    order = np.random.default_rng(seed).permutation(train)
    total = len(trained_classes(bench))
    rows = []
    for f in tqdm(fractions, desc="training-size study", unit="fit", disable=not progress):
        wanted = max(1, int(round(f * total)))
        n = min(wanted, len(order))
        model = make_model().fit(bench, np.sort(order[:n]), valid, test)
        for name, metrics in evaluate(model, bench, test).items():
            rows.append({"fraction": f, "n_train": n, "capped": wanted > n, "output": name, **metrics})
    return pd.DataFrame(rows)


def check_fractions(fractions: Any) -> list[float]:
    """Fractions of the table in (0, 1], as floats; else a one-line :class:`SurrogateError`."""
    ok = isinstance(fractions, (list, tuple)) and len(fractions) > 0 and all(
        isinstance(f, (int, float)) and not isinstance(f, bool) and 0 < f <= 1 for f in fractions
    )
    if not ok:
        raise SurrogateError(f"fractions must be a non-empty list of numbers in (0, 1], got {fractions!r}")
    return [float(f) for f in fractions]


def feature_group(name: str) -> str:
    """The group a feature of ``space.feature_names()`` belongs to (one-hot choices, path encoding, a cost, counts)."""
    if "=" in name:
        return "one-hot choices"
    if name.startswith("path"):
        return "path encoding"
    if name.startswith("count_"):
        return "block counts"
    return name


def feature_importance(model: Surrogate) -> pd.DataFrame:
    """Each feature's share of an output's total XGBoost gain, summed over members.

    Columns ``output``, ``feature``, ``group`` (:func:`feature_group`) and
    ``gain_share`` (sums to 1 per output; a feature no tree splits on has 0).
    """
    names = model.space_.feature_names()
    rows = []
    for t, output in enumerate(model.outputs_):
        gain = np.zeros(len(names))
        for member in model.boosters_:
            for key, value in member[t].get_score(importance_type="total_gain").items():
                gain[int(key.lstrip("f"))] += value
        total = gain.sum()
        rows += [{"output": output, "feature": name, "group": feature_group(name),
                  "gain_share": float(g / total) if total > 0 else float("nan")} for name, g in zip(names, gain)]
    return pd.DataFrame(rows)


__all__ = [
    "regression_metrics", "sparse_kendall_tau", "evaluate", "seed_agreement", "split_agreement", "oracle_agreement",
    "oracle_ceiling", "top_quarter", "noise_check", "seed_truth",
    "fraction_study", "check_fractions", "feature_group", "feature_importance",
    "DEFAULT_FRACTIONS",
]
