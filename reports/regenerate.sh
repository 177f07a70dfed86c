#!/usr/bin/env bash
# Regenerate the committed reports with the commands that made them (each report's README
# ends with the command and commit that made it; its summary.json holds the rest).
#
#   reports/regenerate.sh blocks     # the block-space reports from tables/blocks-mnist1d.h5 (minutes)
#   reports/regenerate.sh oneshot    # re-score the committed one-shot runs against the current flagship table
#   reports/regenerate.sh table      # the first look at the flagship table
#
# (A title with commas, colons or parentheses is quoted twice: once for the shell, once for Hydra.)
# Searches on a table are simulated (seconds); the one-shot runs trained supernets for real
# and are kept under reports/*/runs, so only their ground truth is looked up again here.
set -euo pipefail
cd "$(dirname "$0")/.."

blocks() {
    nasbench-table-report --table tables/blocks-mnist1d.h5 --out reports/table-blocks
    nasbench-compare benchmark=blocks out=reports/comparison-blocks title="Strategy comparison on the block table"
    nasbench-compare benchmark=blocks constraint.params=7986 runs_dir=outputs/comparison-blocks-constrained-runs \
        out=reports/comparison-blocks-params-median \
        title="'Strategy comparison on the block table, params at most the median (7,986)'"
    nasbench-compare benchmark=blocks "strategies=[mo_random,nsga2,rea_scalarised,optuna]" \
        "objectives=[valid_accuracy,params]" seeds=10 runs_dir=outputs/pareto-blocks-runs out=reports/pareto-blocks \
        title="'Multi-objective comparison on the block table: valid accuracy vs params'"
    nasbench-surrogate table=tables/blocks-mnist1d.h5 out=surrogate/blocks-mnist1d report=reports/surrogate-blocks
    nasbench-compare benchmark=surrogate benchmark.path=surrogate/blocks-mnist1d benchmark.noise=true budget.seconds=150 \
        runs_dir=outputs/comparison-blocks-surrogate-runs out=reports/comparison-blocks-surrogate \
        title="'Strategy comparison on the block-table surrogate, seed noise on'"
    nasbench-report outputs/comparison-runs --fidelity outputs/comparison-blocks-surrogate-runs \
        --truth blocks-mnist1d.h5 --out reports/fidelity-blocks \
        --title "Trajectory fidelity on the block space: table vs surrogate"
    # the one-shot comparison: the table-based strategies rerun in seconds next to the kept one-shot runs
    nasbench-compare benchmark=blocks "strategies=[random,rea,reinforce]" seeds=5 runs_dir=reports/oneshot-blocks/runs \
        out=outputs/oneshot-blocks-table-only
    nasbench-report reports/oneshot-blocks/runs --out reports/oneshot-blocks \
        --title "One-shot and table-based strategies on the block table"
    nasbench-report reports/oneshot-blocks/runs --drift --out reports/oneshot-blocks/drift
}

oneshot() {
    nasbench-report reports/oneshot/runs --truth shipped --out reports/oneshot \
        --title "One-shot strategies on the flagship table"
    nasbench-report reports/oneshot/runs --truth shipped --drift --out reports/oneshot/drift
    nasbench-report reports/oneshot/darts-150-epochs/runs --truth shipped --drift --out reports/oneshot/darts-150-epochs
}

table() {
    nasbench-table-report
}

case "${1:-}" in
    blocks) blocks ;;
    oneshot) oneshot ;;
    table) table ;;
    *) echo "usage: reports/regenerate.sh blocks|oneshot|table" >&2; exit 2 ;;
esac
