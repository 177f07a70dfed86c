"""``nasbench-report DIR``: turn a finished nasbench-search multirun folder into a report.

``--pareto``: the multi-objective report of a sweep run with ``objectives=[...]``
(true front against each strategy's front, hypervolume over time and its tests).
``--drift``: the op shares of the cells DARTS / GDAS runs derived, over supernet epochs.
``--fidelity SURROGATE_DIR``: DIR holds a sweep on a table, SURROGATE_DIR the same sweep on
a surrogate of it; the report sets their regret curves side by side and measures how
alike they rank the strategies.
"""

from __future__ import annotations

import argparse

from nasbench.cli.common import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nasbench-report", description=__doc__.replace("``", ""))
    parser.add_argument("directory", help="a nasbench-search -m output folder (result.json files below it)")
    parser.add_argument("--out", default=None, help="report folder (default: DIR/report)")
    parser.add_argument("--title", default=None, help="default: Strategy comparison (Multi-objective comparison with --pareto)")
    parser.add_argument("--pareto", action="store_true", help="the multi-objective report (runs made with objectives=[...])")
    parser.add_argument("--truth", default=None, metavar="TABLE",
                        help="re-score every run's ground truth against this table (runs made on a partial table); 'shipped' for the shipped one")
    parser.add_argument("--drift", action="store_true", help="the op-drift report of gradient one-shot runs (darts, gdas)")
    parser.add_argument("--fidelity", default=None, metavar="SURROGATE_DIR",
                        help="the same sweep run on a surrogate: report table vs surrogate trajectories and rank agreement")
    args = parser.parse_args(argv)
    from pathlib import Path

    from nasbench.io import output_folder

    out_dir = output_folder(args.out, "--out") if args.out else Path(args.directory) / "report"
    truth = None
    if args.truth and args.pareto:
        raise ValueError("--truth re-scores single-objective runs; it does not apply to --pareto reports")
    if args.pareto and args.drift:
        raise ValueError("--pareto and --drift are different reports; give one of them")
    if args.fidelity and (args.pareto or args.drift):
        raise ValueError("--fidelity compares single-objective sweeps; it does not combine with --pareto or --drift")
    if args.truth:
        from nasbench.table import Benchmark

        truth = Benchmark.load(None if args.truth == "shipped" else args.truth)
    if args.fidelity:
        from nasbench.report.fidelity import write_fidelity_report

        out = write_fidelity_report(
            args.directory, args.fidelity, out_dir, args.title or "Trajectory fidelity: table vs surrogate", truth, check_kinds=True
        )
    elif args.drift:
        from nasbench.report.oneshot import write_drift_report

        out = write_drift_report(args.directory, out_dir, truth)
    elif args.pareto:
        from nasbench.report.pareto import write_pareto_report

        out = write_pareto_report(args.directory, out_dir, args.title or "Multi-objective comparison")
    else:
        from nasbench.report.comparison import write_report

        out = write_report(args.directory, out_dir, args.title or "Strategy comparison", truth=truth)
    print(f"report written to {out}/README.md")


if __name__ == "__main__":
    main()
