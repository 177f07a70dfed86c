"""The summary of ``benchmarks/gpu_check.sh``: one JSON file of what its steps found.

``python benchmarks/gpu_summary.py OUT_DIR --table TABLE --device cuda tests=0 benchmark=0 ...`` reads the
benchmark's and the verification's JSON from ``OUT_DIR`` and the table's own records, checks on the device
whether a class trains the same whatever classes share its union (the tiny space, three architectures, one
epoch), and writes ``OUT_DIR/summary.json`` (also printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def device_info() -> dict:
    import torch

    info = {"torch": torch.__version__, "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        info.update(name=torch.cuda.get_device_name(), capability=".".join(map(str, torch.cuda.get_device_capability())),
                    cuda_version=torch.version.cuda)
    return info


def benchmark_rates(path: Path) -> dict:
    """Per benchmark of ``benchmarks/test_gpu_speed.py``: entries per GPU-hour, the ratio to the stacked path, phases."""
    if not path.exists():
        return {"missing": str(path)}
    keep = ("entries", "seconds", "entries_per_gpu_hour", "ratio_vs_stacked", "training_seconds", "phases",
            "max_memory_gib")
    return {b["name"]: {k: b["extra_info"][k] for k in keep if k in b["extra_info"]}
            for b in json.loads(path.read_text()).get("benchmarks", [])}


def table_record(path: Path) -> dict:
    if not path.exists():
        return {"missing": str(path)}
    from nasbench.table.store import attr_json, read_table

    table = read_table(path)
    done = table.entries["done"]
    machine = attr_json(table, "machine", {})
    return {"entries": int(done.sum()), "unions": int(len(set(table.entries["union"][done].tolist()))),
            "recipe": attr_json(table, "recipe"), "device": machine.get("device"),
            "float_fingerprint": machine.get("float_fingerprint"), "build_seconds": table.attrs.get("build_seconds")}


def verification(path: Path) -> dict:
    if not path.exists() or not path.read_text().strip():
        return {"missing": str(path)}
    report = json.loads(path.read_text())
    return {"passed": report["passed"], "drawn": report["drawn"],
            "max_abs_diff": [e["max_abs_diff"] for e in report["entries"]],
            "same_setup": [e["same_setup"] for e in report["entries"]]}


def companions_matter(device: str) -> dict:
    """Train one architecture in two unions of three (other companions, another place): are its curves the same?"""
    import numpy as np

    from nasbench.space import CellSpace
    from nasbench.train.data import DatasetConfig, load_dataset
    from nasbench.train.recipe import Recipe
    from nasbench.train.union import train_union

    space = CellSpace(num_nodes=3, ops=["none", "skip_connect", "nor_conv_3x3"], channels=[4, 8])  # space=tiny
    data = load_dataset(DatasetConfig(n_train=400, n_valid=300, n_test=300))  # dataset=tiny
    a, b, c = (tuple(int(d) for d in space.all_decisions[r]) for r in space.representatives()[-3:])
    recipe = Recipe(epochs=1, batch_size=128, latency_repeats=0, stack_seeds=True, archs_per_step=3)
    first = train_union(space, [a, b, c], data, recipe, [0, 1], device)[0]
    second = train_union(space, [c, a], data, recipe, [0, 1], device)[1]
    largest = max(float(np.nanmax(np.abs(x.curves[k] - y.curves[k]), initial=0.0))
                  for x, y in zip(first, second) for k in x.curves if k != "epoch_time")
    same = all(np.array_equal(x.curves[k], y.curves[k], equal_nan=True)
               for x, y in zip(first, second) for k in x.curves if k != "epoch_time")
    return {"bit_identical": same, "largest_difference": largest}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--table", type=Path, required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("steps", nargs="*", help="NAME=EXIT_STATUS of each step")
    args = parser.parse_intermixed_args(argv)
    summary = {"device": device_info(), "steps": {s.split("=")[0]: int(s.split("=")[1]) for s in args.steps},
               "benchmark": benchmark_rates(args.out / "benchmark.json"), "table": table_record(args.table),
               "verify": verification(args.out / "verify.json"),
               "same_whatever_shares_the_union": companions_matter(args.device)}
    text = json.dumps(summary, indent=2, default=str)
    (args.out / "summary.json").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
