"""The pilot behind a new default table: which skeleton x task x recipe lets the cell decide.

A pilot trains the same sample of classes under each candidate setup (with
``nasbench-build classes_file=...``) and compares the candidates on proxies of
what a benchmark needs, measured on the sample:

* **anchors**: the all-skip cell (where DARTS collapses), all-avg-pool, a single
  conv3 on the 0->3 edge and all-conv3; the all-skip gap to the best class is
  how visible a collapse is;
* **top-decile ratio**: among the classes in the top 10 % of the candidate's own
  classes, the std of class means over the mean seed-to-seed std (>= 1 means
  the top is ranked by architecture more than by seed);
* **seed-to-seed Spearman** of the two seeds' final test accuracy, over all
  sampled classes and within the top half;
* **random search's expected regret** after 10 / 100 / 500 evaluations (more
  regret at 100 is more room for a strategy to beat it);
* **cost per entry** in core-seconds, and the projected full build.

The sample is stratified over a reference table's class-mean accuracy (deciles,
the top decile over-weighted). Population figures (top decile, median, random
search) weight each sampled class by the classes it stands for (its stratum's
classes per sampled class) or, where architectures are drawn uniformly as random
search draws them, by the architectures it stands for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from nasbench.io import write_json, write_text
from nasbench.provenance import provenance_line, report_provenance, sha256_file
from nasbench.report._format import markdown_table, pyplot, save_figure

#: the anchor cells every candidate trains (NAS-Bench-201 arch strings)
ANCHORS = {
    "all-skip": "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "all-avg-pool": "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    "one conv3 on 0->3": "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|",
    "all-conv3": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
}
EVALUATIONS = (10, 100, 500)


def class_means(table, split: str = "test", seeds: int | None = None) -> np.ndarray:
    """``(C,)`` mean final ``split`` accuracy (%) over the first ``seeds`` trained seeds; NaN where untrained."""
    acc = table.epochs[f"{split}_accuracy"][:, :seeds, -1].astype(float) * 100
    done = table.entries["done"][:, :seeds] & ~table.entries["diverged"][:, :seeds]
    with np.errstate(invalid="ignore"):
        return np.where(done.any(axis=1), np.nanmean(np.where(done, acc, np.nan), axis=1), np.nan)


def stratified_sample(table_path: str | Path, size: int = 150, top_share: float = 1 / 3, strata: int = 10,
                      seed: int = 0, anchors: Mapping[str, str] = ANCHORS) -> pd.DataFrame:
    """``size`` classes of the table at ``table_path``, stratified by class-mean test accuracy, plus the anchors.

    The classes fall into ``strata`` equal-count strata by accuracy; the top one gets
    ``top_share`` of the sample, the rest is split evenly. Columns: ``class_id``,
    ``arch_str``, ``stratum`` (-1 for an anchor not drawn), ``reference_test``
    (the table's class mean, %), ``class_weight`` (classes each stands for) and
    ``weight`` (architectures each stands for; both 0 for an anchor not drawn),
    ``anchor`` (its name or ""). Within a stratum the weights add up to exactly its
    classes and its architectures.
    """
    from nasbench.space.registry import space_from_config
    from nasbench.table.store import read_table

    if size < strata:
        raise ValueError(f"size must be at least strata = {strata}, got {size}")
    if not 0 < top_share < 1:
        raise ValueError(f"top_share must be in (0, 1), got {top_share}")
    table = read_table(table_path)
    space = space_from_config(json.loads(table.attrs["space"]))
    means = class_means(table)
    if np.isnan(means).any():
        raise ValueError(f"{table_path} has untrained classes; stratify over a table with every class trained")
    rank = np.argsort(np.argsort(means, kind="stable"), kind="stable")
    stratum = (rank * strata) // len(means)  # 0 = lowest accuracy, strata - 1 = top
    top = int(round(size * top_share))
    rest = np.full(strata - 1, (size - top) // (strata - 1))
    rest[: (size - top) % (strata - 1)] += 1
    counts = np.concatenate([rest, [top]])
    class_size = np.bincount(space.class_ids(), minlength=space.num_classes)
    rng = np.random.default_rng(seed)
    rows = []
    for s, count in enumerate(counts):
        members = np.flatnonzero(stratum == s)
        drawn = rng.choice(members, size=int(count), replace=False)
        # ratio weights: the drawn classes of a stratum stand for exactly its classes and its cells
        cells = class_size[members].sum() / class_size[drawn].sum()
        for c in drawn:
            rows.append({"class_id": int(c), "stratum": s, "class_weight": len(members) / count,
                         "weight": float(class_size[c] * cells)})
    frame = pd.DataFrame(rows)
    frame["anchor"] = ""
    for name, arch in anchors.items():
        c = int(space.parse(arch).class_id)
        if c in set(frame["class_id"]):
            frame.loc[frame["class_id"] == c, "anchor"] = name
        else:
            frame.loc[len(frame)] = {"class_id": c, "stratum": -1, "class_weight": 0.0, "weight": 0.0, "anchor": name}
    reps = space.representatives()
    frame["arch_str"] = [space[int(reps[c])].arch_str for c in frame["class_id"]]
    frame["reference_test"] = means[frame["class_id"]]
    return frame[["class_id", "arch_str", "stratum", "reference_test", "class_weight", "weight", "anchor"]]


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of ``values`` whose population shares are ``weights``."""
    order = np.argsort(values)
    cdf = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][np.searchsorted(cdf, q)])


