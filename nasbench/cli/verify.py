"""``nasbench-verify``: re-train random table entries with the table's own recipe and compare.

Entries are drawn from those trained on this machine's setup (same float
fingerprint): exits 1 when any compared value (train/valid/test accuracy and loss,
every epoch) differs from the table by more than ``--atol``; on the same setup a
re-run matches exactly. Where no entry was trained on this machine's setup (any
machine but the build's), or with ``--any-setup``, entries are drawn from all, and
those of other setups, whose float order differs, must move their final valid and
test accuracy no more than ``--noise-quantile`` of the table's seed-to-seed changes:
a re-run there differs like a new seed at most. Each entry's line says which test it
passed or failed, with the numbers.
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
    parser.add_argument("--table", default=None, help="table file or a shipped table's name (default: the default shipped table)")
    parser.add_argument("-n", "--num-entries", type=int, default=5, help="entries to re-train (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random choice of entries")
    parser.add_argument("--atol", type=float, default=1e-4, help="largest accepted absolute difference (default 1e-4)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--any-setup", action="store_true",
                        help="draw from every entry even where some were trained on this machine's setup (others may "
                             "differ by float order, and are judged by seed noise)")
    parser.add_argument("--noise-quantile", type=float, default=0.99,
                        help="entries of other setups: largest accepted change, as a quantile of seed-to-seed changes "
                             "(default 0.99)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if args.atol < 0:
        raise ValueError("--atol must be >= 0")
    if not 0 < args.noise_quantile < 1:
        raise ValueError(f"--noise-quantile must be in (0, 1), got {args.noise_quantile}")
    from nasbench.train.recipe import check_device

    check_device(args.device)  # before the table is read and torch is loaded
    from nasbench.io import finite
    from nasbench.table.benchmark import resolve_table_path
    from nasbench.train.verify import provenance_notes, verify_table

    path = resolve_table_path(args.table)
    verification = verify_table(path, args.num_entries, args.seed, args.device, args.any_setup)
    entries = verification.entries
    ok = all(e.passed(args.atol, args.noise_quantile) for e in entries)
    notes = provenance_notes(path, args.device, verification.setup)
    spread = verification.spread(args.noise_quantile)
    if args.json:
        report = {"table": str(path), "atol": args.atol, "noise_quantile": args.noise_quantile, "passed": ok, "drawn": verification.drawn, "setup": verification.setup,
                  "notes": notes, "seed_spread": spread, "entries": [e.__dict__ for e in entries]}
        print(json.dumps(finite(report), indent=2, allow_nan=False))
    else:
        for note in notes:
            print(f"note: {note}")
        print(f"entries {verification.drawn}")
        print(f"{'class':>6} {'seed':>4}  {'valid acc (table)':>17} {'(re-run)':>9}  verdict")
        for e in entries:
            print(f"{e.class_id:>6} {e.seed:>4}  {e.table['valid_accuracy']:>17.4f} {e.rerun['valid_accuracy']:>9.4f}  "
                  f"{verdict(e, args.atol, args.noise_quantile, spread)}  {e.arch_str}")
        same = sum(e.same_setup for e in entries)
        print(f"{'passed' if ok else 'FAILED'}: {sum(e.passed(args.atol, args.noise_quantile) for e in entries)} of "
              f"{len(entries)} entries ({same} of this setup, judged within atol={args.atol}; {len(entries) - same} of "
              f"other setups, judged by final valid and test accuracy within the {args.noise_quantile:g} quantile of "
              "seed-to-seed changes)")
    sys.exit(0 if ok else 1)


def verdict(entry, atol: float, noise_quantile: float, spread: dict[str, float]) -> str:
    """What passing means for ``entry``, in one phrase with its numbers: ``ok: ...`` or ``MISMATCH: ...``."""
    mark = "ok" if entry.passed(atol, noise_quantile) else "MISMATCH"
    if entry.same_setup:  # trained on this machine's setup: every value, every epoch, must come back
        within = "within" if entry.max_abs_diff <= atol else "beyond"
        return f"{mark}: this setup, every value {within} atol {atol:g} of the table (largest difference {entry.max_abs_diff:.2g})"
    from nasbench.train.verify import NOISE_JUDGED

    changes = {m: abs(entry.rerun[m] - entry.table[m]) for m in NOISE_JUDGED}
    if not all(math.isfinite(c) for c in changes.values()):  # a diverged run's curves end in NaN
        agree = "diverged in both" if mark == "ok" else "diverged (or gave NaN) in only one of table and re-run"
        return f"{mark}: other setup, {agree}"
    moved = ", ".join(f"{m.split('_')[0]} {c:.4f}" for m, c in changes.items())
    limit = ", ".join(f"{m.split('_')[0]} {spread[m]:.4f}" for m in NOISE_JUDGED if m in spread)
    within = "within" if entry.passed(atol, noise_quantile) else "beyond"
    return (f"{mark}: other setup, final accuracy moved {moved}: {within} the table's seed-to-seed spread "
            f"({noise_quantile:g} of its seed changes are at most {limit})")


if __name__ == "__main__":
    main()
