"""Re-train table entries with the table's own recorded recipe and compare."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nasbench.table.benchmark import _space_of
from nasbench.table.store import TableError, attr_json, build_commits, read_table
from nasbench.train.data import DatasetConfig, load_dataset
from nasbench.train.recipe import Recipe
from nasbench.train.trainer import train

COMPARED = ("train_accuracy", "valid_accuracy", "test_accuracy", "train_loss", "valid_loss", "test_loss")


@dataclass
class VerifiedEntry:
    class_id: int
    seed: int
    arch_str: str
    table: dict[str, float]  # final-epoch values in the table
    rerun: dict[str, float]  # final-epoch values of the re-run
    max_abs_diff: float  # over every compared metric and epoch; inf where NaN or diverged differ

    def passed(self, atol: float) -> bool:
        return bool(self.max_abs_diff <= atol)


def verify_table(path: str | Path, num_entries: int = 5, rng_seed: int = 0, device: str = "cpu") -> list[VerifiedEntry]:
    """Re-train ``num_entries`` random finished entries of the table at ``path``."""
    import torch

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
    done = np.argwhere(table.entries["done"])
    if len(done) == 0:
        raise TableError(f"{path}: no finished entries to verify")
    if num_entries < 1:
        raise ValueError(f"number of entries must be >= 1, got {num_entries}")
    picks = done[np.random.default_rng(rng_seed).choice(len(done), size=min(num_entries, len(done)), replace=False)]
    # The re-run uses the build's threads per training process, for the same float order.
    threads = torch.get_num_threads()
    torch.set_num_threads(int(attr_json(table, "machine", {}).get("threads_per_worker", 1)))
    out = []
    try:
        for c, s in picks:
            index = int(table.representative[c])
            expected = space.to_string(tuple(space.all_decisions[index]))
            if str(table.arch["arch_str"][index]) != expected:
                raise TableError(f"{path}: architecture {index} is stored as {table.arch['arch_str'][index]!r} but this nasbench "
                                 f"reads it as {expected!r}; the table was written by an incompatible nasbench")
            result = train(space, tuple(space.all_decisions[index]), data, recipe, int(seeds[s]), device)
            diffs = [_max_abs_diff(result.curves[m], table.epochs[m][c, s]) for m in COMPARED]
            if result.diverged != bool(table.entries["diverged"][c, s]):
                diffs.append(np.inf)
            out.append(
                VerifiedEntry(
                    class_id=int(c),
                    seed=int(seeds[s]),
                    arch_str=str(table.arch["arch_str"][index]),
                    table={m: float(table.epochs[m][c, s, -1]) for m in COMPARED},
                    rerun={m: float(result.curves[m][-1]) for m in COMPARED},
                    max_abs_diff=float(max(diffs)),
                )
            )
    finally:
        torch.set_num_threads(threads)
    return out


#: the libraries a re-trained entry can depend on (the others a table records do not train)
TRAINING_LIBRARIES = ("torch", "numpy", "mnist1d", "h5py")


def provenance_notes(path: str | Path, device: str = "cpu") -> list[str]:
    """Where this re-run differs from how the table was built (code commits, library versions), one line each.

    Differences do not fail a verification; they say why a mismatch may not be an error in the table.
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
    others = other_setups(attr_json(table, "build_history", []), device)
    if others:
        notes.append("setups: build runs also trained on " + "; ".join(others)
                     + " (float order differs between CPUs and library versions: their entries may not re-run bit for bit)")
    return notes


def run_setup(run: dict) -> tuple:
    """What decides a build run's float order: torch's CPU kernels, the device, torch and numpy."""
    return (run.get("cpu_capability"), str(run.get("device", "cpu")).split(":")[0], run.get("torch"), run.get("numpy"))


def other_setups(history: list[dict], device: str = "cpu") -> list[str]:
    """Build runs on another CPU or device, or with other kernels or torch/numpy versions, than here: one line each.

    Older runs, which recorded no kernels or library versions, are compared by what they recorded.
    """
    from nasbench.provenance import library_versions
    from nasbench.train.trainer import machine_description

    versions, described = library_versions(), machine_description()
    here = run_setup({"cpu_capability": described.get("cpu_capability"), "device": device,
                      "torch": versions["torch"], "numpy": versions["numpy"]})
    lines = []
    for run in history:
        capability, dev, torch_version, numpy_version = setup = run_setup(run)
        if run.get("machine", "") != described.get("cpu", "") or any(
                value is not None and value != mine for value, mine in zip(setup, here)):
            libraries = f"torch {torch_version}, numpy {numpy_version}" if torch_version else "libraries not recorded"
            kernels = f", {capability} kernels" if capability else ""
            lines.append(f"{run.get('machine', '')} ({dev}{kernels}) with {libraries}")
    return list(dict.fromkeys(lines))


def _max_abs_diff(rerun: np.ndarray, stored: np.ndarray) -> float:
    """Largest absolute difference; infinite where only one side is NaN."""
    same = (rerun == stored) | (np.isnan(rerun) & np.isnan(stored))
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(rerun - stored))
    return float(np.nan_to_num(diff, nan=np.inf).max(initial=0.0))
