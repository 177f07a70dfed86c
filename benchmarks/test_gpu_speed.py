"""The GPU path against the stacked path on a CUDA GPU, in one run (skipped where torch sees no CUDA).

Both sides train classes of the flagship build's own order (its first classes) for
seeds 0, 1 and 2, on the flagship space and dataset, on ``cuda`` (``NASBENCH_GPU_DEVICE=cpu``:
on the CPU, one torch thread, rated by the process's CPU seconds):

* ``stacked``: :func:`nasbench.train.stacked.train_stacked`, one class (its three seeds)
  after another, with the stacked recipe (``conf/train/stacked.yaml``), on the first
  ``NASBENCH_GPU_STACKED_CLASSES`` classes (default 4);
* ``union-K``: :func:`nasbench.train.union.train_union`, ``K`` classes (all seeds) in one
  masked union network per step, with the GPU recipe (``conf/train/gpu.yaml``) at
  ``archs_per_step`` ``K`` for each ``K`` of ``NASBENCH_GPU_ARCHS`` (default: the
  recipe's own, 64), on the first ``K`` classes (the stacked side's among them).

Each side is timed whole (model building, training, evaluation and the per-entry latency
that the trainers measure), after a short warm-up of the device; entries per GPU-hour
and the ratio union / stacked are printed and kept in ``extra_info``, with the seconds
of each phase (:class:`nasbench.train.trainer.Stopwatch`; on a GPU, where kernels run
asynchronously, the seconds the host spent in each). Run it with
``python -m pytest benchmarks/test_gpu_speed.py --benchmark-only -s`` (part of
``benchmarks/gpu_check.sh``).
"""

from __future__ import annotations

import os
import time

import pytest
import torch
from omegaconf import OmegaConf

from nasbench.cli.common import CONF_DIR
from nasbench.space import CellSpace
from nasbench.train.build import job_order
from nasbench.train.data import DatasetConfig, load_dataset
from nasbench.train.recipe import Recipe
from nasbench.train.stacked import train_stacked
from nasbench.train.trainer import Stopwatch
from nasbench.train.union import train_union

DEVICE = os.environ.get("NASBENCH_GPU_DEVICE", "cuda")
pytestmark = pytest.mark.skipif(DEVICE != "cpu" and not torch.cuda.is_available(),
                                reason="the GPU path's benchmark needs a CUDA device (NASBENCH_GPU_DEVICE=cpu: the CPU)")

SEEDS = [0, 1, 2]
CPU = DEVICE == "cpu"
RESULTS: dict[str, dict] = {}


def recipe(name: str, **overrides) -> Recipe:
    """The recipe ``train=<name>`` of ``nasbench-build``'s config, with ``overrides``."""
    from hydra import compose, initialize_config_dir

    from nasbench.cli.schema import register

    register()
    with initialize_config_dir(config_dir=CONF_DIR, version_base=None):
        config = compose("build", overrides=[f"train={name}"])
    return Recipe(**{**OmegaConf.to_container(config.train, resolve=True), **overrides})


def widths() -> list[int]:
    given = os.environ.get("NASBENCH_GPU_ARCHS")
    return [int(k) for k in given.split(",")] if given else [recipe("gpu").archs_per_step]


def stacked_classes() -> int:
    return int(os.environ.get("NASBENCH_GPU_STACKED_CLASSES", 4))


@pytest.fixture(scope="module")
def setup():
    space = CellSpace()
    count = max(widths() + [stacked_classes()])
    classes = [c for c, _ in job_order(space.num_classes, 1)[:count]]
    decisions = [tuple(int(d) for d in space.all_decisions[space.representatives()[c]]) for c in classes]
    data = load_dataset(DatasetConfig())
    if CPU:
        torch.set_num_threads(1)
    else:  # CUDA context, cuBLAS and the allocator warmed up
        train_stacked(space, decisions[0], data, recipe("stacked", epochs=1, latency_repeats=1), SEEDS, DEVICE)
    return space, decisions, data


def synchronize() -> None:
    if not CPU:
        torch.cuda.synchronize()


def timed(run) -> tuple[float, float]:
    """Wall and process CPU seconds of ``run()``."""
    start, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - start, time.process_time() - cpu


def record(name: str, entries: int, seconds: tuple[float, float], watch: Stopwatch) -> dict:
    phases = dict(watch.seconds)
    training = sum(phases.get(p, 0.0) for p in ("data", "forward", "metrics", "backward", "optimizer"))
    wall, cpu = seconds
    # a GPU-hour is wall time on the device; a core-hour, CPU seconds of this one-thread process
    rate = entries * 3600 / (cpu if CPU else wall)
    result = {"device": DEVICE, "entries": entries, "seconds": wall, "cpu_seconds": cpu,
              "entries_per_gpu_hour" if not CPU else "entries_per_core_hour": rate, "training_seconds": training,
              "phases": phases}
    RESULTS[name] = result
    return result


def report(benchmark, name: str) -> None:
    result = RESULTS[name]
    benchmark.extra_info.update(result)
    unit = "core-hour" if CPU else "GPU-hour"
    key = f"entries_per_{unit.lower().replace('-', '_')}"
    line = (f"\n{name}: {result['entries']} entries in {result['seconds']:.1f} s ({result['cpu_seconds']:.1f} s CPU) = "
            f"{result[key]:,.0f} entries per {unit} (phases: "
            + ", ".join(f"{p} {s:.1f} s" for p, s in sorted(result["phases"].items())) + ")")
    if name != "stacked" and "stacked" in RESULTS:
        ratio = result[key] / RESULTS["stacked"][key]
        benchmark.extra_info["ratio_vs_stacked"] = ratio
        line += f"; {ratio:.2f}x the stacked path"
    print(line + f" [{'CPU, 1 thread' if CPU else torch.cuda.get_device_name()}]")


@pytest.mark.benchmark(group="gpu-path")
def test_stacked(benchmark, setup):
    space, decisions, data = setup
    stacked = recipe("stacked")
    classes = decisions[:stacked_classes()]
    watch = Stopwatch()

    def loop():
        for d in classes:
            train_stacked(space, d, data, stacked, SEEDS, DEVICE, watch=watch)
        synchronize()

    seconds = []
    benchmark.pedantic(lambda: seconds.append(timed(loop)), rounds=1, iterations=1)
    record("stacked", len(classes) * len(SEEDS), seconds[0], watch)
    report(benchmark, "stacked")


@pytest.mark.benchmark(group="gpu-path")
@pytest.mark.parametrize("width", widths())
def test_union(benchmark, setup, width):
    space, decisions, data = setup
    union = recipe("gpu", archs_per_step=width)
    watch = Stopwatch()

    def step():
        train_union(space, decisions[:width], data, union, SEEDS, DEVICE, watch=watch)
        synchronize()

    seconds = []
    benchmark.pedantic(lambda: seconds.append(timed(step)), rounds=1, iterations=1)
    record(f"union-{width}", width * len(SEEDS), seconds[0], watch)
    if not CPU:
        benchmark.extra_info["max_memory_gib"] = torch.cuda.max_memory_allocated() / 2 ** 30
    report(benchmark, f"union-{width}")
