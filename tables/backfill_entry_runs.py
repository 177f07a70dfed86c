"""One-off provenance repair: record the build run that trained entries a run trained before
entries recorded it (nasbench before 2026-12-06), where git history says which run that was.

Entries done in TABLE but not in TABLE as committed at BASE were trained by the runs that
TABLE's ``build_history`` adds after BASE's. When that is exactly one run, those entries get
its id; ``--fingerprint-here`` also records this machine's float fingerprint in that run's
record, which is right only on the machine that ran it (the same session). Anything else
is refused; entries it cannot attribute keep "" (not recorded).

    python tables/backfill_entry_runs.py --base 9ace0b9 --fingerprint-here tables/nb201-mnist1d.h5
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from nasbench.table.benchmark import _space_of
from nasbench.table.store import read_table, write_table
from nasbench.train.data import DatasetConfig, load_dataset
from nasbench.train.recipe import Recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("table")
    parser.add_argument("--base", required=True, help="git commit whose committed TABLE came before the run")
    parser.add_argument("--fingerprint-here", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before_path = Path(tmp) / "base.h5"
        inside = subprocess.run(["git", "ls-files", "--full-name", "--error-unmatch", args.table], capture_output=True, text=True)
        if inside.returncode != 0:
            raise SystemExit(f"error: {args.table} is not a file git tracks here")
        shown = subprocess.run(["git", "show", f"{args.base}:{inside.stdout.strip()}"], capture_output=True)
        if shown.returncode != 0:
            raise SystemExit(f"error: no {args.table} at {args.base}: {shown.stderr.decode().strip()}")
        before_path.write_bytes(shown.stdout)
        before = read_table(before_path)
    table = read_table(args.table)
    history, old = json.loads(table.attrs["build_history"]), json.loads(before.attrs["build_history"])
    added = history[len(old):]
    if [r.get("started") for r in history[:len(old)]] != [r.get("started") for r in old]:
        raise SystemExit(f"error: {args.table}'s build history does not extend the one at {args.base}")
    if len(added) != 1 or not added[0].get("run"):
        raise SystemExit(f"error: {len(added)} runs since {args.base} (need exactly one, with an id); cannot attribute")
    new = table.entries["done"] & ~before.entries["done"]
    if (table.entries["run"][new] != "").any():
        raise SystemExit("error: some new entries already record a run")
    table.entries["run"][new] = added[0]["run"]
    if args.fingerprint_here:
        from nasbench.train.trainer import torch_threads
        from nasbench.train.verify import run_setup, this_setup

        space = _space_of(table, args.table)
        data = load_dataset(DatasetConfig(**json.loads(table.attrs["dataset"])))
        if data.fingerprint != table.attrs["dataset_fingerprint"]:
            raise SystemExit("error: this machine's dataset differs from the table's")
        machine = json.loads(table.attrs["machine"])
        with torch_threads(int(machine["threads_per_worker"])):
            here = this_setup(space, data, Recipe(**json.loads(table.attrs["recipe"])), added[0]["device"])
        if run_setup(here) != run_setup(added[0]):
            raise SystemExit(f"error: this machine {run_setup(here)} is not the run's {run_setup(added[0])}")
        fingerprint = here["float_fingerprint"]
        added[0]["float_fingerprint"] = fingerprint
        table.attrs["machine"] = json.dumps({**machine, "float_fingerprint": fingerprint})
        table.attrs["build_history"] = json.dumps(history)
    write_table(args.table, table)
    print(f"{int(new.sum())} entries now record run {added[0]['run']}"
          + (f" (float fingerprint {added[0]['float_fingerprint']})" if args.fingerprint_here else ""))


if __name__ == "__main__":
    main()
