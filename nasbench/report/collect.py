"""Gather ``result.json`` files of a sweep into tidy tables (one row per evaluation)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench.provenance import describe_benchmark, runs_provenance


class ReportError(ValueError):
    """A directory that holds no results, or results that cannot be compared."""


@dataclass
class Collection:
    runs: pd.DataFrame  # one row per run: label, strategy, seed, final numbers
    trajectory: pd.DataFrame  # one row per evaluation: label, seed, time, n_evals, incumbent, regret
    failed: list[str] = field(default_factory=list)  # run folders without a readable result
    budget: dict = field(default_factory=dict)  # the budget every run shared: seconds, max_evals
    benchmark_kinds: list[str] = field(default_factory=list)  # the kinds of benchmark the runs used (table, surrogate)
    provenance: dict = field(default_factory=dict)  # the runs' code commits, library versions, benchmarks (and any re-scoring)


DEDUP = "+dedup"  # the label suffix of a run that skipped isomorphic duplicates


def run_label(result: dict) -> str:
    """How a run is named in the report: the strategy, marked when duplicates were skipped."""
    label = result.get("label") or result["strategy"]
    return f"{label}{DEDUP}" if result.get("skip_duplicates") else label


def run_workers(result: dict) -> int:
    """The simulated parallel workers a run had (1 when it records none)."""
    return int(result.get("workers", 1))


def run_labels(results: list[dict], workers: bool = True) -> list[str]:
    """Labels of runs reported together: :func:`run_label`, plus the strategy options that differ among
    runs of one label (a sweep over ``strategy.sampler`` or ``strategy.population_size``), e.g.
    ``optuna[sampler=nsga2]``, and with ``workers`` the worker count where it differs (``rea[workers=16]``).
    Runs that share their options keep the plain label."""
    def settings(data: dict) -> dict:
        return {**(data.get("strategy_options") or {}), **({"workers": run_workers(data)} if workers else {})}

    base = [run_label(data) for data in results]
    labels = []
    for label, data in zip(base, results):
        peers = [settings(other) for b, other in zip(base, results) if b == label]
        keys = sorted({key for options in peers for key in options})
        differing = [key for key in keys if len({json.dumps(options.get(key), sort_keys=True) for options in peers}) > 1]
        if differing:
            options = settings(data)
            name, plus, dedup = label.partition("+")
            label = f"{name}[{','.join(f'{key}={options.get(key)}' for key in differing)}]{plus}{dedup}"
        labels.append(label)
    return labels


def rescore(data: dict, truth) -> dict:
    """``data`` (a result) with every ground-truth number looked up again in the benchmark ``truth``.

    For runs made against a partial table (one-shot runs derive classes it may
    not hold yet): each row's ``test_accuracy`` and incumbent truth, the regret and
    the optimum come from ``truth`` (mean final test accuracy over its seeds; NaN
    where it lacks the class). The observed (valid) numbers are untouched. A
    one-shot run's simulated seconds are converted again at ``truth``'s costs
    (:func:`reconvert_costs`).
    """
    if data.get("constraints"):
        raise ReportError("re-scoring against another table is for unconstrained runs only (the feasible optimum would change)")
    n = len(truth.space)
    values = truth.query_batch(np.arange(n), missing="nan")["test_accuracy"]
    optimum = float(truth.optimum("test_accuracy"))

    def lookup(index: int) -> float:
        if not 0 <= int(index) < n:
            raise ReportError(f"a run's architecture index {index} is not in the truth table's space ({n} architectures)")
        return float(values[int(index)])

    if data.get("calibration"):
        reconvert_costs(data, truth)
    for row in data["trajectory"]:
        row["test_accuracy"] = lookup(row["index"])
        row["incumbent_test"] = lookup(row["incumbent_index"])
        row["regret"] = optimum - row["incumbent_test"]
    data["optimum_test_accuracy"] = optimum
    if data.get("final"):
        data["final"].update({"incumbent_test": lookup(data["final"]["incumbent_index"])})
        data["final"]["regret"] = optimum - data["final"]["incumbent_test"]
    data["rescored_against"] = str(truth.path)
    data["truth_complete"], data["truth_entries"] = bool(truth.complete), int(truth.entries_done)
    return data


def reconvert_costs(data: dict, truth) -> None:
    """Convert a one-shot run's measured cost into ``truth``'s simulated seconds again, in place.

    A one-shot run charges measured seconds x (the table's epoch time of its reference cell /
    that cell's epoch time measured before the run). When the table's costs are re-measured
    (the build's costs pass), the same run converts at the new rate, so its time axis stays
    comparable with table-based runs on that table. The rate the run used is kept in
    ``calibration["table_epoch_seconds_at_run"]``; the budget it ran under is unchanged, so at
    a higher rate what falls past the budget is dropped (``stop_reason`` ``budget``), and a run
    its budget stopped at a higher rate than ``truth``'s says so (``budget_at_run_rate``).
    """
    calibration = data["calibration"]
    try:
        reference, before = calibration["reference_arch"], float(calibration["table_epoch_seconds"])
        now = truth.epoch_seconds(reference)
    except (KeyError, TypeError, ValueError, LookupError) as err:
        raise ReportError(f"cannot convert a one-shot run's cost against {truth.path}: its reference cell "
                          f"{calibration.get('reference_arch')} has no cost there or in the run ({err})") from None
    if not (np.isfinite(now) and now > 0 and np.isfinite(before) and before > 0):
        raise ReportError(f"cannot convert a one-shot run's cost against {truth.path}: epoch seconds of its reference "
                          f"cell {reference} are {now} there and were {before} when it ran")
    factor = now / before
    if factor == 1.0:
        return
    for row in data["trajectory"]:
        for key in ("time", "cost"):
            if row.get(key) is not None:
                row[key] = row[key] * factor
    if data.get("simulated_time") is not None:
        data["simulated_time"] *= factor
    rates = {key: value * factor for key, value in calibration.items() if key.startswith("simulated_per_")}
    data["calibration"] = {**calibration, **rates, "table_epoch_seconds": now,
                           "table_epoch_seconds_at_run": calibration.get("table_epoch_seconds_at_run", before)}
    budget = (data.get("budget") or {}).get("seconds")
    if budget is None:
        return
    within = [row for row in data["trajectory"] if row["time"] <= budget]
    if len(within) < len(data["trajectory"]):
        if not within:
            raise ReportError(f"at {truth.path}'s cost rate ({factor:.3g} x the run's) a one-shot run's first "
                              f"derivation comes after its budget of {budget} s: nothing of it can be reported")
        data["trajectory"] = within
        last = within[-1]
        data["final"] = {"incumbent_arch_str": truth.space[int(last["incumbent_index"])].arch_str,
                         "incumbent_index": last["incumbent_index"], "incumbent_valid": last["incumbent_valid"]}
        data["num_evals"] = last.get("n_evals", len(within))
        data["simulated_time"] = min(data.get("simulated_time") or budget, budget)
        data["stop_reason"] = "budget"
    elif data.get("stop_reason") == "budget" and factor < 1:
        data["stop_reason"] = "budget_at_run_rate"


def read_results(directory: str | Path, only: list[Path] | None = None, truth=None) -> tuple[list[tuple[Path, dict]], list[str]]:
    """The readable ``result.json`` files below ``directory`` (or just ``only``) and the failed or missing runs.

    ``truth``: a :class:`~nasbench.table.Benchmark` to re-score every run against (:func:`rescore`).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ReportError(f"{directory} is not a directory; give the folder of a finished nasbench-search multirun")
    results, failed = [], []
    candidates = sorted(directory.rglob("result.json")) if only is None else [p for p in only if p.exists()]
    if only is not None:
        failed += [missing_run(p.parent) for p in only if not p.exists()]
    unreadable = []
    for path in candidates:
        try:
            data = json.loads(path.read_text())
            data["strategy"], data["seed"], data["trajectory"]  # noqa: B018 - the fields every result has
        except (OSError, ValueError, KeyError, TypeError):
            unreadable.append(f"{path.parent} (unreadable result.json)")
            failed.append(unreadable[-1])
            continue
        if isinstance(data["seed"], bool) or not isinstance(data["seed"], int):
            unreadable.append(f"{path.parent} (result.json: seed {data['seed']!r} is not an integer)")
            failed.append(unreadable[-1])
            continue
        if truth is not None:
            if data.get("benchmark", {}).get("resolved", {}).get("space_signature") not in (None, truth.space.signature):
                raise ReportError(f"{path} was run on another space than the truth table {truth.path}")
            data = rescore(data, truth)
        results.append((path, data))
    # A Hydra multirun job folder (it holds .hydra/) without a result is a failed or missing run.
    for hydra_dir in sorted(directory.rglob(".hydra")):
        if not (hydra_dir.parent / "result.json").exists():
            failed.append(failed_job(hydra_dir.parent))
    if not results and unreadable:
        raise ReportError(f"{directory} holds no readable result.json: {unreadable[0]}")
    if not results:
        raise ReportError(f"{directory} holds no result.json files: is it a nasbench-search output folder?")
    return results, failed


def recorded_failure(folder: Path) -> str | None:
    """Why a run failed, as ``nasbench-search``/``nasbench-compare`` recorded it (``error.txt``'s first line), if they did."""
    try:
        text = (folder / "error.txt").read_text().strip()
    except OSError:
        return None
    return text.splitlines()[0] if text else "no reason recorded"


def missing_run(folder: Path) -> str:
    """How a planned run without a result is listed: the error it recorded, if any."""
    error = recorded_failure(folder)
    return f"{folder} (no result.json)" if error is None else f"{folder} (failed: {error})"


def failed_job(folder: Path) -> str:
    """How a Hydra job folder without a result is listed: its overrides, and the last line of its log if it wrote one."""
    import yaml

    overrides = folder / ".hydra" / "overrides.yaml"
    try:
        listed = yaml.safe_load(overrides.read_text()) if overrides.exists() else None
    except (OSError, yaml.YAMLError):
        listed = None
    what = " ".join(map(str, listed)) if isinstance(listed, list) else ""
    text = f"{folder} (no result.json; overrides: {what or 'unknown'}"
    error = recorded_failure(folder)
    if error is not None:
        return text + f"; failed: {error})"
    for log in sorted(folder.glob("*.log")):  # Hydra's job log; stderr is not kept, so it is often empty
        try:
            lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            continue
        if lines:
            last = lines[-1].replace("`", "'")  # the list is shown in code spans
            text += f"; last line of {log.name}: {last}"
    return text + ")"


def check_one_budget(results: list[tuple[Path, dict]], directory: Path) -> dict:
    """The budget (seconds, max_evals) every run shared; runs with different budgets are a :class:`ReportError`."""
    budgets = [(data.get("budget") or {}) for _, data in results]
    for key in ("seconds", "max_evals"):
        values = {b.get(key) for b in budgets}
        if len(values) > 1:
            shown = ", ".join("none" if v is None else f"{v:g}" for v in sorted(values, key=lambda v: (v is None, v or 0)))
            raise ReportError(f"runs under {directory} used different budgets (budget.{key}: {shown}); report one budget at a time")
    return dict(budgets[0])


def constraint_text(result: dict) -> str:
    """How a run's constraints read in a report (``none`` when unconstrained)."""
    from nasbench.search.multiobjective import describe_constraints

    return describe_constraints(result.get("constraints"))


def collect(directory: str | Path, only: list[Path] | None = None, truth=None) -> Collection:
    """Read every ``result.json`` below ``directory`` (or just ``only``); folders of failed runs are listed, not fatal.

    ``truth``: re-score every run against this benchmark (:func:`rescore`).
    """
    directory = Path(directory)
    results, failed = read_results(directory, only, truth)
    for path, data in results:
        if data.get("objectives"):
            raise ReportError(
                f"{path.parent} is a multi-objective run (objectives {', '.join(data['objectives'])}): "
                "report its sweep with --pareto"
            )
    budget = check_one_budget(results, directory)
    run_rows, traj_rows = [], []
    parallel = any(run_workers(data) > 1 for _, data in results)  # the rows then say who ran what, and when
    groups = run_labels([data for _, data in results], workers=False)
    for (path, data), label, group in zip(results, run_labels([data for _, data in results]), groups):
        final = data.get("final") or {}
        resolved = (data.get("benchmark") or {}).get("resolved") or {}
        run_rows.append(
            {
                "label": label,
                "strategy": data["strategy"],
                "seed": int(data["seed"]),
                "skip_duplicates": bool(data.get("skip_duplicates")),
                "num_evals": data.get("num_evals", 0),
                "duplicates_skipped": data.get("num_duplicates_skipped", 0),
                "simulated_time": data.get("simulated_time", np.nan),
                **({"workers": run_workers(data), "group": group,
                    # one worker trains all the time it is busy: its worker-seconds are its simulated time
                    "worker_seconds": data.get("worker_seconds", data.get("simulated_time", np.nan))} if parallel else {}),
                "budget_seconds": (data.get("budget") or {}).get("seconds", np.nan),
                "stop_reason": data.get("stop_reason", "budget"),
                "max_consecutive_duplicates": data.get("max_consecutive_duplicates"),
                "final_test": final.get("incumbent_test", np.nan),
                "final_valid": final.get("incumbent_valid", np.nan),
                "final_regret": final.get("regret", np.nan),
                "incumbent": final.get("incumbent_arch_str", ""),
                "optimum_test": data.get("optimum_test_accuracy", np.nan),
                "constraints": constraint_text(data),
                "table_complete": data.get("truth_complete", resolved.get("complete", True)),
                "table_entries": data.get("truth_entries", resolved.get("entries_done")),
                "space_signature": resolved.get("space_signature"),
                "dataset_fingerprint": resolved.get("dataset_fingerprint"),
                "path": str(path.parent),
            }
        )
        for row in data["trajectory"]:
            traj_rows.append(
                {
                    "label": label,
                    "seed": int(data["seed"]),
                    "time": row["time"],
                    "n_evals": row["n_evals"],
                    "incumbent_valid": row["incumbent_valid"],
                    "incumbent_test": row["incumbent_test"],
                    "regret": row["regret"],
                    # a one-worker row: worker 0, started when the previous evaluation finished
                    **({"worker": row.get("worker", 0), "start": row.get("start", row["time"] - row.get("cost", 0.0))}
                       if parallel else {}),
                }
            )
    runs = pd.DataFrame(run_rows).sort_values(["label", "seed"], kind="stable").reset_index(drop=True)
    duplicated = runs.duplicated(["label", "seed"])
    if duplicated.any():
        first = runs[duplicated].iloc[0]
        raise ReportError(f"two runs of {first['label']} with seed {first['seed']} under {directory}; report one sweep at a time")
    settings = runs["constraints"].unique()
    if len(settings) > 1:
        raise ReportError(
            f"runs under {directory} used different constraints ({'; '.join(sorted(settings))}); "
            "report one constraint setting at a time"
        )
    optima = runs["optimum_test"].dropna().unique()
    if len(optima) > 1 and np.ptp(optima) > 1e-9:
        raise ReportError(f"runs under {directory} used benchmarks with different optima ({', '.join(f'{o:.4f}' for o in optima)}); report one benchmark at a time")
    columns = ["label", "seed", "time", "n_evals", "incumbent_valid", "incumbent_test", "regret", *(["worker", "start"] if parallel else [])]
    trajectory = pd.DataFrame(traj_rows, columns=columns)
    trajectory = trajectory.sort_values(["label", "seed"], kind="stable").reset_index(drop=True)  # rows in the same order however runs were listed
    kinds = sorted({str((data.get("benchmark") or {}).get("kind", "unknown")) for _, data in results})
    provenance = runs_provenance([data for _, data in results])
    if truth is not None:
        provenance["rescored_against"] = describe_benchmark(truth)
    return Collection(runs=runs, trajectory=trajectory, failed=failed, budget=budget, benchmark_kinds=kinds, provenance=provenance)


def mean_se_over_runs(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and standard error over the runs (rows) of ``frame`` at each grid time (columns).

    Also returns where at least half the runs have a value, the times a curve is drawn.
    """
    import warnings

    values = frame.to_numpy(dtype=float)
    count = np.isfinite(values).sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=0)
        se = np.nanstd(values, axis=0, ddof=1) / np.sqrt(np.maximum(count, 1))
    return mean, se, count >= max(1, values.shape[0] // 2)


def regret_on_grid(collection: Collection, grid: np.ndarray) -> pd.DataFrame:
    """Regret of every run at each simulated time of ``grid`` (the incumbent then; NaN before the first evaluation).

    Returns a frame indexed by (label, seed) with one column per grid time.
    """
    out = {}
    for (label, seed), group in collection.trajectory.groupby(["label", "seed"], sort=True):
        times = group["time"].to_numpy()
        regrets = group["regret"].to_numpy()
        position = np.searchsorted(times, grid, side="right") - 1
        out[(label, seed)] = np.where(position >= 0, regrets[np.maximum(position, 0)], np.nan)
    for _, run in collection.runs.iterrows():
        out.setdefault((run["label"], run["seed"]), np.full(len(grid), np.nan))
    frame = pd.DataFrame.from_dict(out, orient="index", columns=grid)
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["label", "seed"])
    return frame.sort_index()
