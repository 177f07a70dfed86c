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
* :func:`write_report`: all of it as README.md, CSV, JSON and PNG figures.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from nasbench.io import finite, write_json, write_text
from nasbench.provenance import provenance_line, report_provenance
from nasbench.report._format import markdown_table, pyplot
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


def _truth(model: Surrogate, bench: Benchmark, classes: np.ndarray) -> np.ndarray:
    """Per-seed values ``(S, n, T)`` of the model's outputs for ``classes``, after checking the table fits."""
    if bench.space.signature != model.space_.signature:
        raise SurrogateError(f"the table's space ({bench.space!r}) is not the surrogate's ({model.space_!r})")
    return seed_targets(bench, model.outputs_)[:, classes]


def evaluate(model: Surrogate, bench: Benchmark, classes: Sequence[int]) -> dict[str, dict[str, float]]:
    """:func:`regression_metrics` of every output on ``classes`` (noise-free prediction vs mean over seeds)."""
    classes = np.asarray(classes, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # untrained classes: NaN truth, dropped
        truth = np.nanmean(_truth(model, bench, classes), axis=0)
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
    values = _truth(model, bench, classes)
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
) -> pd.DataFrame:
    """Test metrics of models fitted on growing shares of the trained classes.

    For each fraction ``f`` a fresh ``make_model()`` is fitted on the first
    ``round(f * trained classes)`` (at least 1) classes of a fixed shuffle of
    the train split (nested sets; capped at the split's size, ``capped``
    says so), early-stopping on the valid split, scored on the test split.
    Returns one row per (fraction, output).
    """
    fractions = check_fractions(fractions)
    train, valid, test = split
    order = np.random.default_rng(seed).permutation(train)
    total = len(trained_classes(bench))
    rows = []
    for f in fractions:
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


# ---------------------------------------------------------------------- the report
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