def random_search_regret(valid: np.ndarray, test: np.ndarray, weights: np.ndarray, evaluations: int,
                         reps: int = 4000, seed: int = 0) -> float:
    """Expected regret (points) of random search after ``evaluations`` draws, estimated on a weighted sample.

    ``valid``: ``(n, S)`` per-seed final valid accuracy (%), ``test``: ``(n,)`` class
    means. Each draw is an architecture of the population (a sampled class with
    probability proportional to its weight) observed through one random seed's
    valid accuracy; the search returns the best observed, and its regret is the
    sample's best class-mean test accuracy minus the returned class's.
    """
    rng = np.random.default_rng(seed)
    p = weights / weights.sum()
    picks = rng.choice(len(p), size=(reps, evaluations), p=p)
    seeds = rng.integers(valid.shape[1], size=(reps, evaluations))
    observed = valid[picks, seeds]
    chosen = picks[np.arange(reps), np.argmax(observed, axis=1)]
    return float(np.mean(test.max() - test[chosen]))


def candidate_stats(table, sample: pd.DataFrame) -> dict[str, Any]:
    """The pilot's figures for one candidate's table over ``sample`` (see the module docstring)."""
    from scipy.stats import spearmanr

    ids = sample["class_id"].to_numpy()
    done = table.entries["done"][ids, :2] & ~table.entries["diverged"][ids, :2]
    if not done.all():
        missing = int((~done).sum())
        raise ValueError(f"{missing} of the sample's {done.size} entries (2 seeds) are not trained in this table")
    test = table.epochs["test_accuracy"][ids, :2, -1].astype(float) * 100
    valid = table.epochs["valid_accuracy"][ids, :2, -1].astype(float) * 100
    mean = test.mean(axis=1)
    seed_sd = test.std(axis=1, ddof=1)
    drawn = sample["weight"].to_numpy() > 0
    w = sample["weight"].to_numpy()[drawn]
    cw = sample["class_weight"].to_numpy()[drawn]
    # the top decile and half are of classes (as NAS-Bench-201's statistics are); random search draws cells
    cut_top = weighted_quantile(mean[drawn], cw, 0.9)
    cut_half = weighted_quantile(mean[drawn], cw, 0.5)
    top = drawn & (mean >= cut_top)
    half = drawn & (mean >= cut_half)
    best = float(mean.max())
    names = sample["anchor"].to_numpy()
    anchors = {name: float(mean[names == name][0]) for name in dict.fromkeys(names) if name}
    stats = {
        "classes": int(len(ids)),
        "best": best,
        "median": cut_half,
        "anchors": anchors,
        "all_skip_gap": best - anchors.get("all-skip", float("nan")),
        "top_decile_classes": int(top.sum()),
        "top_decile_class_std": float(np.std(mean[top], ddof=1)) if top.sum() > 1 else float("nan"),
        "top_decile_seed_sd": float(seed_sd[top].mean()),
        "spearman_seeds_all": float(spearmanr(test[:, 0], test[:, 1]).statistic),
        "spearman_seeds_top_half": float(spearmanr(test[half, 0], test[half, 1]).statistic),
        "random_search_regret": {str(n): random_search_regret(valid[drawn], mean[drawn], w, n) for n in EVALUATIONS},
    }
    stats["top_decile_ratio"] = stats["top_decile_class_std"] / stats["top_decile_seed_sd"]
    stats.update(entry_cost(table))
    return stats


def entry_cost(table) -> dict[str, float]:
    """Core-seconds per entry: the build's wall time x workers over its entries (everything: training,
    evaluation, timing, process start), and training alone from the timing pass (process CPU clock)."""
    done = int(table.entries["done"].sum())
    workers = int(json.loads(table.attrs["machine"]).get("workers") or 1)
    core_seconds = float(table.attrs.get("build_seconds", 0.0)) * max(workers, 1)
    epochs = table.epochs["test_accuracy"].shape[2]
    timed = table.epoch_seconds[np.isfinite(table.epoch_seconds)]
    per_entry = core_seconds / done if done else float("nan")
    return {
        "entries": done,
        "core_seconds_per_entry": per_entry,
        "train_core_seconds_per_entry": float(timed.mean() * epochs) if len(timed) else float("nan"),
        # every class x 3 seeds on 2 cores at the pilot's measured rate
        "projected_full_build_hours": per_entry * table.entries["done"].shape[0] * 3 / 2 / 3600,
    }


