"""``nasbench-pilot``: choose a table's setup on a sample of classes before building it exhaustively.

  nasbench-pilot sample --table nb201-mnist1d.h5 --out reports/pilot   # classes.csv + classes.txt
  nasbench-build classes_file=reports/pilot/classes.txt seeds=[0,1] space.reduction=pool output=...
  nasbench-pilot report --sample reports/pilot/classes.csv --out reports/pilot NAME=TABLE [NAME=TABLE ...]

See :mod:`nasbench.report.pilot` for what the report measures.
"""

from __future__ import annotations

import argparse

from nasbench.cli.common import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nasbench-pilot", description=__doc__.split("\n\n")[0].replace("``", ""))
    sub = parser.add_subparsers(dest="command", required=True)
    sample = sub.add_parser("sample", help="draw the stratified class sample (plus the anchor cells)")
    sample.add_argument("--table", default="nb201-mnist1d.h5", help="reference table to stratify over (a shipped name or a path)")
    sample.add_argument("--size", type=int, default=150, help="classes drawn, anchors not counted (default 150)")
    sample.add_argument("--top-share", type=float, default=1 / 3, help="share of the sample from the top decile (default 1/3)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", default="reports/pilot", help="folder for classes.csv and classes.txt")
    report = sub.add_parser("report", help="compare candidate tables built on the sample")
    report.add_argument("--sample", default="reports/pilot/classes.csv")
    report.add_argument("--out", default="reports/pilot")
    report.add_argument("--describe", action="append", default=[], metavar="NAME=TEXT", help="a candidate's setup, in words")
    report.add_argument("candidates", nargs="+", metavar="NAME=TABLE")
    args = parser.parse_args(argv)
    from pathlib import Path

    from nasbench.io import write_text
    from nasbench.report.pilot import write_pilot_report, stratified_sample
    from nasbench.table.benchmark import resolve_table_path

    if args.command == "sample":
        frame = stratified_sample(resolve_table_path(args.table), args.size, args.top_share, seed=args.seed)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "classes.csv", frame.to_csv(index=False))
        write_text(out / "classes.txt", "# the pilot's sample: nasbench-pilot sample (see classes.csv)\n"
                     + "\n".join(frame["arch_str"]) + "\n")
        print(f"{len(frame)} classes ({(frame['weight'] > 0).sum()} drawn, {(frame['stratum'] < 0).sum()} anchors added) "
              f"written to {out / 'classes.csv'} and {out / 'classes.txt'}")
        return
    candidates = {}
    for item in args.candidates:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"candidate {item!r} must be NAME=TABLE")
        candidates[name] = resolve_table_path(path)
    descriptions = {}
    for item in args.describe:
        name, sep, text = item.partition("=")
        if not sep or name not in candidates:
            raise ValueError(f"--describe {item!r} must be NAME=TEXT for a candidate; candidates: {', '.join(candidates)}")
        descriptions[name] = text
    summary = write_pilot_report(candidates, args.sample, args.out, descriptions)
    for name, s in summary["candidates"].items():
        print(f"{name}: all-skip gap {s['all_skip_gap']:.2f} points, top-decile ratio {s['top_decile_ratio']:.2f}, "
              f"RS regret @100 {s['random_search_regret']['100']:.3f} points, {s['core_seconds_per_entry']:.1f} core-s/entry")


if __name__ == "__main__":
    main()
