"""``nasbench-table-report``: a first look at a table (figures and numbers in ``reports/table/``)."""

from __future__ import annotations

import argparse

from nasbench.cli.common import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nasbench-table-report", description=__doc__.replace("``", ""))
    parser.add_argument("--table", default=None, help="table file or a shipped table's name (default: the default shipped table)")
    parser.add_argument("--out", default="reports/table", help="report folder (default reports/table)")
    args = parser.parse_args(argv)
    from nasbench.io import output_folder

    output_folder(args.out, "--out")
    from nasbench.report.table_look import write_table_report
    from nasbench.table import Benchmark

    out = write_table_report(Benchmark.load(args.table), args.out)
    print(f"report written to {out}/README.md")


if __name__ == "__main__":
    main()
