#!/usr/bin/env bash
# The pilot that chose the default table's setup: every candidate trains the same sample of classes
# (reports/pilot/classes.txt, from `nasbench-pilot sample`) with seeds 0 and 1, then `nasbench-pilot report`
# compares them. Each build resumes where it stopped, so rerunning this script only trains what is missing.
#   bash reports/pilot/run.sh            # all candidates, then the report
#   bash reports/pilot/run.sh pool       # one candidate's build
set -euo pipefail
cd "$(dirname "$0")/../.."
common=(classes_file=reports/pilot/classes.txt 'seeds=[0,1]' costs_pass=off train.latency_repeats=0)
declare -A setup=(
  [pool]="space.reduction=pool"
  [pool-bigeval]="space.reduction=pool dataset.n_valid=10000 dataset.n_test=10000"
  [pool-hard]="space.reduction=pool dataset.shear_scale=1.5 dataset.scale_coeff=0.8"
  [pool-hard-stacked]="space.reduction=pool dataset.shear_scale=1.5 dataset.scale_coeff=0.8 train=stacked"
  [pool-hard-24ep]="space.reduction=pool dataset.shear_scale=1.5 dataset.scale_coeff=0.8 train=stacked train.epochs=24"
)
order=(pool pool-bigeval pool-hard pool-hard-stacked pool-hard-24ep)
declare -A words=(
  [residual]="the flagship: residual reductions, 1 cell per stage, MNIST-1D 4k/5k/5k, 12 epochs (its shipped table, seeds 0 and 1)"
  [pool]="linear pool reductions, 1 cell per stage, MNIST-1D 4k/5k/5k, 12 epochs"
  [pool-bigeval]="linear pool reductions, 1 cell per stage, MNIST-1D 4k/10k/10k, 12 epochs"
  [pool-hard]="linear pool reductions, 1 cell per stage, MNIST-1D 4k/5k/5k drawn with twice mnist1d's shear and scale variation (shear_scale 1.5, scale_coeff 0.8), 12 epochs"
  [pool-hard-stacked]="pool-hard's network and task, trained by the generator's stacked recipe (train=stacked: both seeds in one stacked network, valid/test at epochs 1, 2, 4, 8, 12)"
  [pool-hard-24ep]="pool-hard-stacked trained for 24 epochs (the same cosine schedule stretched over them)"
)
for name in "${@:-${order[@]}}"; do
  # shellcheck disable=SC2086
  nasbench-build "${common[@]}" ${setup[$name]} output="reports/pilot/tables/$name.h5" \
    hydra.run.dir="outputs/pilot/$name"
done
if [ $# -eq 0 ]; then
  args=(residual=nb201-mnist1d.h5) describe=(--describe "residual=${words[residual]}")
  for name in "${order[@]}"; do
    args+=("$name=reports/pilot/tables/$name.h5")
    describe+=(--describe "$name=${words[$name]}")
  done
  nasbench-pilot report --sample reports/pilot/classes.csv --out reports/pilot "${describe[@]}" "${args[@]}"
fi
