#!/usr/bin/env bash
# Regenerate the committed reports with the commands that made them (each report's README
# ends with the command and commit that made it; its summary.json holds the rest).
#
#   reports/regenerate.sh blocks     # the block-space reports from tables/blocks-mnist1d.h5 (minutes)
#   reports/regenerate.sh oneshot    # re-score the committed one-shot runs against the current flagship table
#   reports/regenerate.sh table      # the first look at the flagship table
#   reports/regenerate.sh speed      # the speed benchmarks of the shipped table and surrogate -> reports/speed (minutes)
#   reports/regenerate.sh generator  # the generator's profile and its throughput against the plain loop
#                                    # -> reports/speed/generator (about half an hour on 2 shared cores)
#   reports/regenerate.sh flagship   # every flagship report (needs every class's first seed: searches refuse
#                                    # a table with untrained classes); the one-shot runs are kept
#   reports/regenerate.sh comparisons  # the table looks and every report made from searches on a table or surrogate
#                                    # (comparisons, Pareto, fidelity, one-shot re-reports), not the surrogates or speed
#   reports/regenerate.sh parallel   # simulated parallel workers on the flagship table (about an hour; the
#                                    # syne-tune check needs pip install "nasbench[synetune]", about 30 min more)
#
# Each ends by rewriting the index reports/README.md (one line per report, its headline from its own files).
#
# (A title with commas, colons or parentheses is quoted twice: once for the shell, once for Hydra.)
# Searches on a table are simulated (seconds); the one-shot runs trained supernets for real
# and are kept under reports/*/runs, so only their ground truth is looked up again here.
set -euo pipefail
cd "$(dirname "$0")/.."

blocks() {
    block_table_comparisons
    nasbench-surrogate table=tables/blocks-mnist1d.h5 out=surrogate/blocks-mnist1d report=reports/surrogate-blocks
    block_surrogate_comparisons
    # the one-shot comparison: the table-based strategies rerun in seconds next to the kept one-shot runs, at the
    # budget those ran under (150 s)
    nasbench-compare benchmark=blocks "strategies=[random,rea,reinforce]" seeds=5 budget.seconds=150 \
        runs_dir=reports/oneshot-blocks/runs out=outputs/oneshot-blocks-table-only
    oneshot_blocks
}

block_table_comparisons() {
    nasbench-table-report --table tables/blocks-mnist1d.h5 --out reports/table-blocks
    nasbench-compare benchmark=blocks runs_dir=outputs/comparison-blocks-runs out=reports/comparison-blocks \
        title="Strategy comparison on the block table"
    nasbench-compare benchmark=blocks constraint.params=7986 runs_dir=outputs/comparison-blocks-constrained-runs \
        out=reports/comparison-blocks-params-median \
        title="'Strategy comparison on the block table, params at most the median (7,986)'"
    nasbench-compare benchmark=blocks "strategies=[mo_random,nsga2,rea_scalarised,optuna]" \
        "objectives=[valid_accuracy,params]" seeds=10 runs_dir=outputs/pareto-blocks-runs out=reports/pareto-blocks \
        title="'Multi-objective comparison on the block table: valid accuracy vs params'"
}

block_surrogate_comparisons() {
    nasbench-compare benchmark=blocks_surrogate benchmark.noise=true \
        runs_dir=outputs/comparison-blocks-surrogate-runs out=reports/comparison-blocks-surrogate \
        title="'Strategy comparison on the block-table surrogate, seed noise on'"
    nasbench-report outputs/comparison-blocks-runs --fidelity outputs/comparison-blocks-surrogate-runs \
        --truth blocks-mnist1d.h5 --out reports/fidelity-blocks \
        --title "Trajectory fidelity on the block space: table vs surrogate"
}

oneshot_blocks() {
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

speed() {
    # medians of a noisy shared machine: each figure is read next to its baseline from the same run
    python -m pytest benchmarks/test_query_speed.py benchmarks/test_surrogate_speed.py --benchmark-only \
        --benchmark-json=outputs/speed.json -q
    python benchmarks/summarize.py outputs/speed.json reports/speed
}

generator() {
    python -m pytest benchmarks/test_generator_speed.py --benchmark-only -s -q \
        --benchmark-json=reports/speed/generator/benchmark.json
    python -m nasbench.train.profile --out reports/speed/generator --benchmark reports/speed/generator/benchmark.json
}

flagship() {
    table_comparisons
    nasbench-surrogate                                 # -> surrogate/ and reports/surrogate
    surrogate_comparisons
    # the one-shot comparison: the table-based strategies rerun next to the kept one-shot runs, at the budget those
    # ran under (3,000 s)
    nasbench-compare "strategies=[random,rea,reinforce]" seeds=5 budget.seconds=3000 runs_dir=reports/oneshot/runs \
        out=outputs/oneshot-table-only
    oneshot
}

table_comparisons() {
    table
    nasbench-compare                                   # the main job -> reports/comparison
    nasbench-compare constraint.params=12626 runs_dir=outputs/comparison-params-median-runs \
        out=reports/comparison-params-median title="'Strategy comparison, params at most the median (12,626)'"
    nasbench-compare "strategies=[mo_random,nsga2,rea_scalarised,optuna]" "objectives=[valid_accuracy,params]" seeds=10 \
        runs_dir=outputs/pareto-runs out=reports/pareto title="'Multi-objective comparison: valid accuracy vs params'"
}

surrogate_comparisons() {
    nasbench-compare benchmark=surrogate runs_dir=outputs/surrogate-runs out=reports/comparison-surrogate \
        title="Strategy comparison on the surrogate"
    nasbench-report outputs/comparison-runs --fidelity outputs/surrogate-runs --truth shipped --out reports/fidelity \
        --title "Trajectory fidelity: table vs surrogate"
    nasbench-compare benchmark=surrogate benchmark.noise=true runs_dir=outputs/surrogate-noise-runs \
        out=reports/comparison-surrogate-noise title="'Strategy comparison on the surrogate, seed noise on'"
    nasbench-report outputs/comparison-runs --fidelity outputs/surrogate-noise-runs --truth shipped \
        --out reports/fidelity-noise --title "Trajectory fidelity: table vs surrogate with seed noise"
}

comparisons() {
    table_comparisons
    surrogate_comparisons
    oneshot
    block_table_comparisons
    block_surrogate_comparisons
    oneshot_blocks
}

parallel() {
    # 1,800 runs: the default strategies and ASHA x 1, 4 and 16 workers x the default 100 seeds, each with the
    # default budget (100 full evaluations' worth of wall-clock time; 16-worker ASHA runs write ~5 MB each)
    nasbench-compare "workers=[1,4,16]" "strategies=[random,rea,reinforce,local_search,hyperband,asha]" \
        "skip_duplicates=[false]" runs_dir=outputs/parallel-runs out=reports/parallel \
        title="Parallel workers on the flagship table"
    python reports/parallel/synetune_check.py
}

case "${1:-}" in
    blocks) blocks ;;
    oneshot) oneshot ;;
    table) table ;;
    speed) speed ;;
    generator) generator ;;
    flagship) flagship ;;
    comparisons) comparisons ;;
    parallel) parallel ;;
    *) echo "usage: reports/regenerate.sh blocks|oneshot|table|speed|generator|flagship|comparisons|parallel" >&2; exit 2 ;;
esac
python -m nasbench.report.index                        # reports/README.md: each report's headline, from its files
