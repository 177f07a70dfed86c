"""``nasbench-verify``: re-train random table entries with the table's own recipe and compare.

Exits 1 when any compared value (train/valid/test accuracy and loss, every
epoch) differs from the table by more than ``--atol``. On the same machine and
library versions a re-run matches exactly or to float noise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from nasbench.cli.common import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nasbench-verify", description=__doc__.replace("``", ""), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", default=None, help="table file (default: the shipped flagship table)")
    parser.add_argument("-n", "--num-entries", type=int, default=5, help="entries to re-train (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random choice of entries")
    parser.add_argument("--atol", type=float, default=1e-4, help="largest accepted absolute difference (default 1e-4)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if args.atol < 0:
        raise ValueError("--atol must be >= 0")
    from nasbench.train.verify import verify_table

    path = args.table or default_table_path()
    entries = verify_table(path, args.num_entries, args.seed, args.device)
    ok = all(e.passed(args.atol) for e in entries)
    if args.json:
        # strict JSON has no Infinity: a NaN on one side only (an infinite difference) prints as null
        rows = [{k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in e.__dict__.items()} for e in entries]
        print(json.dumps({"table": str(path), "atol": args.atol, "passed": ok, "entries": rows}, indent=2))
    else:
        print(f"{'class':>6} {'seed':>4}  {'valid acc (table)':>17} {'(re-run)':>9} {'max |diff|':>11}  arch")
        for e in entries:
            mark = "ok" if e.passed(args.atol) else "MISMATCH"
            print(f"{e.class_id:>6} {e.seed:>4}  {e.table['valid_accuracy']:>17.4f} {e.rerun['valid_accuracy']:>9.4f} {e.max_abs_diff:>11.2e}  {e.arch_str}  {mark}")
        print(f"{'passed' if ok else 'FAILED'}: {sum(e.passed(args.atol) for e in entries)} of {len(entries)} entries within atol={args.atol}")
    sys.exit(0 if ok else 1)


def default_table_path() -> str:
    from importlib.resources import files

    return str(files("nasbench.tables") / "nb201-mnist1d.h5")


if __name__ == "__main__":
    main()
