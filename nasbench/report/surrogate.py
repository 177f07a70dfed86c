"""The surrogate's quality report: its predictions against the exhaustive table on held-out classes.

:func:`write_report` writes README.md, CSV files, ``summary.json`` and PNG figures from the
measures of :mod:`nasbench.surrogate.quality`.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from nasbench.io import finite, write_json, write_text
from nasbench.provenance import provenance_line, report_provenance
from nasbench.report._format import markdown_table, pyplot, save_figure
from nasbench.surrogate.model import Surrogate, SurrogateError
from nasbench.surrogate.quality import (
    DEFAULT_FRACTIONS, evaluate, feature_importance, fraction_study, noise_check, oracle_ceiling, regression_metrics,
    seed_agreement, seed_truth, split_agreement, top_quarter,
)
from nasbench.table.benchmark import Benchmark


def plot_scatter(model: Surrogate, bench: Benchmark, classes: np.ndarray, path: Path) -> None:
    """Predicted vs true final valid and test accuracy, and predicted vs true seed std of valid accuracy."""
    plt = pyplot()
    values = seed_truth(model, bench, classes)
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
    save_figure(fig, path, dpi=110)


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
    save_figure(fig, path, dpi=110)


def write_report(
    model: Surrogate,
    bench: Benchmark,
    split: tuple[np.ndarray, np.ndarray, np.ndarray],
    out_dir: str | Path,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    make_model: Callable[[], Surrogate] | None = None,
    title: str = "XGBoost surrogate against the table",
    progress: bool = False,
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
    study = (fraction_study(bench, (train, valid, test), fractions, make_model, seed=model.seed, progress=progress)
             if fractions else pd.DataFrame())

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


__all__ = ["write_report", "plot_scatter", "plot_fractions"]
