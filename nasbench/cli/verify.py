"""``nasbench-verify``: re-train random table entries with the table's own recipe and compare.

Entries are drawn from those trained on this machine's setup (same float
fingerprint): exits 1 when any compared value (train/valid/test accuracy and loss,
every epoch) differs from the table by more than ``--atol``; on the same setup a
re-run matches exactly. With ``--any-setup`` entries of other setups, whose float
order differs, must move their final valid and test accuracy no more than
``--noise-quantile`` of the table's seed-to-seed changes.
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
    parser.add_argument("--any-setup", action="store_true",
                        help="draw from every entry, not only those trained on this machine's setup (others may differ "
                             "by float order)")
    parser.add_argument("--noise-quantile", type=float, default=0.99,
                        help="entries of other setups: largest accepted change, as a quantile of seed-to-seed changes "
                             "(default 0.99)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if args.atol < 0:
        raise ValueError("--atol must be >= 0")
    if not 0 < args.noise_quantile < 1:
        raise ValueError(f"--noise-quantile must be in (0, 1), got {args.noise_quantile}")
    from nasbench.table.benchmark import resolve_table_path
    from nasbench.train.verify import provenance_notes, verify_table

    path = resolve_table_path(args.table)
    verification = verify_table(path, args.num_entries, args.seed, args.device, args.any_setup)
    entries = verification.entries
    ok = all(e.passed(args.atol, args.noise_quantile) for e in entries)
    notes = provenance_notes(path, args.device, verification.setup)
    if args.json:
        report = {"table": str(path), "atol": args.atol, "noise_quantile": args.noise_quantile, "passed": ok, "drawn": verification.drawn, "setup": verification.setup,
                  "notes": notes, "entries": [e.__dict__ for e in entries]}
        print(json.dumps(strict_json(report), indent=2, allow_nan=False))
    else:
        for note in notes:
            print(f"note: {note}")
        print(f"entries {verification.drawn}")
        print(f"{'class':>6} {'seed':>4}  {'valid acc (table)':>17} {'(re-run)':>9} {'max |diff|':>11}  {'setup':<24}  arch")
        for e in entries:
            mark = "ok" if e.passed(args.atol, args.noise_quantile) else "MISMATCH"
            setup = "this one" if e.same_setup else f"other: > {e.noise_percentile:.0f}% of seed changes"
            print(f"{e.class_id:>6} {e.seed:>4}  {e.table['valid_accuracy']:>17.4f} {e.rerun['valid_accuracy']:>9.4f} "
                  f"{e.max_abs_diff:>11.2e}  {setup:<24}  {e.arch_str}  {mark}")
        same = sum(e.same_setup for e in entries)
        print(f"{'passed' if ok else 'FAILED'}: {sum(e.passed(args.atol, args.noise_quantile) for e in entries)} of "
              f"{len(entries)} entries ({same} of this setup, judged within atol={args.atol}; {len(entries) - same} of "
              f"other setups, judged by final valid and test accuracy within the {args.noise_quantile:g} quantile of "
              "seed-to-seed changes)")
    sys.exit(0 if ok else 1)


def strict_json(value):
    """``value`` with every NaN/inf float (a diverged or one-sided NaN value) as None: strict JSON has neither."""
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


if __name__ == "__main__":
    main()
