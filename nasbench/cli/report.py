"""``nasbench-report DIR``: turn a finished nasbench-search multirun folder into a report.

``--pareto``: the multi-objective report of a sweep run with ``objectives=[...]``
(true front against each strategy's front, hypervolume over time and its tests).
"""

from __future__ import annotations

import argparse

from nasbench.cli.common import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nasbench-report", description=__doc__)
    parser.add_argument("directory", help="a nasbench-search -m output folder (result.json files below it)")
    parser.add_argument("--out", default=None, help="report folder (default: DIR/report)")
    parser.add_argument("--title", default=None, help="default: Strategy comparison (Multi-objective comparison with --pareto)")
    parser.add_argument("--pareto", action="store_true", help="the multi-objective report (runs made with objectives=[...])")
    args = parser.parse_args(argv)
    from pathlib import Path

    out_dir = args.out or Path(args.directory) / "report"
    if args.pareto:
        from nasbench.report.pareto import write_pareto_report

        out = write_pareto_report(args.directory, out_dir, args.title or "Multi-objective comparison")
    else:
        from nasbench.report.comparison import write_report

        out = write_report(args.directory, out_dir, args.title or "Strategy comparison")
    print(f"report written to {out}/README.md")


if __name__ == "__main__":
    main()
