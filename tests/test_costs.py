"""Analytic cost metrics against PyTorch's own counts, and the built model's interface."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from conftest import TINY_SPACE
from nasbench.space import CellSpace
from nasbench.space.cell_model import AvgPool3

BATCH = 3

SPACES = {
    "default": (CellSpace(), 20),
    "tiny": (CellSpace(**TINY_SPACE), 27),
    "mixed": (
        CellSpace(
            ops=["none", "skip_connect", "nor_conv_5x5", "max_pool_3x3", "nor_conv_1x1", "avg_pool_3x3"],
            cells_per_stage=2,
        ),
        8,
    ),
    # odd lengths through the stride-2 reductions, more input channels, one stage
    "odd": (CellSpace(channels=(4, 6, 5), input_length=37, in_channels=2, num_classes=3), 5),
    "one_stage": (CellSpace(num_nodes=3, channels=(6,), input_length=9, ops=["nor_conv_3x3", "skip_connect"]), 8),
}


@pytest.fixture(autouse=True, scope="module")
def _few_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sample_archs(space: CellSpace, n: int) -> list:
    if n >= len(space):
        return list(space)
    picks = np.random.default_rng(0).choice(len(space), n - 2, replace=False).tolist()
    return [space[0], space[len(space) - 1]] + [space[i] for i in picks]


def torch_counts(space: CellSpace, decisions) -> tuple[int, float]:
    torch.manual_seed(0)
    model = space.build_model(decisions)
    params = sum(p.numel() for p in model.parameters())
    x = torch.randn(BATCH, space.in_channels, space.input_length)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return params, counter.get_total_flops() / 2 / BATCH


@pytest.mark.parametrize("name", list(SPACES))
def test_costs_equal_pytorch_counts(name):
    space, n = SPACES[name]
    archs = sample_archs(space, n)
    batch = space.costs(np.array([a.decisions for a in archs]))
    assert batch["params"].dtype == np.int64 and batch["flops"].dtype == np.int64
    for k, arch in enumerate(archs):
        costs = space.costs(arch.decisions)
        assert isinstance(costs["params"], int) and isinstance(costs["flops"], int)
        assert (costs["params"], costs["flops"]) == (batch["params"][k], batch["flops"][k])
        params, flops = torch_counts(space, arch.decisions)
        assert costs["params"] == params, arch.arch_str
        assert costs["flops"] == flops, arch.arch_str


def test_costs_over_whole_space_are_consistent():
    space = CellSpace()
    costs = space.costs(space.all_decisions)
    assert costs["params"].shape == costs["flops"].shape == (len(space),)
    # parameter-free ops add nothing, convs add by kernel size
    free = [space.parse(f"|{a}~0|+|{b}~0|none~1|+|skip_connect~0|none~1|none~2|").index
            for a in ("none", "skip_connect", "avg_pool_3x3") for b in ("none", "avg_pool_3x3")]
    assert len(set(costs["params"][free].tolist())) == 1
    one = space.parse("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|none~2|").index
    three = space.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|").index
    assert costs["params"][0] < costs["params"][one] < costs["params"][three]
    assert costs["flops"][0] < costs["flops"][one] < costs["flops"][three]
    assert costs["params"][space.index_of((3,) * 6)] == costs["params"].max()


@pytest.mark.parametrize("name", ["default", "tiny", "mixed"])
def test_forward_shapes(name):
    space, _ = SPACES[name]
    torch.manual_seed(0)
    model = space.build_model(space[len(space) // 2].decisions).eval()
    x = torch.randn(5, 40)
    with torch.no_grad():
        flat, channel = model(x), model(x.unsqueeze(1))
    assert flat.shape == channel.shape == (5, 10)
    torch.testing.assert_close(flat, channel)
    assert torch.isfinite(flat).all()
    model.train()
    out = model(x)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_forward_other_skeleton():
    space, _ = SPACES["odd"]
    model = space.build_model(space[5].decisions)
    assert model(torch.randn(4, 2, 37)).shape == (4, 3)


def test_disconnected_cell_ignores_input():
    space = CellSpace()
    assert not space.is_connected()[0]
    model = space.build_model(space[0].decisions).eval()
    with torch.no_grad():
        a, b = model(torch.randn(4, 40)), model(torch.randn(4, 40))
    torch.testing.assert_close(a, b)


def test_build_model_accepts_arrays():
    space = CellSpace(**TINY_SPACE)
    m1 = space.build_model(np.array([1, 2, 0]))
    m2 = space.build_model((1, 2, 0))
    assert sum(p.numel() for p in m1.parameters()) == sum(p.numel() for p in m2.parameters())


@pytest.mark.parametrize("length", [1, 2, 3, 7, 40])
def test_avg_pool3_equals_torch(length):
    torch.manual_seed(length)
    x = torch.randn(4, 8, length, dtype=torch.float64, requires_grad=True)
    y = x.detach().clone().requires_grad_(True)
    ours, ref = AvgPool3()(x), nn.AvgPool1d(3, 1, 1, count_include_pad=False)(y)
    torch.testing.assert_close(ours, ref)
    grad = torch.randn_like(ours)
    ours.backward(grad)
    ref.backward(grad)
    torch.testing.assert_close(x.grad, y.grad)