def write_pilot_report(candidates: Mapping[str, str | Path], sample_csv: str | Path, out: str | Path,
                       descriptions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Compare ``candidates`` (name -> table path) on the sample in ``sample_csv``; write ``out``.

    Writes ``summary.json`` (every figure, with provenance), ``candidates.csv`` (one
    row per candidate), ``classes.csv`` (each sampled class's mean and seed gap per
    candidate), ``distribution.png`` and ``README.md``.
    """
    from nasbench.table.store import read_table

    if len(candidates) < 1:
        raise ValueError("give at least one candidate as NAME=TABLE")
    sample = pd.read_csv(sample_csv, keep_default_na=False)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stats, per_class = {}, sample[["class_id", "arch_str", "stratum", "class_weight", "weight", "anchor"]].copy()
    for name, path in candidates.items():
        table = read_table(path)
        stats[name] = {"table": str(path), "table_sha256": sha256_file(path),
                       "description": (descriptions or {}).get(name, ""), **candidate_stats(table, sample)}
        test = table.epochs["test_accuracy"][sample["class_id"].to_numpy(), :2, -1].astype(float) * 100
        per_class[f"{name}_mean"] = test.mean(axis=1)
        per_class[f"{name}_seed_gap"] = np.abs(test[:, 0] - test[:, 1])
    rows = []
    for name, s in stats.items():
        rows.append({
            "candidate": name, "best": s["best"], "median": s["median"], "all-skip gap": s["all_skip_gap"],
            **s["anchors"],
            "top-decile ratio": s["top_decile_ratio"], "top-decile class std": s["top_decile_class_std"],
            "top-decile seed sd": s["top_decile_seed_sd"], "seed Spearman (all)": s["spearman_seeds_all"],
            "seed Spearman (top half)": s["spearman_seeds_top_half"],
            **{f"RS regret @{n}": s["random_search_regret"][str(n)] for n in EVALUATIONS},
            "core-s / entry": s["core_seconds_per_entry"], "full build h (2 cores)": s["projected_full_build_hours"],
        })
    frame = pd.DataFrame(rows)
    provenance = report_provenance(sample=str(sample_csv), sample_sha256=sha256_file(sample_csv))
    summary = {"candidates": stats, "sample_classes": int(len(sample)), "provenance": provenance}
    write_json(out / "summary.json", summary, indent=2)
    write_text(out / "candidates.csv", frame.to_csv(index=False))
    write_text(out / "classes.csv", per_class.to_csv(index=False, float_format="%.4f"))
    _plot(stats, per_class, sample, out / "distribution.png")
    write_text(out / "results.md", "\n".join([
        "| candidate | setup |", "|---|---|", *[f"| {n} | {s['description']} |" for n, s in stats.items()], "",
        markdown_table(frame.set_index("candidate").T.reset_index().rename(columns={"index": "figure"}), ".3f"), "",
        provenance_line(provenance), ""]))
    return summary


def _plot(stats: dict, per_class: pd.DataFrame, sample: pd.DataFrame, path: Path) -> None:
    plt = pyplot()
    drawn = sample["weight"].to_numpy() > 0
    w = sample["class_weight"].to_numpy()[drawn]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name in stats:
        mean = per_class[f"{name}_mean"].to_numpy()[drawn]
        order = np.argsort(mean)[::-1]
        share = np.cumsum(w[order]) / w.sum() * 100
        gap = np.maximum(mean[order][0] - mean[order], 1e-2)  # the best class sits at the floor of the log axis
        left.step(share, gap, where="post", label=name)
        right.scatter(np.full(1, stats[name]["top_decile_ratio"]), [stats[name]["all_skip_gap"]], s=60, label=name)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("share of all classes at or above (%, log)")
    left.set_ylabel("best class minus this class (points, log)")
    left.set_title("How far below the best the classes fall")
    left.grid(alpha=0.3, which="both")
    left.legend(fontsize=8)
    right.axvline(1.0, color="grey", ls="--", lw=1)
    right.axhline(20.0, color="grey", ls=":", lw=1)
    right.set_xlabel("top-decile ratio: std of class means / mean seed sd")
    right.set_ylabel("best minus all-skip (points)")
    right.set_title("Targets: ratio >= 1 (dashed), all-skip gap >= 20 (dotted)")
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
