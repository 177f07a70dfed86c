"""Train many architectures in one step: a masked union network, for a GPU.

On a GPU one small model per step is bound by kernel launches, however many seeds
are stacked (:mod:`nasbench.train.stacked`). Here ``K`` architectures of a cell space,
each with its ``S`` seeds, train as one network of ``K * S`` models side by side along
the channel axis. The skeleton (stem, reductions, head) is stacked as for seeds. On
each edge of each cell, every op that some model of the union uses runs for all
``K * S`` models, and a fixed per-model 0/1 mask keeps, for each model, the output of
its own op (``torch.where``: the kept values are exact, the others contribute nothing,
and their gradient is an exact zero). So one step launches the same few kernels
whatever ``K`` is.

Each model is its own: initialised exactly as ``torch.manual_seed(seed);
space.build_model(decisions)`` (its ops' weights copied into the union), with its own
data order (its seed's) and its own loss and update (:func:`nasbench.train.stacked.fit_stack`).
The weights of an op a model does not use start at zero and get an exact zero
gradient, so (weight decay keeps zeros zero) they stay zero and never reach its
output; their BatchNorm statistics are never read. No model's values enter another's
arithmetic, but how a kernel blocks a sum over the batch axis (the classifier's bias
gradient) depends on the stack's width, and may on a device depend on a model's place
in it. So a union is always filled up to ``K`` architectures (with repeats of the
first), ``K`` (``Recipe.archs_per_step``) is part of the recipe, and a build records
each entry's union, which ``nasbench-verify`` trains again.

On the CPU the masked-out compute makes this slower than the stacked trainer; it is
the GPU path.
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

from nasbench.space.cell_model import Cell, CellNetwork
from nasbench.train.stacked import StackedLinear, copy_from_stack, fit_stack, run_results, split_tensors, stack_models


class UnionCell(nn.Module):
    """The cells of ``M`` models side by side (channel-major), each edge running every op some model uses.

    ``cells``: one :class:`Cell` per model; ``chosen``: each model's op names, in edge order;
    ``ops``: the space's ops. Per edge and op, a ``(M, 1, 1, 1)`` mask marks the models that use it.
    """

    def __init__(self, cells: Sequence[Cell], chosen: Sequence[Sequence[str]], ops: Sequence[str]):
        super().__init__()
        self.edges, self.num_nodes = cells[0].edges, cells[0].num_nodes
        self.chosen = [list(names) for names in chosen]
        self.ops = nn.ModuleList()
        for p in range(len(self.edges)):
            used = [name for name in ops if any(names[p] == name for names in chosen)]
            stacked = nn.ModuleDict()
            for name in used:
                users = [names[p] == name for names in chosen]
                stand_in = _zeroed(copy.deepcopy(cells[users.index(True)].ops[p]))  # read by every model not using it
                stacked[name] = stack_models([cell.ops[p] if uses else stand_in for cell, uses in zip(cells, users)])
            self.ops.append(stacked)
            mask = torch.tensor([[names[p] == name for names in chosen] for name in used])  # (used ops, M)
            self.register_buffer(f"mask{p}", mask[..., None, None, None], persistent=False)

    def edge(self, p: int, x: torch.Tensor) -> torch.Tensor:
        """Edge ``p`` for every model: its own op's output, exactly."""
        ops, mask = self.ops[p], getattr(self, f"mask{p}")
        per_model = (mask.shape[1], -1, *x.shape[1:])  # (M, channels, batch, length)
        out = None
        for o, name in enumerate(ops):
            y = ops[name](x)
            out = y if out is None else torch.where(mask[o], y.view(per_model), out.view(per_model)).view(x.shape)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # the summation order of Cell.forward
        nodes = [x]
        position = 0
        for j in range(1, self.num_nodes):
            total = 0
            for i in range(j):
                total = total + self.edge(position, nodes[i])
                position += 1
            nodes.append(total)
        return nodes[-1]


def _zeroed(module: nn.Module) -> nn.Module:
    with torch.no_grad():
        for tensor in module.parameters():
            tensor.zero_()
    return module


