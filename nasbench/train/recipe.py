"""How a table's entries are trained and timed: plain settings, importable without torch.

The Hydra schemas of every command are built from these, so a command that only
queries or searches a table never loads torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import List, Optional


@dataclass
class Recipe:
    """Training recipe; defaults are the flagship table's.

    Two fields make the generator's fast path, a recipe of its own (its entries differ
    from the reference trainer's in float order, so a table holds one or the other):

    * ``stack_seeds``: train all seeds of a class together in one stacked network
      (:mod:`nasbench.train.stacked`), each seed still its own model, init and data order;
    * ``eval_epochs``: the 1-based epochs after which valid and test are evaluated
      (the last epoch always is); the other epochs' valid and test metrics are NaN.
      ``None``: every epoch.

    A third makes the GPU path, again a recipe of its own:

    * ``archs_per_step``: train that many architectures (each with all its seeds) in one
      masked union network (:mod:`nasbench.train.union`; needs ``stack_seeds``). The
      union is always that wide, so a model's float order depends on it: tables of
      different ``archs_per_step`` are different recipes. ``None``: one architecture per job.
    """

    epochs: int = 12
    batch_size: int = 64
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    eval_batch_size: int = 500
    latency_repeats: int = 20
    stack_seeds: bool = False
    eval_epochs: Optional[List[int]] = None
    archs_per_step: Optional[int] = None

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.eval_batch_size < 1:
            raise ValueError("train.epochs, train.batch_size and train.eval_batch_size must be >= 1")
        if not self.lr > 0 or self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise ValueError("train.lr must be > 0, train.weight_decay >= 0 and train.momentum in [0, 1)")
        if self.latency_repeats < 0:
            raise ValueError("train.latency_repeats must be >= 0 (0 skips latency)")
        if self.eval_epochs is not None:
            epochs = list(self.eval_epochs)
            if not epochs or not all(isinstance(e, int) and not isinstance(e, bool) and 1 <= e <= self.epochs for e in epochs):
                raise ValueError(f"train.eval_epochs must be a non-empty list of epochs in 1..{self.epochs} "
                                 f"(train.epochs) or null (every epoch), got {self.eval_epochs!r}")
            self.eval_epochs = sorted(set(epochs) | {self.epochs})
        if self.archs_per_step is not None:
            k = self.archs_per_step
            if not isinstance(k, int) or isinstance(k, bool) or k < 1:
                raise ValueError(f"train.archs_per_step must be an integer >= 1 (architectures per training step) or null "
                                 f"(one architecture per job), got {k!r}")
            if not self.stack_seeds:
                raise ValueError("train.archs_per_step trains each architecture's seeds stacked: it needs "
                                 "train.stack_seeds=true (train=gpu sets both)")

    def evaluates(self, epoch: int) -> bool:
        """Whether valid and test are evaluated after ``epoch`` (1-based)."""
        return self.eval_epochs is None or epoch in self.eval_epochs

    def to_dict(self) -> dict:
        """The fields as a table records them: the fast-path fields only where they differ from their defaults,
        so tables of the reference recipe keep the recipe (and build key) they were built with."""
        out = asdict(self)
        for f in fields(self):
            if f.name in _FAST_PATH_FIELDS and out[f.name] == f.default:
                del out[f.name]
        return out


#: fields added with the stacked fast path and the GPU path (absent from the records of tables built before it)
_FAST_PATH_FIELDS = ("stack_seeds", "eval_epochs", "archs_per_step")


@dataclass
class TimingConfig:
    """How a class's epoch is timed; stored in the table's ``timing`` attribute."""

    steps: int = 10
    repeats: int = 5
    warmup: int = 2

    def __post_init__(self):
        if self.steps < 1 or self.repeats < 1 or self.warmup < 0:
            raise ValueError("timing.steps and timing.repeats must be >= 1, timing.warmup >= 0")


def check_device(device: str) -> str:
    """``device`` if torch can train on it here, else ``ValueError`` naming what is valid.

    Valid are ``cpu``, ``cuda`` and ``cuda:N``; torch is imported only for a CUDA device,
    to ask whether this machine has it, so a misspelt device fails fast and torch-free.
    """
    import re

    match = re.fullmatch(r"cuda(?::(\d+))?", device) if isinstance(device, str) else None
    if device != "cpu" and match is None:
        raise ValueError(f"unknown device {device!r}; valid: cpu, cuda, cuda:N (N the index of a CUDA device)")
    if match is None:
        return device
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise ValueError(f"device={device} asked for, but torch sees no CUDA device; valid here: cpu")
    if match.group(1) is not None and int(match.group(1)) >= count:
        raise ValueError(f"device={device} asked for, but torch sees {count} CUDA device{'s' if count > 1 else ''}; "
                         f"valid here: cpu, cuda, {', '.join(f'cuda:{i}' for i in range(count))}")
    return device
