"""The simulated workers against syne-tune's simulator: random search, 4 workers, the flagship table.

    python reports/parallel/synetune_check.py      # -> reports/parallel/synetune_check.{json,md} (about 30 min)

Both count the evaluations that finish within the same wall-clock budget, over 20 seeds each
(nasbench.compat.synetune.compare_with_simulator): once with the simulator modelling training
time alone, as nasbench's runner does, and once with its default overheads (0.05 s for each
start, result and completion).
"""

from __future__ import annotations

from pathlib import Path

from nasbench.compat.synetune import compare_with_simulator
from nasbench.io import write_json, write_text
from nasbench.provenance import report_provenance, short

OUT = Path(__file__).resolve().parent
SECONDS, WORKERS, SEEDS, SLEEP = 500.0, 4, 20, 0.02


def main() -> None:
    checks = [compare_with_simulator(None, SECONDS, WORKERS, SEEDS, SLEEP, delay) for delay in (0.0, 0.05)]
    import syne_tune

    provenance = {**report_provenance(syne_tune=syne_tune.__version__), "command": "python reports/parallel/synetune_check.py"}
    write_json(OUT / "synetune_check.json", {"checks": checks, "provenance": provenance}, sort_keys=False)
    lines = [
        "# Simulated workers against syne-tune's simulator",
        "",
        f"Random search on {WORKERS} workers for {SECONDS:,.0f} simulated seconds of wall-clock time on the flagship "
        f"table, {SEEDS} seeds in each simulator: the evaluations (trials trained to the last epoch) that finish "
        "within the budget. The two draw architectures and training seeds from different generators, so the counts "
        f"can agree only in distribution. syne-tune's tuner wakes every {SLEEP} simulated s to start trials.",
        "",
        "| syne-tune overheads per trial event | nasbench, mean | syne-tune, mean | difference | SE | Welch p |",
        "|---|---|---|---|---|---|",
    ]
    for check in checks:
        lines.append(f"| {check['delay']:g} s | {check['mean_nasbench']:.1f} | {check['mean_syne_tune']:.1f} | "
                     f"{check['difference']:+.1f} | {check['se_difference']:.1f} | {check['welch_p']:.2g} |")
    exact, default = checks
    agree = "agree" if exact["welch_p"] > 0.05 else "do not agree"
    lines += [
        "",
        f"Modelling training time alone, the two simulators {agree} within the randomness of the draws "
        f"(difference {exact['difference']:+.1f} evaluations, standard error {exact['se_difference']:.1f}). With "
        f"syne-tune's default overheads its workers finish {abs(default['difference']):.1f} "
        f"{'fewer' if default['difference'] > 0 else 'more'} evaluations "
        f"({abs(100 * default['difference'] / default['mean_nasbench']):.1f}%): the time they spend between trials.",
        "",
        "Counts per seed: `synetune_check.json`.",
        "",
        f"Made by `{provenance['command']}` at git commit `{short(provenance['git_commit'])}`; library versions in "
        "`synetune_check.json` (`provenance`).",
        "",
    ]
    write_text(OUT / "synetune_check.md", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
