"""The network the generator trains for a block sequence: plain PyTorch, 1-D.

The cell space's skeleton (stem conv + BN, a reduction between stages,
BN-ReLU, global pooling, linear head) with the searched positions filled by
predefined blocks; the reduction is NAS-Bench-201's residual block or, by
default, a linear pool-and-project (see :class:`nasbench.space.blocks.BlockSpace`). Every block maps ``(batch, c, length)``
to ``(batch, c, length)``; ``skip`` leaves its position empty.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from nasbench.space.cell_model import ReLUConvBN, head, make_reduction, stem


class Residual(nn.Module):
    """``x + body(x)``: two 3- or 5-tap ReLU-Conv-BN (``res3``, ``res5``)."""

    def __init__(self, channels: int, kernel: int):
        super().__init__()
        self.body = nn.Sequential(ReLUConvBN(channels, channels, kernel), ReLUConvBN(channels, channels, kernel))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Inception(nn.Module):
    """Parallel 1-, 3- and 5-tap ReLU-Conv-BN branches, concatenated ``(batch, 3c, length)``,
    mixed back to ``c`` channels by a 1x1 ReLU-Conv-BN (``incep``; not residual)."""

    def __init__(self, channels: int):
        super().__init__()
        self.branches = nn.ModuleList(ReLUConvBN(channels, channels, k) for k in (1, 3, 5))
        self.mix = ReLUConvBN(3 * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mix(torch.cat([branch(x) for branch in self.branches], dim=1))


class SepConv(nn.Module):
    """``x + BN(pointwise(depthwise3(ReLU(x))))``: a depthwise-separable 3-tap block (``sep3``)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, padding=1, groups=channels, bias=False),
            nn.Conv1d(channels, channels, 1, bias=False),
            nn.BatchNorm1d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def make_block(name: str, channels: int) -> nn.Module | None:
    """The module of block ``name`` at ``channels``; ``None`` for ``skip`` (an empty position)."""
    if name == "skip":
        return None
    if name in ("res3", "res5"):
        return Residual(channels, int(name[-1]))
    if name == "incep":
        return Inception(channels)
    if name == "sep3":
        return SepConv(channels)
    raise ValueError(f"unknown block {name!r}")


class BlockNetwork(nn.Module):
    """Stem, the blocks of each stage and a reduction between stages, BN-ReLU, pooling, head.

    Input ``(batch, length)`` or ``(batch, in_channels, length)``; output logits
    ``(batch, num_classes)``.
    """

    def __init__(self, space, decisions: Sequence[int]):
        super().__init__()
        layers = stem(space)
        for stage, c in enumerate(space.channels):
            if stage > 0:
                layers.append(make_reduction(space, space.channels[stage - 1], c))
            for position in space.stage_positions[stage]:
                block = make_block(space.blocks[decisions[position]], c)
                if block is not None:
                    layers.append(block)
        self.features = nn.Sequential(*layers, *head(space))
        self.classifier = nn.Linear(space.channels[-1], space.num_classes_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(1)
        return self.classifier(self.features(x))
