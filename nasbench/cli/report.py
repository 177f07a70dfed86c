"""``nasbench-report DIR``: turn a finished nasbench-search multirun folder into a report."""

from __future__ import annotations

import argparse

from nasbench.cli.common import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nasbench-report", description=__doc__)
    parser.add_argument("directory", help="a nasbench-search -m output folder (result.json files below it)")
    parser.add_argument("--out", default=None, help="report folder (default: DIR/report)")
    parser.add_argument("--title", default="Strategy comparison")
    args = parser.parse_args(argv)
    from pathlib import Path

    from nasbench.report.comparison import write_report

    out = write_report(args.directory, args.out or Path(args.directory) / "report", args.title)
    print(f"report written to {out}/README.md")


if __name__ == "__main__":
    main()
