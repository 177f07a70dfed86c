"""Coarse-grained space: a sequence of positions, each filled with a predefined block.

The network is the cell space's skeleton (stem conv + BN, stages at
``channels[s]`` separated by a fixed reduction, BN-ReLU, global average
pooling, a linear head) with ``positions`` searched slots in place of the
cells. Reductions sit at fixed places: ``reduce_after=(1, 3)`` puts one after
the first position and one after the third, so the default four positions
form the stages ``[p0] | [p1 p2] | [p3]`` at 8 / 16 / 32 channels.

The reduction is ``pool`` by default: average pooling, a 1x1 conv and BN, all
linear, so that the blocks carry the network's capacity. With NAS-Bench-201's
residual reduction (``reduction=residual``, two 3-tap ReLU-Conv-BN per
reduction) the skeleton alone is a five-conv network: on MNIST-1D every one of
the 208 classes then reached 97.7-98.5 % valid accuracy, the spread between
classes (0.14 points) was below the seed-to-seed noise (0.19 points) and
seed 0 and seed 1 ranked the classes with Spearman 0.05 -- a table that ranks
noise. With ``pool`` a 24-class x 2-seed pilot spread from 93.4 to 98.4 %
(class std 1.01 points, seed std 0.24, Spearman seed 0 vs 1 0.81).

Blocks (every one maps ``(batch, c, length)`` to itself; see
:mod:`nasbench.space.blocks_model`):

* ``skip``: the identity -- the position is left empty;
* ``res3`` / ``res5``: ``x + (ReLU-Conv-BN)^2 (x)`` with 3- / 5-tap convolutions;
* ``incep``: parallel 1/3/5-tap ReLU-Conv-BN branches, concatenated, 1x1 ReLU-Conv-BN back to ``c``;
* ``sep3``: ``x + BN(pointwise(depthwise 3-tap(ReLU(x))))``.

Encodings (each round-trips through :meth:`BlockSpace.parse`):

* ``arch_str``: block names joined by ``-``, e.g. ``res3-incep-skip-sep3``;
* ``index``: ``0..N-1``, the positions read as a base-``len(blocks)`` number,
  first position most significant;
* ``blocks`` (names) and ``decisions`` (block indices) per position;
* ``one_hot``: ``(positions * len(blocks),)`` float32.

Classes: ``skip`` is the identity, so two sequences are the same network when
they agree stage by stage after their skips are dropped (``[skip, res3]`` and
``[res3, skip]`` within a stage; never across a reduction). The all-``skip``
network (stem, reductions, head) is valid; every architecture depends on its
input.

Sizing. The default space must build exhaustively (every class x 3 seeds,
flagship recipe: batch 64, 12 epochs, MNIST-1D's 4,000 / 5,000 / 5,000 splits)
in about two hours on two cores: ``classes x 3 x seconds / 2 <= 7,200``, so
``classes x seconds <= 4,800``. One entry (``nasbench.train.trainer.train``:
training, per-epoch evaluation, latency) measured on one core of the build
machine, with the residual reduction, while its table build ran on both: 12 s
(all ``skip``), 14 s (four ``sep3``), 23-25 s (four ``res3`` / ``res5``), 40 s
(four ``incep``), and 22 s on average over 8 random classes. At ~22 s an entry
that admits ~220 classes. All five blocks in stages ``[1 | 2 | 1]`` give
``5 * (1 + 4 + 16) * 5 = 525`` classes of ``5^4 = 625`` sequences (~5 h);
dropping ``res5`` (the block closest to ``res3``) gives ``4^4 = 256``
sequences in ``4 * (1 + 3 + 9) * 4 = 208`` classes: 1.8 h measured with the
residual reduction; the lighter ``pool`` reduction builds in about half that
(the pilot: 48 entries + 24 timings in 3.6 min on 2 workers). These are the
defaults (``conf/space/blocks.yaml``); pass ``blocks=KNOWN_BLOCKS`` for the
625-sequence menu.

>>> space = BlockSpace()
>>> len(space), space.num_classes
(256, 208)
>>> arch = space.parse("res3-incep-skip-sep3")
>>> arch.index, arch.blocks, arch.class_id == space.parse("res3-skip-incep-sep3").class_id
(99, ['res3', 'incep', 'skip', 'sep3'], True)
>>> space.costs(arch.decisions)
{'params': 5970, 'flops': 96960}
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Sequence

import numpy as np

from nasbench.space.base import (REDUCTIONS, SearchSpace, SpaceError, check_channels, check_menu, check_reduction, int_arg,
                                  is_sequence, skeleton_costs, stage_lengths)

#: every block the model builder knows; a space uses a subset, in the order given
KNOWN_BLOCKS = ("skip", "res3", "res5", "incep", "sep3")
DEFAULT_BLOCKS = ("skip", "res3", "incep", "sep3")
SEPARATOR = "-"


def block_costs(name: str, channels: int, length: int) -> tuple[int, int]:
    """Params and multiply-accumulates of block ``name`` at ``channels`` on a length-``length`` signal."""
    c = channels
    if name == "skip":
        return 0, 0
    if name in ("res3", "res5"):
        k = int(name[-1])
        return 2 * (k * c * c + 2 * c), 2 * k * c * c * length
    if name == "incep":  # branches 1+3+5 taps c->c, then 1x1 from 3c to c; a BN after each conv
        return 12 * c * c + 8 * c, 12 * c * c * length
    if name == "sep3":  # depthwise 3 taps, pointwise c->c, one BN
        return 3 * c + c * c + 2 * c, (3 * c + c * c) * length
    raise SpaceError(f"unknown block {name!r}; valid: {', '.join(KNOWN_BLOCKS)}")


class BlockSpace(SearchSpace):
    """``positions`` slots, each one block of ``blocks``, in stages split by ``reduce_after``.

    ``reduce_after[s]`` is the number of positions before the reduction into
    stage ``s + 1``: non-decreasing, in ``0..positions``, one per channel step.
    """

    kind = "blocks"

    def __init__(
        self,
        positions: int = 4,
        blocks: Sequence[str] = DEFAULT_BLOCKS,
        reduce_after: Sequence[int] = (1, 3),
        channels: Sequence[int] = (8, 16, 32),
        in_channels: int = 1,
        input_length: int = 40,
        num_classes: int = 10,
        reduction: str = "pool",
    ):
        self.reduction = check_reduction(reduction)
        blocks = check_menu("blocks", "block", blocks, KNOWN_BLOCKS)
        positions = int_arg("positions", positions, 1, 8)
        channels = check_channels(channels)
        if isinstance(reduce_after, str) or not is_sequence(reduce_after):
            raise SpaceError(f"reduce_after must be a list of {len(channels) - 1} position counts, got {reduce_after!r}")
        reduce_after = tuple(int_arg("reduce_after", r, 0, positions) for r in reduce_after)
        if len(reduce_after) != len(channels) - 1 or list(reduce_after) != sorted(reduce_after):
            raise SpaceError(
                f"reduce_after must hold one non-decreasing position count in 0..{positions} per reduction "
                f"({len(channels) - 1} for channels {list(channels)}), got {list(reduce_after)}"
            )
        self.positions = positions
        self.blocks = blocks
        self.reduce_after = reduce_after
        self.channels = channels
        self.in_channels = int_arg("in_channels", in_channels, 1)
        self.input_length = int_arg("input_length", input_length, 2 ** (len(channels) - 1))
        self.num_classes_out = int_arg("num_classes", num_classes, 2)
        bounds = (0, *reduce_after, positions)
        #: the positions of each stage, ``(stages,)`` lists
        self.stage_positions = [list(range(a, b)) for a, b in zip(bounds, bounds[1:])]

    # ------------------------------------------------------------------ basics
    @property
    def num_choices(self) -> tuple[int, ...]:
        return (len(self.blocks),) * self.positions

    def option_names(self, decision: int) -> list[str]:
        return list(self.blocks)

    def config(self) -> dict:
        return {
            "kind": self.kind,
            "positions": self.positions,
            "blocks": list(self.blocks),
            "reduce_after": list(self.reduce_after),
            "channels": list(self.channels),
            "in_channels": self.in_channels,
            "input_length": self.input_length,
            "num_classes": self.num_classes_out,
            "reduction": self.reduction,
        }

    def __repr__(self) -> str:
        return (
            f"BlockSpace(positions={self.positions}, blocks={list(self.blocks)}, "
            f"reduce_after={list(self.reduce_after)}, channels={list(self.channels)}, reduction={self.reduction!r})"
        )

    # ------------------------------------------------------------------ strings
    def to_string(self, decisions: Sequence[int]) -> str:
        return SEPARATOR.join(self.to_blocks(decisions))

    def from_string(self, text: str) -> tuple[int, ...]:
        example = SEPARATOR.join(self.blocks[i % len(self.blocks)] for i in range(self.positions))
        if not isinstance(text, str):
            raise SpaceError(f"arch string must be a str like {example!r}, got {type(text).__name__}")
        names = text.split(SEPARATOR)
        if len(names) != self.positions:
            raise SpaceError(
                f"arch string {text[:60]!r} has {len(names)} blocks, expected {self.positions} "
                f"separated by {SEPARATOR!r}, e.g. {example!r}"
            )
        out = []
        for position, name in enumerate(names):
            if name not in self.blocks:
                raise SpaceError(
                    f"unknown block {name[:30]!r} at position {position} of {text[:60]!r}; valid: {', '.join(self.blocks)}"
                )
            out.append(self.blocks.index(name))
        return tuple(out)

    def to_blocks(self, decisions: Sequence[int]) -> list[str]:
        """Block name per position, ``(positions,)``."""
        return [self.blocks[d] for d in self._check_decisions(decisions)]

    # ------------------------------------------------------------------ classes
    def _compute_class_keys(self) -> list[tuple[tuple[int, ...], ...]]:
        # Per stage, the non-skip blocks in order: skips are identities, reductions fixed.
        skip = self.blocks.index("skip") if "skip" in self.blocks else -1
        return [
            tuple(tuple(int(d[p]) for p in stage if d[p] != skip) for stage in self.stage_positions)
            for d in self.all_decisions.tolist()
        ]

    def _compute_connected(self) -> np.ndarray:
        return np.ones(len(self), dtype=bool)

    # ------------------------------------------------------------------ costs
    @cached_property
    def _stage_lengths(self) -> list[int]:
        return stage_lengths(self.input_length, len(self.channels))

    @cached_property
    def _cost_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Params and MACs of each block at each position, ``(positions, len(blocks))`` int64 each."""
        params = np.zeros((self.positions, len(self.blocks)), dtype=np.int64)
        macs = np.zeros_like(params)
        for stage, stage_positions in enumerate(self.stage_positions):
            c, length = self.channels[stage], self._stage_lengths[stage]
            for p in stage_positions:
                for b, name in enumerate(self.blocks):
                    params[p, b], macs[p, b] = block_costs(name, c, length)
        params.flags.writeable = macs.flags.writeable = False
        return params, macs

    @cached_property
    def _skeleton_costs(self) -> tuple[int, int]:
        """Params and MACs of everything outside the positions (the cell space's skeleton)."""
        return skeleton_costs(self.in_channels, self.channels, self.input_length, self.num_classes_out, self.reduction)

    def costs(self, decisions: Sequence[int] | np.ndarray) -> dict[str, Any]:
        """Parameters (count) and FLOPs (multiply-accumulates of conv and linear layers).

        Same convention as the cell space (PyTorch's ``FlopCounterMode`` reports
        twice this). ``(D,)`` gives ints, ``(n, D)`` gives ``(n,)`` int64 arrays.
        """
        arr = self._decision_array(decisions)
        table_params, table_macs = self._cost_tables
        base_params, base_macs = self._skeleton_costs
        rows = np.arange(self.positions)
        params = base_params + table_params[rows, arr].sum(axis=-1)
        flops = base_macs + table_macs[rows, arr].sum(axis=-1)
        if arr.ndim == 1:
            return {"params": int(params), "flops": int(flops)}
        return {"params": params, "flops": flops}

    # ------------------------------------------------------------------ model / features
    def build_model(self, decisions: Sequence[int], **_: Any):
        decisions = self._check_decisions(decisions)  # before the (slow) torch import
        from nasbench.space.blocks_model import BlockNetwork

        return BlockNetwork(self, decisions)

    def build_supernet(self):
        from nasbench.space.supernet import BlockSupernet

        return BlockSupernet(self)

    def features(self, decisions: np.ndarray) -> np.ndarray:
        """One-hot blocks, log params / log FLOPs, count of each block: ``(n, P*B + 2 + B)`` float32."""
        dec = np.atleast_2d(self._decision_array(decisions))
        costs = self.costs(dec)
        counts = (dec[:, :, None] == np.arange(len(self.blocks))).sum(axis=1)
        return np.concatenate(
            [
                self.one_hot(dec),
                np.log10(costs["params"])[:, None],
                np.log10(costs["flops"])[:, None],
                counts,
            ],
            axis=1,
        ).astype(np.float32)

    def feature_names(self) -> list[str]:
        names = [f"pos{p}={b}" for p in range(self.positions) for b in self.blocks]
        return names + ["log10_params", "log10_flops"] + [f"count_{b}" for b in self.blocks]
