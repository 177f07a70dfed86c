"""The timing pass: the cost of one training epoch of a class, measured under control.

A table's simulated ``train_time`` should reflect the architecture, not whatever
else the build machine was doing. The per-epoch wall times that the trainer
records are kept, but on a shared machine they mostly measure load (over the
first 1,059 flagship entries their correlation with FLOPs was 0.32). The timing
pass instead runs ``steps`` training steps of the recipe (forward, backward,
optimizer step at ``recipe.batch_size``) ``repeats`` times after ``warmup``
steps, and scales the median to one epoch. On CPU it reads the process's CPU
clock, which does not advance while the process waits for a core; on CUDA the
wall clock with synchronisation.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

from nasbench.space.base import SearchSpace
from nasbench.train.data import Splits
from nasbench.train.recipe import Recipe, TimingConfig
from nasbench.train.trainer import make_optimizer


def time_epoch(
    space: SearchSpace,
    decisions,
    data: Splits,
    recipe: Recipe,
    config: TimingConfig = TimingConfig(),
    device: str = "cpu",
) -> float:
    """Seconds one training epoch of ``decisions`` takes with ``recipe`` (evaluation excluded).

    CPU seconds of this process on ``device="cpu"`` (run it with one torch thread,
    as the build's workers do), wall seconds on CUDA.
    """
    torch.manual_seed(0)
    model = space.build_model(decisions).to(device).train()
    x = torch.as_tensor(data.x_train, device=device)
    y = torch.as_tensor(data.y_train, device=device)
    optimizer = make_optimizer(model.parameters(), recipe)
    batch = min(recipe.batch_size, len(x))
    steps_per_epoch = math.ceil(len(x) / recipe.batch_size)
    cuda = device.startswith("cuda")
    clock = time.perf_counter if cuda else time.process_time

    def step(i: int) -> None:
        start = (i * batch) % (len(x) - batch + 1)
        loss = nn.functional.cross_entropy(model(x[start:start + batch]), y[start:start + batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for i in range(config.warmup):
        step(i)
    per_step = []
    for _ in range(config.repeats):
        if cuda:
            torch.cuda.synchronize()
        start = clock()
        for i in range(config.steps):
            step(i)
        if cuda:
            torch.cuda.synchronize()
        per_step.append((clock() - start) / config.steps)
    return float(np.median(per_step) * steps_per_epoch)
