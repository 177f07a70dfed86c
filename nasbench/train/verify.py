"""Re-train table entries with the table's own recorded recipe and compare."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nasbench.table.benchmark import _space_of
from nasbench.table.store import TableError, attr_json, build_commits, read_table
from nasbench.train.data import DatasetConfig, load_dataset
from nasbench.train.recipe import Recipe, check_device
from nasbench.train.stacked import train_stacked
from nasbench.train.union import train_union
from nasbench.train.trainer import torch_threads, train

COMPARED = ("train_accuracy", "valid_accuracy", "test_accuracy", "train_loss", "valid_loss", "test_loss")
#: what an entry of another setup is judged on: its final accuracies against the table's seed-to-seed changes
NOISE_JUDGED = ("valid_accuracy", "test_accuracy")


@dataclass
class VerifiedEntry:
    class_id: int
    seed: int
    arch_str: str
    table: dict[str, float]  # final-epoch values in the table
    rerun: dict[str, float]  # final-epoch values of the re-run
    max_abs_diff: float  # over every compared metric and epoch; inf where NaN or diverged differ
    same_setup: bool = True  # trained on this machine's setup, so it must match to atol
    # trained elsewhere: the percentage of the table's seed-to-seed changes (same class, two seeds) that
    # are smaller than this re-run's change of final valid or test accuracy, the larger; inf where only one of
    # table and re-run diverged or a value is NaN, 0 where both diverged
    noise_percentile: float = float("nan")

    def passed(self, atol: float, noise_quantile: float = 0.99) -> bool:
        """Same setup: every value within ``atol``. Another setup, whose float order makes a re-run
        differ like a new seed at most: a change no larger than ``noise_quantile`` of seed-to-seed changes."""
        if self.same_setup:
            return bool(self.max_abs_diff <= atol)
        return bool(self.noise_percentile <= 100 * noise_quantile)  # inf (NaN, diverged only once) fails


@dataclass
class Verification:
    entries: list[VerifiedEntry]
    drawn: str  # which entries they were drawn from, in words
    setup: dict  # this machine's, as a build run records it (:func:`this_setup`)
    # sorted |seed a - seed b| of each final accuracy in NOISE_JUDGED (:func:`_seed_changes`); empty when every
    # entry drawn is of this machine's setup
    seed_changes: dict[str, np.ndarray] = field(default_factory=dict)

    def spread(self, noise_quantile: float = 0.99) -> dict[str, float]:
        """The largest change of each :data:`NOISE_JUDGED` accuracy that :meth:`VerifiedEntry.passed` accepts for an
        entry of another setup: the ``noise_quantile`` of the table's seed-to-seed changes."""
        return {metric: float(changes[min(int(noise_quantile * len(changes)), len(changes) - 1)])
                for metric, changes in self.seed_changes.items() if len(changes)}


