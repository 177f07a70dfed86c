"""Effect sizes of a sweep: how large a difference between strategies is, and how sure the seeds make it.

A p-value says whether the seeds can tell two strategies apart, not by how much.
Per strategy, on its final regret (or any lower-is-better value of a run):

* the mean with a bootstrap 95% confidence interval;
* the difference to the baseline (random search) over the seeds both ran, with its interval;
* the share of the baseline's regret the strategy closes, ``1 - mean / baseline's mean``
  on those seeds, with its interval (NAS-Bench-201's REA closes about a third);
* an anytime metric: the regret curve's normalised area on log time (the mean of each
  run's regret over log-spaced times, from when every run has an incumbent to the
  budget), with its interval;

and one line of power: the smallest difference these seeds detect at alpha = 0.05
with 80% power. Intervals are scipy's BCa bootstrap (10,000 resamples, a fixed seed,
so a report is reproducible); power is statsmodels' two-sample t-test power.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import pandas as pd

CONFIDENCE = 0.95
RESAMPLES = 10_000
ALPHA, POWER = 0.05, 0.8
ANYTIME_POINTS = 256


def bootstrap_interval(samples: tuple[np.ndarray, ...], statistic: Callable[..., np.ndarray], paired: bool = False) -> tuple[float, float]:
    """The 95% BCa bootstrap interval of ``statistic`` (vectorised, ``axis`` keyword) over ``samples``.

    ``(nan, nan)`` with fewer than two values; the point itself when no value varies
    (every resample gives it). Falls back to the percentile interval where BCa is undefined.
    """
    from scipy.stats import bootstrap

    samples = tuple(np.asarray(s, dtype=float) for s in samples)
    if min(len(s) for s in samples) < 2:
        return float("nan"), float("nan")
    if all(np.ptp(s) == 0 for s in samples):
        point = float(statistic(*samples, axis=-1))
        return point, point
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # degenerate resamples: BCa says so with a warning and a NaN
            result = bootstrap(samples, statistic, paired=paired, vectorized=True, n_resamples=RESAMPLES,
                               confidence_level=CONFIDENCE, method=method, random_state=np.random.default_rng(0))
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        if np.isfinite(low) and np.isfinite(high):
            return low, high
    return float("nan"), float("nan")


def _mean(x, axis=-1):
    return np.mean(x, axis=axis)


def _difference(a, b, axis=-1):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def _closed(a, b, axis=-1):
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - np.mean(a, axis=axis) / np.mean(b, axis=axis)


def anytime_times(trajectory: pd.DataFrame, budget: float, points: int = ANYTIME_POINTS) -> tuple[np.ndarray | None, str]:
    """Log-spaced times from when every run has its first incumbent to ``budget``, and how they were chosen.

    ``None`` (and why) when some run's first evaluation comes at the end of the budget.
    """
    first = trajectory.groupby(["label", "seed"])["time"].min()
    start = float(first.max()) if len(first) else float("nan")
    if not (np.isfinite(start) and np.isfinite(budget) and budget > start > 0):
        return None, (f"left out: a run's first incumbent came at {start:.3g} simulated s, not before the budget "
                      f"({budget:.3g} s), so no span of time has an incumbent in every run")
    return np.geomspace(start, budget, points), (
        f"the mean of a run's regret at {points} log-spaced times from {start:,.1f} simulated s (when every run "
        f"of the sweep had its first incumbent) to the budget, {budget:,.0f} s")


def effect_sizes(runs: pd.DataFrame, value: str, baseline: str, anytime: pd.Series | None = None) -> pd.DataFrame:
    """One row per strategy (label) of ``runs``: the effect sizes of ``value`` (lower is better), unscaled.

    ``anytime``: each run's anytime value, indexed by (label, seed). Columns: ``runs``,
    ``mean``/``low``/``high``; against ``baseline`` over the seeds both ran: ``paired_seeds``,
    ``difference``/``difference_low``/``difference_high``, ``closed``/``closed_low``/``closed_high``
    (a share; NaN where the baseline's mean is 0); ``anytime``/``anytime_low``/``anytime_high``.
    """
    values = runs.dropna(subset=[value])
    wide = values.pivot(index="seed", columns="label", values=value)
    rows = {}
    for label in sorted(runs["label"].unique()):
        own = values.loc[values["label"] == label, value].to_numpy(dtype=float)
        row = {"runs": len(own), "mean": float(own.mean()) if len(own) else float("nan")}
        row["low"], row["high"] = bootstrap_interval((own,), _mean)
        if baseline in wide.columns and label != baseline and label in wide.columns:
            pair = wide[[label, baseline]].dropna()
            a, b = pair[label].to_numpy(), pair[baseline].to_numpy()
            row["paired_seeds"] = len(pair)
            row["difference"] = float(_difference(a, b)) if len(pair) else float("nan")
            row["difference_low"], row["difference_high"] = bootstrap_interval((a, b), _difference, paired=True)
            row["closed"] = float(_closed(a, b)) if len(pair) and b.mean() > 0 else float("nan")
            if np.isfinite(row["closed"]):
                row["closed_low"], row["closed_high"] = bootstrap_interval((a, b), _closed, paired=True)
        if anytime is not None and label in anytime.index.get_level_values(0):
            areas = anytime.loc[label].dropna().to_numpy(dtype=float)
            row["anytime"] = float(areas.mean()) if len(areas) else float("nan")
            row["anytime_low"], row["anytime_high"] = bootstrap_interval((areas,), _mean)
        rows[label] = row
    columns = ["runs", "mean", "low", "high", "paired_seeds", "difference", "difference_low", "difference_high",
               "closed", "closed_low", "closed_high", "anytime", "anytime_low", "anytime_high"]
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns).sort_values("mean")


def detectable_difference(runs: pd.DataFrame, value: str) -> dict | None:
    """The smallest difference of ``value`` the sweep's seeds detect (two-sided, alpha 0.05, power 0.8).

    For the number of runs most strategies have (``seeds``), in per-run standard deviations
    (``sd_units``, statsmodels' two-sample t-test power) and in ``value``'s unit, with the
    pooled per-run standard deviation (``sd``). ``None`` when no strategy has two runs.
    """
    from statsmodels.stats.power import TTestIndPower

    counts = runs.dropna(subset=[value]).groupby("label")[value].count()
    if counts.empty or counts.max() < 2:
        return None
    seeds = int(counts[counts >= 2].mode().max())
    variances = runs.dropna(subset=[value]).groupby("label")[value].var(ddof=1).dropna()
    sd = float(np.sqrt(variances.mean()))
    d = float(TTestIndPower().solve_power(effect_size=None, nobs1=seeds, alpha=ALPHA, power=POWER, ratio=1.0,
                                          alternative="two-sided"))
    fewer = sorted(str(label) for label, n in counts.items() if n < seeds)
    return {"seeds": seeds, "sd_units": d, "sd": sd, "difference": d * sd, "fewer_seeds": fewer,
            "alpha": ALPHA, "power": POWER}


def power_line(power: dict | None, what: str, scale: float, unit: str, pairs: int) -> str:
    """The README's line of power (``scale`` and ``unit``: how ``what`` is shown)."""
    if power is None:
        return ("Power: left out: it needs the spread of a strategy's runs, and no strategy has two runs with a "
                "result.")
    text = (f"Power: with {power['seeds']} seeds per strategy, a two-sided two-sample t-test at alpha = {power['alpha']:g} "
            f"has {power['power']:.0%} power to detect a difference of {power['sd_units']:.2f} per-run standard "
            f"deviations, here {scale * power['difference']:.3g}{unit} of {what} (pooled per-run SD "
            f"{scale * power['sd']:.3g}{unit}); smaller differences can go unnoticed")
    if pairs > 1:
        text += f", and the Holm correction over {pairs} pairs asks for more"
    if power["fewer_seeds"]:
        text += f". Strategies with fewer seeds ({', '.join(power['fewer_seeds'])}) detect only larger differences"
    return text + "."


__all__ = ["effect_sizes", "bootstrap_interval", "anytime_times", "detectable_difference", "power_line"]