def union_network(space, decisions: Sequence[Sequence[int]], seeds: Sequence[int]):
    """The union of ``decisions`` (architectures of a cell space) for every seed, on the CPU.

    Returns ``(union, models)``: the union network (channel-major input
    ``(M * in_channels, batch, length)``, output ``(batch, M, classes)``, model
    ``m = k * len(seeds) + s`` being architecture ``k`` with seed ``s``) and the ``M``
    reference models it was made from, each built as ``torch.manual_seed(seed);
    space.build_model(decisions[k])``.
    """
    if getattr(space, "kind", None) != "cell":
        raise ValueError(f"train.archs_per_step trains architectures of a cell space (kind: cell) together; this space "
                         f"is of kind {getattr(space, 'kind', '?')!r}: use train=stacked or train=default")
    models, chosen = [], []
    for arch in decisions:
        for seed in seeds:
            torch.manual_seed(seed)
            model = space.build_model(arch)
            if not isinstance(model, CellNetwork):
                raise TypeError(f"cannot unite a {type(model).__name__}; the union takes cell networks")
            models.append(model)
            chosen.append([space.ops[d] for d in arch])
    union = copy.deepcopy(models[0])
    for i, module in enumerate(models[0].features):
        parts = [m.features[i] for m in models]
        if isinstance(module, Cell):
            union.features[i] = UnionCell(parts, chosen, space.ops)
        else:
            union.features[i] = stack_models(parts)
    union.classifier = StackedLinear([m.classifier for m in models])
    return union, models


def fingerprint_archs(space, count: int) -> list[tuple[int, ...]]:
    """The ``count`` architectures of the float fingerprint's union: the fingerprint's own
    (:func:`nasbench.train.trainer.fingerprint_decisions`), then class representatives in the build's order."""
    from nasbench.table.store import build_class_order
    from nasbench.train.trainer import fingerprint_decisions

    reps, order = space.representatives(), build_class_order(space.num_classes)
    others = [tuple(int(d) for d in space.all_decisions[reps[order[i % len(order)]]]) for i in range(count - 1)]
    return [fingerprint_decisions(space), *others]


def unstack_union(union: nn.Module, models: Sequence[CellNetwork]) -> None:
    """Copy each model's trained weights and statistics out of ``union`` (:func:`union_network`) into ``models``."""
    stack = len(models)
    for m, model in enumerate(models):
        for i, module in enumerate(model.features):
            if isinstance(module, Cell):
                cell = union.features[i]
                for p, op in enumerate(module.ops):
                    copy_from_stack(cell.ops[p][cell.chosen[m][p]], op, m, stack)
            elif list(module.parameters()) or list(module.buffers()):
                copy_from_stack(union.features[i], module, m, stack)
        copy_from_stack(union.classifier, model.classifier, m, stack)


def train_union(space, decisions: Sequence[Sequence[int]], data, recipe, seeds: Sequence[int], device: str = "cpu",
                watch=None) -> list[list]:
    """Train up to ``recipe.archs_per_step`` architectures of a cell space, every seed each, in one union network.

    Returns per architecture of ``decisions`` its seeds' :class:`RunResult`\\ s (as
    :func:`nasbench.train.stacked.train_stacked` gives them). Fewer architectures than
    ``archs_per_step`` are filled up with repeats of the first, so the stack's shapes,
    and with them every model's arithmetic, are the same in every union of the recipe.
    """
    from nasbench.train.trainer import _untimed, measure_latencies, use_deterministic_algorithms

    archs = [tuple(int(d) for d in arch) for arch in decisions]
    if not archs or len(archs) > recipe.archs_per_step:
        raise ValueError(f"train_union takes 1..{recipe.archs_per_step} (train.archs_per_step) architectures, "
                         f"got {len(archs)}")
    phase = watch or _untimed
    use_deterministic_algorithms(device)
    filled = archs + [archs[0]] * (recipe.archs_per_step - len(archs))
    with phase("build"):
        union, models = union_network(space, filled, seeds)
        union = union.to(device)
        tensors = split_tensors(data, device)
    model_seeds = [int(s) for _ in filled for s in seeds]
    curves, diverged = fit_stack(union, model_seeds, tensors, recipe, device, phase)
    real = len(archs) * len(seeds)
    with phase("latency"):
        unstack_union(union, models)
        latencies = [measure_latencies(m.to(device), tensors["test"][0], recipe) for m in models[:real]]
    results = run_results(curves[:real], diverged[:real], latencies)
    return [results[k * len(seeds):(k + 1) * len(seeds)] for k in range(len(archs))]


__all__ = ["UnionCell", "union_network", "fingerprint_archs", "unstack_union", "train_union"]
