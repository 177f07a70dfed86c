"""Supernets: one network that holds every option of every decision (weight sharing).

A supernet has the skeleton of the space's own networks (stem, reductions,
head) and, at each decision, a :class:`MixedChoice` of all its options. Its
forward pass takes the architecture in one of two forms:

* ``weights``, a ``(num_decisions, max_choices)`` tensor: decision ``d``
  outputs ``sum_k weights[d, k] * option_k(x)`` (DARTS' continuous relaxation);
* ``path``, one option index per decision: only those options run (GDAS,
  SPOS). With ``weights`` as well, the chosen output is scaled by
  ``weights[d, path[d]]`` so that gradients reach the weights (GDAS'
  straight-through estimator).

The generator never uses these; they are the one-shot strategies' models.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from nasbench.space.blocks_model import make_block
from nasbench.space.cell_model import head, make_op, make_reduction, stem


class MixedChoice(nn.Module):
    """The options of one decision, run as a weighted sum or one at a time."""

    def __init__(self, options: Sequence[nn.Module]):
        super().__init__()
        self.options = nn.ModuleList(options)

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None, choice: int | None) -> torch.Tensor:
        if choice is not None:
            out = self.options[choice](x)
            return out if weights is None else out * weights[choice]
        return sum(w * option(x) for w, option in zip(weights, self.options))


class Supernet(nn.Module):
    """Base class: ``forward(x, weights=None, path=None)`` -> logits ``(batch, num_classes)``."""

    num_decisions: int
    max_choices: int

    def check_arch(self, weights: torch.Tensor | None, path: Sequence[int] | None) -> list[int | None]:
        if weights is None and path is None:
            raise ValueError("a supernet needs weights (num_decisions, max_choices) or a path (one option per decision)")
        if weights is not None and tuple(weights.shape) != (self.num_decisions, self.max_choices):
            raise ValueError(f"weights must have shape ({self.num_decisions}, {self.max_choices}), got {tuple(weights.shape)}")
        if path is None:
            return [None] * self.num_decisions
        path = [int(p) for p in path]
        if len(path) != self.num_decisions:
            raise ValueError(f"path must give one option per decision ({self.num_decisions}), got {len(path)}")
        return path

    @staticmethod
    def _row(weights: torch.Tensor | None, d: int) -> torch.Tensor | None:
        return None if weights is None else weights[d]


class _SuperCell(nn.Module):
    def __init__(self, space, channels: int):
        super().__init__()
        self.edges = space.edges
        self.num_nodes = space.num_nodes
        # DARTS' convention: BN without affine parameters inside searched ops
        self.mixed = nn.ModuleList(
            MixedChoice([make_op(op, channels, affine=False) for op in space.ops]) for _ in space.edges
        )

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None, path: list[int | None]) -> torch.Tensor:
        nodes = [x]
        position = 0
        for j in range(1, self.num_nodes):
            total = 0
            for i in range(j):
                row = None if weights is None else weights[position]
                total = total + self.mixed[position](nodes[i], row, path[position])
                position += 1
            nodes.append(total)
        return nodes[-1]


class CellSupernet(Supernet):
    """The cell space's skeleton with a mixed op on every edge of every cell (cells share the architecture)."""

    def __init__(self, space):
        super().__init__()
        self.num_decisions = space.num_decisions
        self.max_choices = len(space.ops)
        self.stem = nn.Sequential(*stem(space))
        body: list[nn.Module] = []
        for stage, c in enumerate(space.channels):
            if stage > 0:
                body.append(make_reduction(space, space.channels[stage - 1], c))
            body.extend(_SuperCell(space, c) for _ in range(space.cells_per_stage))
        self.body = nn.ModuleList(body)
        self.head = nn.Sequential(*head(space))
        self.classifier = nn.Linear(space.channels[-1], space.num_classes_out)

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None, path: Sequence[int] | None = None) -> torch.Tensor:
        path = self.check_arch(weights, path)
        if x.dim() == 2:
            x = x.unsqueeze(1)
        x = self.stem(x)
        for layer in self.body:
            x = layer(x, weights, path) if isinstance(layer, _SuperCell) else layer(x)
        return self.classifier(self.head(x))


class BlockSupernet(Supernet):
    """The block space's skeleton with every block at every position (``skip`` is the identity)."""

    def __init__(self, space):
        super().__init__()
        self.num_decisions = space.num_decisions
        self.max_choices = len(space.blocks)
        self.stem = nn.Sequential(*stem(space))
        layers: list[nn.Module] = []
        self.position_of: list[int | None] = []  # decision index per layer, None for a reduction
        for stage, c in enumerate(space.channels):
            if stage > 0:
                layers.append(make_reduction(space, space.channels[stage - 1], c))
                self.position_of.append(None)
            for position in space.stage_positions[stage]:
                layers.append(MixedChoice([make_block(b, c) or nn.Identity() for b in space.blocks]))
                self.position_of.append(position)
        self.body = nn.ModuleList(layers)
        self.head = nn.Sequential(*head(space))
        self.classifier = nn.Linear(space.channels[-1], space.num_classes_out)

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None, path: Sequence[int] | None = None) -> torch.Tensor:
        path = self.check_arch(weights, path)
        if x.dim() == 2:
            x = x.unsqueeze(1)
        x = self.stem(x)
        for layer, position in zip(self.body, self.position_of):
            x = layer(x) if position is None else layer(x, self._row(weights, position), path[position])
        return self.classifier(self.head(x))