def plot_scatter(model: Surrogate, bench: Benchmark, classes: np.ndarray, path: Path) -> None:
    """Predicted vs true final valid and test accuracy, and predicted vs true seed std of valid accuracy."""
    plt = pyplot()
    values = _truth(model, bench, classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        truth = np.nanmean(values, axis=0)
        true_std = np.nanstd(values, axis=0, ddof=1)
    reps = np.asarray(bench.representatives)[classes]
    pred, spread = model.predict(reps), model.predict_std(reps)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    for ax, name in zip(axes[:2], ("valid_accuracy", "test_accuracy")):
        t = model.outputs_.index(name)
        x, y = 100 * truth[:, t], 100 * pred[name]
        metrics = regression_metrics(truth[:, t], pred[name])
        ax.scatter(x, y, s=6, alpha=0.5)
        finite = np.concatenate([x[np.isfinite(x)], y])
        if len(finite):
            lo, hi = float(finite.min()), float(finite.max())
            ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"true {name} (%, mean over seeds)")
        ax.set_ylabel(f"predicted {name} (%)")
        ax.set_title(f"R2 {metrics['r2']:.3f}, tau {metrics['kendall_tau']:.3f}, sparse tau {metrics['sparse_kendall_tau']:.3f}",
                     fontsize=9)
    t = model.outputs_.index("valid_accuracy")
    axes[2].scatter(100 * true_std[:, t], 100 * spread["valid_accuracy"], s=6, alpha=0.5)
    axes[2].set_xlabel("true std over seeds of valid accuracy (points)")
    axes[2].set_ylabel("predicted std of noise draws (points)")
    axes[2].set_title("seed noise", fontsize=9)
    fig.suptitle(f"Surrogate on {len(classes)} held-out test classes")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_fractions(frame: pd.DataFrame, path: Path, ceiling: dict[str, dict[str, float]] | None = None) -> None:
    """Kendall tau and R^2 on the test classes vs the share of the table used for training.

    ``ceiling`` (:func:`seed_agreement`) draws one seed's agreement with the others as dotted lines.
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name in ("valid_accuracy", "test_accuracy"):
        part = frame[frame["output"] == name]
        line = axes[0].plot(100 * part["fraction"], part["kendall_tau"], "o-", label=f"{name} tau")[0]
        axes[0].plot(100 * part["fraction"], part["sparse_kendall_tau"], "s--", label=f"{name} sparse tau")
        axes[1].plot(100 * part["fraction"], part["r2"], "o-", label=name)
        if ceiling and ceiling.get(name, {}).get("n", 0) >= 2:
            for ax, key in zip(axes, ("kendall_tau", "r2")):
                ax.axhline(ceiling[name][key], color=line.get_color(), ls=":", lw=1, label=f"{name}: one seed vs the others")
    ticks = sorted(set(100 * frame["fraction"]))
    for ax, label in zip(axes, ("Kendall tau", "R2")):
        ax.set_xscale("log")
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("% of the trained classes used for training")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(
    model: Surrogate,
    bench: Benchmark,
    split: tuple[np.ndarray, np.ndarray, np.ndarray],
    out_dir: str | Path,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    make_model: Callable[[], Surrogate] | None = None,
    title: str = "XGBoost surrogate against the table",
) -> Path:
    """Score ``model`` on the test split and write ``out_dir`` (README.md, CSV, JSON, PNG); returns it.

    ``make_model`` builds the models of the fraction study (default: the
    model's configuration with one member); ``fractions=()`` skips it.
    Also stores the test metrics and the noise check in ``model.metadata_["quality"]``.
    """
    train, valid, test = (np.asarray(s, dtype=np.int64) for s in split)
    if not len(test):
        raise SurrogateError("the test split is empty; the report scores held-out classes")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = evaluate(model, bench, test)
    top = top_quarter(bench, test)
    top_metrics = evaluate(model, bench, top)
    noise = noise_check(model, bench, test)
    ceiling = seed_agreement(bench, model.outputs_, test)
    splits = split_agreement(bench, test)
    oracle = oracle_ceiling(bench, test, seed=model.seed)
    model.metadata_["quality"] = finite({"test_classes": int(len(test)), "metrics": metrics, "noise": noise,
                                         "seed_agreement": ceiling, "split_agreement": splits,
                                         "oracle_ceiling": oracle,
                                         "top_quarter_metrics": top_metrics})
    if make_model is None:
        def make_model() -> Surrogate:
            return Surrogate(model.targets, model.curve_epochs, model.params, ensemble_size=1, seed=model.seed)
    study = fraction_study(bench, (train, valid, test), fractions, make_model, seed=model.seed) if fractions else pd.DataFrame()

    plot_scatter(model, bench, test, out / "scatter.png")
    importance = feature_importance(model)
    by_group = importance.pivot_table(index="group", columns="output", values="gain_share", aggfunc="sum", sort=False)
    by_group = by_group[list(model.outputs_)].sort_values(model.outputs_[0], ascending=False)
    write_text(out / "feature_importance.csv", importance.to_csv(index=False))
    metrics_frame = pd.DataFrame([{"output": k, **v} for k, v in metrics.items()])
    noise_frame = pd.DataFrame([{"output": k, **v} for k, v in noise.items()])
    ceiling_frame = pd.DataFrame([{"output": k, **v} for k, v in ceiling.items()])
    write_text(out / "seed_agreement.csv", ceiling_frame.to_csv(index=False))
    write_text(out / "metrics.csv", metrics_frame.to_csv(index=False))
    write_text(out / "noise.csv", noise_frame.to_csv(index=False))
    if len(study):
        plot_fractions(study, out / "fractions.png", ceiling)
        write_text(out / "fractions.csv", study.to_csv(index=False))
    source = model.metadata_["table"]
    summary = {
        "table": source,
        "split": {"train": len(train), "valid": len(valid), "test": len(test)},
        "training": model.metadata_["training"],
        "noise_scale": model.metadata_["noise"],
        "test_metrics": metrics,
        "top_quarter_metrics": top_metrics,
        "noise_check": noise,
        "seed_agreement": ceiling,
        "split_agreement": splits,
        "oracle_ceiling": oracle,
        "fractions": json.loads(study.to_json(orient="records")) if len(study) else [],
        "feature_importance": {output: by_group[output].to_dict() for output in by_group.columns},
        "provenance": report_provenance(surrogate_config=model.metadata_.get("config"), table=source),
    }
    write_json(out / "summary.json", finite(summary))

    shown = metrics_frame[["output", "n", "r2", "kendall_tau", "sparse_kendall_tau", "spearman", "rmse"]]
    lines = [
        f"# {title}",
        "",
        f"Table `{source.get('file')}` (sha256 `{str(source.get('sha256'))[:16]}...`, "
        f"{source.get('entries_done')} (class, seed) entries trained, {source.get('num_epochs')} epochs). "
        f"Classes split at random into {len(train)} train / {len(valid)} valid (early stopping, noise calibration) / "
        f"{len(test)} test (held out, scored here). Ensemble of {len(model.boosters_)} XGBoost members per output.",
        "",
        "## Held-out test classes",
        "",
        "Noise-free prediction (ensemble mean) against the table's mean over seeds. Accuracies are fractions "
        "(RMSE in the same unit, `train_time` in seconds). Sparse Kendall tau follows NAS-Bench-301 "
        "(`kendall_tau_1_dec`): accuracies in percent, predictions rounded to 0.1 points, truth unrounded.",
        "",
        markdown_table(shown, ".4f"),
        "",
        f"The same on the {len(top)} test classes in the top quarter by true final valid accuracy, where searches "
        "spend their time. Their range is narrow, so R^2 there mostly measures bias, and rank correlations over few "
        "classes are themselves noisy:",
        "",
        markdown_table(pd.DataFrame([{"output": k, **v} for k, v in top_metrics.items()])[shown.columns], ".4f"),
        "",
        "One seed of the table as the prediction of the mean of its other seeds, on the same classes (those with "
        "every seed trained), averaged over the seed left out: what a benchmark of one training run per "
        "architecture would score. A surrogate cannot be expected to rank better than this noise allows.",
        "",
        markdown_table(ceiling_frame[["output", "n", "r2", "kendall_tau", "sparse_kendall_tau", "spearman", "rmse"]], ".4f")
        if ceiling_frame["n"].max() >= 2
        else "(the table has one seed per class: no seed ceiling)" if len(bench.seeds) < 2
        else "(fewer than two test classes have every seed trained: no seed ceiling yet)",
        "",
        "The same runs' valid accuracy as the prediction of their test accuracy (two held-out sets of the same "
        "size, so this is the evaluation noise alone, with no seed noise): "
        + f"n {splits['n']}, "
        + ", ".join(f"{key} {splits[key]:.4f}" for key in ("r2", "kendall_tau", "sparse_kendall_tau", "spearman"))
        + ".",
        "",
        "A perfect model, one that knew each class's expected accuracy, against the table's mean over seeds, which "
        "is itself noisy: simulated from the table's own seed spread (each class's mean shrunk by the noise's share "
        "of the spread across classes, then Gaussian noise of its seed std / sqrt(seeds); mean of 200 draws). "
        "No surrogate can rank these classes better than this: "
        + "; ".join(f"{name}: n {v['n']}, kendall_tau {v['kendall_tau']:.4f} (+- {v['kendall_tau_sd']:.4f}), "
                    f"spearman {v['spearman']:.4f}" for name, v in oracle.items() if v["n"] >= 2)
        + "." if any(v["n"] >= 2 for v in oracle.values()) else
        "(no test class has two or more trained seeds: no simulated ceiling)",
        "",
        "![predicted vs true](scatter.png)",
        "",
        "## Which features matter",
        "",
        "Share of each output's total XGBoost gain (summed over members) by feature group; per feature in "
        "`feature_importance.csv`. Correlated features share credit (the costs follow from the ops), so a small "
        "share means the trees found the same information elsewhere, not that it is absent.",
        "",
        markdown_table(by_group.reset_index(), ".3f"),
        "",
        "Top features for " + model.outputs_[0] + ": " + ", ".join(
            f"`{row.feature}` {row.gain_share:.3f}" for row in importance[importance.output == model.outputs_[0]]
            .nlargest(8, "gain_share").itertuples()) + ".",
        "",
        "## Seed noise",
        "",
        "`noise=True` draws one member per architecture and scales its deviation from the ensemble mean by a "
        "factor per output fitted on the valid classes (root mean squares matched), bounded by the largest seed "
        "deviation among train classes of about the same mean (see `Surrogate`). Standard deviation over seeds "
        "on the test classes with two or more trained seeds, the table's (`true_std`) and the draws' "
        "(`predicted_std`): root mean square over classes, and over the median class (`median_*`; a few classes "
        "with far-apart seeds or members dominate the root mean square).",
        "",
        markdown_table(noise_frame, ".4f") if noise_frame["classes"].max() >= 1 else
        "(no test class has two or more trained seeds)",
        "",
    ]
    if not all(model.metadata_["noise"]["calibrated"].values()):
        lines[-1:-1] = [
            "Not calibrated for " + ", ".join(k for k, v in model.metadata_["noise"]["calibrated"].items() if not v)
            + " (no valid class with two or more trained seeds): this surrogate refuses `noise=True`.",
            "",
        ]
    if len(study):
        wide = study[study["output"].isin(["valid_accuracy", "test_accuracy"])][
            ["fraction", "n_train", "output", "r2", "kendall_tau", "sparse_kendall_tau", "spearman"]]
        lines += [
            "## Against the size of the training set",
            "",
            "One-member models fitted on nested random subsets of the train classes (share of all trained "
            "classes; capped at the train split), same valid and test classes.",
            "",
            markdown_table(wide, ".4f"),
            "",
            "![metrics vs training fraction](fractions.png)",
            "",
        ]
    lines += ["Files: `metrics.csv`, `seed_agreement.csv`, `noise.csv`, `fractions.csv`, `feature_importance.csv`, "
              "`summary.json` (everything).", "",
              provenance_line(summary["provenance"]), ""]
    write_text(out / "README.md", "\n".join(lines))
    return out


__all__ = [
    "regression_metrics", "sparse_kendall_tau", "evaluate", "seed_agreement", "split_agreement", "oracle_agreement",
    "oracle_ceiling", "top_quarter", "noise_check",
    "fraction_study", "write_report",
    "DEFAULT_FRACTIONS",
]
