"""How a table's entries are trained and timed: plain settings, importable without torch.

The Hydra schemas of every command are built from these, so a command that only
queries or searches a table never loads torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Recipe:
    """Training recipe; defaults are the flagship table's."""

    epochs: int = 12
    batch_size: int = 64
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    eval_batch_size: int = 500
    latency_repeats: int = 20

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.eval_batch_size < 1:
            raise ValueError("train.epochs, train.batch_size and train.eval_batch_size must be >= 1")
        if not self.lr > 0 or self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise ValueError("train.lr must be > 0, train.weight_decay >= 0 and train.momentum in [0, 1)")
        if self.latency_repeats < 0:
            raise ValueError("train.latency_repeats must be >= 0 (0 skips latency)")


@dataclass
class TimingConfig:
    """How a class's epoch is timed; stored in the table's ``timing`` attribute."""

    steps: int = 10
    repeats: int = 5
    warmup: int = 2

    def __post_init__(self):
        if self.steps < 1 or self.repeats < 1 or self.warmup < 0:
            raise ValueError("timing.steps and timing.repeats must be >= 1, timing.warmup >= 0")
