"""Generator throughput on the fast path against the plain one-model loop, in one run.

Both sides train the same 8 classes of the flagship build's own order (its first
classes) for seeds 0, 1 and 2, on the flagship space and dataset:

* ``plain-loop``: the reference trainer, one model after another, one process with
  one torch thread, the flagship recipe (``conf/train/default.yaml``);
* ``generator-stacked``: ``run_build`` with its defaults (2 worker processes x 1
  thread, timing pass, costs pass, checkpoints) and the stacked recipe
  (``conf/train/stacked.yaml``: the seeds of a class trained together, valid/test
  evaluated after epochs 1, 2, 4, 8 and 12).

Entries per core-hour are given twice: by wall time x cores used (what a
dedicated machine would see) and by the CPU seconds the processes actually got
(on a machine shared with other jobs the wall clock counts waiting for a core).
The ratio generator / plain loop is printed and kept in ``extra_info``. Slow (about
10 minutes on 2 shared cores): run it on purpose with
``python -m pytest benchmarks/test_generator_speed.py --benchmark-only -s``.
"""

from __future__ import annotations

import resource
import time

import pytest
from omegaconf import OmegaConf

from nasbench.cli.common import CONF_DIR
from nasbench.space import CellSpace
from nasbench.train.build import job_order, run_build
from nasbench.train.data import DatasetConfig, load_dataset
from nasbench.train.recipe import Recipe
from nasbench.train.trainer import train

CLASSES = 8
SEEDS = [0, 1, 2]
ENTRIES = CLASSES * len(SEEDS)
RESULTS: dict[str, dict[str, float]] = {}


def recipe(name: str) -> Recipe:
    """The recipe ``train=<name>`` of ``nasbench-build``'s config."""
    from hydra import compose, initialize_config_dir

    from nasbench.cli.schema import register

    register()
    with initialize_config_dir(config_dir=CONF_DIR, version_base=None):
        config = compose("build", overrides=[f"train={name}"])
    return Recipe(**OmegaConf.to_container(config.train, resolve=True))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.fixture(scope="module")
def setup():
    import torch

    space = CellSpace()
    classes = [c for c, _ in job_order(space.num_classes, 1)[:CLASSES]]
    decisions = [tuple(space.all_decisions[space.representatives()[c]]) for c in classes]
    torch.set_num_threads(1)
    return space, decisions, load_dataset(DatasetConfig())


def rates(wall: float, cpu: float, cores: int) -> dict[str, float]:
    return {"wall_s": wall, "cpu_s": cpu, "entries_per_core_hour_wall": ENTRIES * 3600 / (wall * cores),
            "entries_per_core_hour_cpu": ENTRIES * 3600 / cpu}


@pytest.mark.benchmark(group="generator-throughput")
def test_plain_loop(benchmark, setup):
    space, decisions, data = setup
    plain = recipe("default")

    def loop():
        for d in decisions:
            for seed in SEEDS:
                train(space, d, data, plain, seed=seed)

    start, cpu = time.perf_counter(), time.process_time()
    benchmark.pedantic(loop, rounds=1, iterations=1)
    RESULTS["plain"] = rates(time.perf_counter() - start, time.process_time() - cpu, 1)
    benchmark.extra_info.update(RESULTS["plain"])


@pytest.mark.benchmark(group="generator-throughput")
def test_generator_stacked(benchmark, setup, tmp_path):
    space = setup[0]
    stacked = recipe("stacked")

    def build():
        run_build(space, stacked, DatasetConfig(), SEEDS, tmp_path / "t.h5", workers=2, max_classes=CLASSES,
                  progress=False, log=lambda _: None)

    start, cpu, child = time.perf_counter(), time.process_time(), children_cpu()
    benchmark.pedantic(build, rounds=1, iterations=1)
    RESULTS["generator"] = rates(time.perf_counter() - start, time.process_time() - cpu + children_cpu() - child, 2)
    benchmark.extra_info.update(RESULTS["generator"])
    if "plain" in RESULTS:
        plain, generator = RESULTS["plain"], RESULTS["generator"]
        for clock in ("wall", "cpu"):
            key = f"entries_per_core_hour_{clock}"
            benchmark.extra_info[f"ratio_vs_plain_loop_{clock}"] = generator[key] / plain[key]
        print(
            f"\nentries per core-hour (wall x cores): generator {generator['entries_per_core_hour_wall']:.0f}, "
            f"plain loop {plain['entries_per_core_hour_wall']:.0f}, ratio "
            f"{benchmark.extra_info['ratio_vs_plain_loop_wall']:.2f}\n"
            f"entries per core-hour (CPU seconds): generator {generator['entries_per_core_hour_cpu']:.0f}, "
            f"plain loop {plain['entries_per_core_hour_cpu']:.0f}, ratio "
            f"{benchmark.extra_info['ratio_vs_plain_loop_cpu']:.2f}\n"
            f"projected full table (6,466 classes x 3 seeds) on 2 cores at the generator's wall rate: "
            f"{6466 * 3 / (2 * generator['entries_per_core_hour_wall']):.1f} h"
        )
