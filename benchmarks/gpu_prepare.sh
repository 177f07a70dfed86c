#!/usr/bin/env bash
# Prepare benchmarks/gpu_check.sh for a GPU machine without network access whose Python holds torch, numpy, scipy,
# h5py, tqdm, pyyaml, pytest and pytest-benchmark (a CUDA PyTorch image), run here from the repository root:
#   .whl/        wheels of the project's other (pure-Python) dependencies, at this environment's versions:
#                hydra-core, omegaconf, antlr4-python3-runtime, hydra-joblib-launcher
#   .gpu-cache/  the MNIST-1D splits the check trains on (flagship and tiny), made by the project itself
# Both are ignored (.gitignore); bring them along, then run benchmarks/gpu_check.sh OUT_DIR there.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
mkdir -p .whl .gpu-cache
packages=()
for name in hydra-core omegaconf antlr4-python3-runtime hydra-joblib-launcher; do
    packages+=("$name==$("$python" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")")
done
"$python" -m pip wheel -q --no-deps -w .whl "${packages[@]}"
NASBENCH_CACHE=.gpu-cache "$python" -c "
from nasbench.train.data import DatasetConfig, load_dataset
load_dataset(DatasetConfig())                                       # dataset=mnist1d (the flagship's)
load_dataset(DatasetConfig(n_train=400, n_valid=300, n_test=300))   # dataset=tiny
"
du -sh .whl .gpu-cache