def verify_table(path: str | Path, num_entries: int = 5, rng_seed: int = 0, device: str = "cpu",
                 any_setup: bool = False, progress: bool = True) -> Verification:
    """Re-train ``num_entries`` random finished entries of the table at ``path`` and compare.

    Only entries whose build run had this machine's setup (:func:`same_setup`) can be expected
    to re-run bit for bit, so they are drawn from those; with ``any_setup``, or where no entry
    was trained on this machine's setup (a table checked anywhere but where it was built), they
    are drawn from all, and an entry of another setup is judged against the table's seed noise
    instead (:meth:`VerifiedEntry.passed`, :meth:`Verification.spread`). ``progress``: a bar
    (stderr) over the entries, each a training run.
    """
    check_device(device)
    table = read_table(path)
    space = _space_of(table, str(path))  # refuses a table whose space this nasbench rebuilds differently
    recipe = Recipe(**json.loads(table.attrs["recipe"]))
    dataset = DatasetConfig(**json.loads(table.attrs["dataset"]))
    seeds = json.loads(table.attrs["seeds"])
    data = load_dataset(dataset)
    if data.fingerprint != table.attrs["dataset_fingerprint"]:
        raise TableError(
            f"{path}: dataset fingerprint {table.attrs['dataset_fingerprint'][:12]} differs from this machine's "
            f"{data.fingerprint[:12]} (another mnist1d version?); entries cannot be re-trained identically"
        )
    if num_entries < 1:
        raise ValueError(f"number of entries must be >= 1, got {num_entries}")
    done = table.entries["done"]
    if not done.any():
        raise TableError(f"{path}: no finished entries to verify")
    # The re-run uses the build's threads per training process, for the same float order.
    with torch_threads(int(attr_json(table, "machine", {}).get("threads_per_worker", 1))):
        here = this_setup(space, data, recipe, device)
        runs = {run["run"]: run for run in attr_json(table, "build_history", []) if run.get("run")}
        matching = sorted(key for key, run in runs.items() if same_setup(run, here))
        eligible = done & np.isin(table.entries["run"], matching)
        if any_setup:
            pool = done
            drawn = (f"drawn from all {int(done.sum())} entries (--any-setup; {int(eligible.sum())} of them trained on this "
                     "machine's setup)")
        elif eligible.any():
            pool = eligible
            drawn = (f"drawn from the {int(eligible.sum())} of {int(done.sum())} entries trained on this machine's setup "
                     f"(float fingerprint {here['float_fingerprint']}); the others can be checked bit for bit only on theirs")
        else:
            pool = done
            drawn = (f"drawn from all {int(done.sum())} entries: none was trained on this machine's setup "
                     f"({describe_setup(here)}), so none re-runs bit for bit here, and each is judged by the table's "
                     "seed-to-seed spread")
        seed_changes = _seed_changes(table) if (pool & ~eligible).any() else {}
        if seed_changes and min(len(v) for v in seed_changes.values()) == 0:
            raise TableError(f"{path}: no class has two trained seeds, so the seed noise that judges entries of other "
                             "setups is unknown; verify on a machine of the table's setup")
        candidates = np.argwhere(pool)
        picks = candidates[np.random.default_rng(rng_seed).choice(len(candidates), size=min(num_entries, len(candidates)),
                                                                  replace=False)]
        out, stacks = [], {}
        for c, s in tqdm(picks, desc=f"verify {Path(path).name}", unit="entry", disable=not progress):
            index = int(table.representative[c])
            expected = space.to_string(tuple(space.all_decisions[index]))
            if str(table.arch["arch_str"][index]) != expected:
                raise TableError(f"{path}: architecture {index} is stored as {table.arch['arch_str'][index]!r} but this nasbench "
                                 f"reads it as {expected!r}; the table was written by an incompatible nasbench")
            if recipe.archs_per_step is not None:  # trained in a union network: re-train that union (once per union)
                union = int(table.entries["union"][c, s])
                if union < 0:
                    raise TableError(f"{path}: entry (class {c}, seed {seeds[s]}) records no union, but the recipe trains "
                                     "in unions (train.archs_per_step); the table is inconsistent")
                if union not in stacks:
                    members = [int(m) for m in np.flatnonzero((table.entries["union"] == union).any(axis=1))]
                    archs = [tuple(space.all_decisions[int(table.representative[m])]) for m in members]
                    trained = train_union(space, archs, data, recipe, [int(v) for v in seeds], device)
                    stacks[union] = dict(zip(members, trained))
                result = stacks[union][int(c)][s]
            elif recipe.stack_seeds:  # the entry was trained in its class's stack: re-train the stack (once per class)
                if c not in stacks:
                    stacks[c] = train_stacked(space, tuple(space.all_decisions[index]), data, recipe,
                                              [int(v) for v in seeds], device)
                result = stacks[c][s]
            else:
                result = train(space, tuple(space.all_decisions[index]), data, recipe, int(seeds[s]), device)
            diffs = [_max_abs_diff(result.curves[m], table.epochs[m][c, s]) for m in COMPARED]
            if result.diverged != bool(table.entries["diverged"][c, s]):
                diffs.append(np.inf)
            same = bool(eligible[c, s])
            percentile = float("nan") if same else _noise_percentile(result, table, c, s, seed_changes)
            out.append(
                VerifiedEntry(
                    class_id=int(c),
                    seed=int(seeds[s]),
                    arch_str=str(table.arch["arch_str"][index]),
                    table={m: float(table.epochs[m][c, s, -1]) for m in COMPARED},
                    rerun={m: float(result.curves[m][-1]) for m in COMPARED},
                    max_abs_diff=float(max(diffs)),
                    same_setup=same,
                    noise_percentile=percentile,
                )
            )
    return Verification(out, drawn, here, seed_changes)


def _seed_changes(table) -> dict[str, np.ndarray]:
    """|seed a - seed b| of each final accuracy in :data:`NOISE_JUDGED`, over every class and pair of its trained,
    non-diverged seeds: how far a re-run may move by chance."""
    ok = table.entries["done"] & ~table.entries["diverged"]
    changes = {}
    for metric in NOISE_JUDGED:
        final = np.where(ok, table.epochs[metric][:, :, -1], np.nan)
        pairs = [np.abs(final[:, a] - final[:, b]) for a in range(final.shape[1]) for b in range(a + 1, final.shape[1])]
        values = np.concatenate(pairs) if pairs else np.array([])
        changes[metric] = np.sort(values[np.isfinite(values)])
    return changes


def _noise_percentile(result, table, c: int, s: int, seed_changes: dict[str, np.ndarray]) -> float:
    """Where the re-run's change of final accuracy lies among the table's seed-to-seed changes (0-100)."""
    diverged = bool(table.entries["diverged"][c, s])
    if result.diverged != diverged:
        return float("inf")
    if diverged:  # both diverged (their curves stop with NaN): the flag is what can agree
        return 0.0
    worst = 0.0
    for metric in NOISE_JUDGED:
        change = abs(float(result.curves[metric][-1]) - float(table.epochs[metric][c, s, -1]))
        if not np.isfinite(change):
            return float("inf")
        smaller = np.searchsorted(seed_changes[metric], change, side="left")
        worst = max(worst, 100.0 * smaller / len(seed_changes[metric]))
    return worst


