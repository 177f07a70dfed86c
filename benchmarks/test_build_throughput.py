"""Generator throughput: (architecture, seed) entries per core-hour, flagship recipe.

Both sides train the same fixed sample of class representatives with the
flagship recipe, in the same run:

* ``generator``: ``run_build`` with its defaults (2 worker processes x 1 thread),
  checkpointing included;
* ``plain-loop``: one process calling the reference trainer for one model after
  another (1 thread).

Entries per core-hour = entries / (wall seconds x cores used / 3600); the ratio
generator / plain loop is printed. Slow (about 1-2 minutes): run it on purpose with
``python -m pytest benchmarks/test_build_throughput.py --benchmark-only -s``.
"""

from __future__ import annotations

import time

import pytest

from nasbench.space import CellSpace
from nasbench.train.build import job_order, run_build
from nasbench.train.data import DatasetConfig, load_dataset
from nasbench.train.recipe import Recipe
from nasbench.train.trainer import train

SAMPLE = 8  # classes of the flagship build's own order (its first jobs)
RESULTS: dict[str, float] = {}


@pytest.fixture(scope="module")
def setup():
    import torch

    space = CellSpace()
    jobs = job_order(space.num_classes, 1)[:SAMPLE]
    decisions = [tuple(space.all_decisions[space.representatives()[c]]) for c, _ in jobs]
    torch.set_num_threads(1)
    return space, decisions, load_dataset(DatasetConfig())


def test_plain_loop(benchmark, setup):
    space, decisions, data = setup

    def loop():
        for d in decisions:
            train(space, d, data, Recipe(), seed=0)

    start = time.perf_counter()
    benchmark.pedantic(loop, rounds=1, iterations=1)
    RESULTS["plain"] = SAMPLE / ((time.perf_counter() - start) * 1 / 3600)
    benchmark.extra_info["entries_per_core_hour"] = RESULTS["plain"]
    benchmark.extra_info["seconds_per_entry"] = 3600 / RESULTS["plain"]


def test_generator(benchmark, setup, tmp_path):
    space = setup[0]

    def build():
        run_build(space, Recipe(), DatasetConfig(), [0], tmp_path / "t.h5", workers=2, max_entries=SAMPLE, progress=False, log=lambda _: None)

    start = time.perf_counter()
    benchmark.pedantic(build, rounds=1, iterations=1)
    RESULTS["generator"] = SAMPLE / ((time.perf_counter() - start) * 2 / 3600)
    benchmark.extra_info["entries_per_core_hour"] = RESULTS["generator"]
    if "plain" in RESULTS:
        ratio = RESULTS["generator"] / RESULTS["plain"]
        benchmark.extra_info["ratio_vs_plain_loop"] = ratio
        print(
            f"\nentries per core-hour: generator {RESULTS['generator']:.0f}, plain loop {RESULTS['plain']:.0f}, "
            f"ratio {ratio:.2f}; plain loop {3600 / RESULTS['plain']:.2f} s per (architecture, seed); "
            f"projected flagship (6,466 x 3) on 2 cores: {6466 * 3 / (2 * RESULTS['generator']):.1f} h"
        )
