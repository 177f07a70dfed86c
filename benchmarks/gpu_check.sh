#!/usr/bin/env bash
# The GPU path checked on a machine with a CUDA GPU, in under 8 minutes (each step has its own time limit):
#   1. the union trainer's tests, its CUDA ones included          -> OUT_DIR/tests.log
#   2. its benchmark against the stacked path: entries per GPU-hour and their ratio
#                                                                -> OUT_DIR/benchmark.log, benchmark.json
#   3. a small table built with device=cuda train=gpu (the first 64 classes of the flagship space x 3 seeds: one
#      union; into /tmp/gpu-check/) and nasbench-verify -n 5 on it -> OUT_DIR/build.log, verify.log, verify.json
#   4. a summary: the device, each step's exit status, the rates, the table's build, the verification, and whether
#      a class trains the same whatever classes share its union -> OUT_DIR/summary.json
# It goes on after a failed step and exits non-zero if any failed. OUT_DIR gets 7 files at most.
#
#   benchmarks/gpu_check.sh OUT_DIR
#
# On a machine without network access whose Python holds torch but not the project's pure-Python dependencies, run
# benchmarks/gpu_prepare.sh first where pip reaches PyPI, and bring its .whl/ and .gpu-cache/ along: they are installed
# and used from here. Variables: PYTHON (python3), GPU_CHECK_DEVICE (cuda; cpu runs the same steps on the CPU, the
# benchmark skipped), GPU_CHECK_BUILD (the build's size: "space=nb201 max_classes=64 costs_pass=off"), GPU_CHECK_TESTS
# (the test files, "tests/test_union.py"; empty: none), GPU_CHECK_WORK (the folder of the table: /tmp/gpu-check).
set -uo pipefail
out=${1:?usage: benchmarks/gpu_check.sh OUT_DIR}
cd "$(dirname "$0")/.."
mkdir -p "$out"
out=$(cd "$out" && pwd)
python=${PYTHON:-python3}
device=${GPU_CHECK_DEVICE:-cuda}
read -r -a build_size <<<"${GPU_CHECK_BUILD:-space=nb201 max_classes=64 costs_pass=off}"
read -r -a test_files <<<"${GPU_CHECK_TESTS-tests/test_union.py}"
work=${GPU_CHECK_WORK:-/tmp/gpu-check}
export PYTHONUNBUFFERED=1
mkdir -p "$work"
[ -d .gpu-cache ] && export NASBENCH_CACHE=${NASBENCH_CACHE:-$PWD/.gpu-cache}
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$work/site" \
        .whl/*.whl || exit 2
    export PYTHONPATH=$work/site${PYTHONPATH:+:$PYTHONPATH}
fi
if ! "$python" -c "import nasbench.conf, nasbench.cli.build" 2>/dev/null; then
    "$python" -m pip install -q --no-deps --no-build-isolation --no-index -e . >"$work/install.log" 2>&1 \
        || { tail -n 5 "$work/install.log"; echo "error: cannot install nasbench here" >&2; exit 2; }
fi
if [ "$device" != cpu ] && ! "$python" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
    echo "error: GPU_CHECK_DEVICE=$device, but torch sees no CUDA device here; GPU_CHECK_DEVICE=cpu runs the steps on the CPU" >&2
    exit 2
fi

status=()
table=$work/gpu-table.h5
rm -f "$table"
step() {  # step NAME SECONDS COMMAND...: run COMMAND within SECONDS, its output into OUT_DIR/NAME.log
    local name=$1 limit=$2
    shift 2
    echo "== $name (at most ${limit} s): $*"
    timeout --kill-after=10 "$limit" "$@" >"$out/$name.log" 2>&1
    local rc=$?
    tail -n 15 "$out/$name.log"
    status+=("$name=$rc")
}

if [ ${#test_files[@]} -gt 0 ]; then
    step tests 100 "$python" -m pytest -q -x -m "not slow" -p no:cacheprovider "${test_files[@]}"
fi
step benchmark 140 "$python" -m pytest -q -p no:cacheprovider benchmarks/test_gpu_speed.py --benchmark-only \
    --benchmark-json "$out/benchmark.json" -s
step build 120 "$python" -m nasbench.cli.build train=gpu device="$device" workers=1 progress=false "${build_size[@]}" \
    output="$table" hydra.run.dir="$work/hydra"
step verify 70 sh -c "\"$python\" -m nasbench.cli.verify --table $table -n 5 --atol 0 --device $device --json >\"$out/verify.json\""
echo "== summary"
timeout --kill-after=10 40 "$python" benchmarks/gpu_summary.py "$out" --table "$table" --device "$device" "${status[@]}"
status+=("summary=$?")
for s in "${status[@]}"; do
    [ "${s#*=}" = 0 ] || { echo "failed: ${status[*]}" >&2; exit 1; }
done
echo "passed: ${status[*]}"