def this_setup(space, data, recipe: Recipe, device: str = "cpu") -> dict:
    """This machine's setup as a build run records it (with the calling process's torch threads)."""
    import torch

    from nasbench.provenance import library_versions
    from nasbench.train.trainer import float_fingerprint, machine_description

    described, versions = machine_description(), library_versions()
    return {"machine": described.get("cpu", ""), "cpu_capability": described.get("cpu_capability"), "device": device,
            "threads_per_worker": torch.get_num_threads(), "torch": versions["torch"], "numpy": versions["numpy"],
            "float_fingerprint": float_fingerprint(space, data, recipe, device)}


#: the libraries a re-trained entry can depend on (the others a table records do not train)
TRAINING_LIBRARIES = ("torch", "numpy", "mnist1d", "h5py")


def provenance_notes(path: str | Path, device: str = "cpu", here_setup: dict | None = None) -> list[str]:
    """Where this re-run differs from how the table was built (code commits, library versions), one line each.

    Differences do not fail a verification; they say why a mismatch may not be an error in the table.
    ``here_setup`` (:func:`this_setup`) adds the build runs whose setup is not, or may not be, this one.
    """
    from nasbench.provenance import git_commit, library_versions

    table = read_table(path)
    here = git_commit()
    built = build_commits(attr_json(table, "build_history", []), table.attrs.get("git_commit"))
    notes = []
    if built and here not in built:
        shown = built[0] if len(built) == 1 else f"{len(built)} commits ({built[0][:12]} .. {built[-1][:12]})"
        notes.append(f"code: the table was built at {shown}, this is {here[:12]}")
    built_on = attr_json(table, "machine", {}).get("device", "cpu")
    if device != built_on:
        notes.append(f"device: the table was trained on {built_on}, this re-run uses {device}")
    recorded = attr_json(table, "versions", {})
    current = library_versions()
    changed = [f"{name} {version} (table) vs {current.get(name)} (here)" for name, version in recorded.items()
               if name in TRAINING_LIBRARIES and current.get(name) != version]
    if changed:
        notes.append("libraries: " + ", ".join(changed))
    others = other_setups(attr_json(table, "build_history", []), here_setup) if here_setup else []
    if others:
        notes.append("setups: build runs also trained on " + "; ".join(others)
                     + " (float order differs between CPUs and library versions: their entries may not re-run bit for bit)")
    return notes


def run_setup(run: dict) -> tuple:
    """What a build run recorded of its float order: CPU, torch's CPU kernels, device, torch and numpy."""
    return (run.get("machine", ""), run.get("cpu_capability"), str(run.get("device", "cpu")).split(":")[0],
            run.get("torch"), run.get("numpy"))


def same_setup(run: dict, other: dict) -> bool | None:
    """Whether two build runs (or a run and :func:`this_setup`) train bit for bit alike.

    By their float fingerprints where both recorded one (the measured answer), else by
    :func:`run_setup` and threads per worker where both recorded torch's kernels; None
    where neither tells.
    """
    if run.get("float_fingerprint") and other.get("float_fingerprint"):
        return run["float_fingerprint"] == other["float_fingerprint"] and run_setup(run)[2:] == run_setup(other)[2:]
    if run.get("cpu_capability") and other.get("cpu_capability"):
        threads = run.get("threads_per_worker"), other.get("threads_per_worker")
        return run_setup(run) == run_setup(other) and (None in threads or threads[0] == threads[1])
    return None


def describe_setup(run: dict) -> str:
    machine, capability, device, torch_version, numpy_version = run_setup(run)
    libraries = f"torch {torch_version}, numpy {numpy_version}" if torch_version else "libraries not recorded"
    kernels = f", {capability} kernels" if capability else ""
    threads = f", {run['threads_per_worker']} thread(s) per worker" if run.get("threads_per_worker") else ""
    fingerprint = f", float fingerprint {run['float_fingerprint']}" if run.get("float_fingerprint") else ""
    return f"{machine} ({device}{kernels}{threads}{fingerprint}) with {libraries}"


def other_setups(history: list[dict], here: dict) -> list[str]:
    """Build runs of ``history`` that did not, or may not, train like ``here`` (a run record): one line each."""
    return list(dict.fromkeys(describe_setup(run) for run in history if not same_setup(run, here)))


def _max_abs_diff(rerun: np.ndarray, stored: np.ndarray) -> float:
    """Largest absolute difference; infinite where only one side is NaN."""
    same = (rerun == stored) | (np.isnan(rerun) & np.isnan(stored))
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(rerun - stored))
    return float(np.nan_to_num(diff, nan=np.inf).max(initial=0.0))
