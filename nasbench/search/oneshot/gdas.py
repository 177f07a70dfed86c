"""GDAS (Dong & Yang 2019): sample one option per decision by Gumbel-softmax, train only that path.

Each step draws ``h = argmax(softmax((alpha + Gumbel noise) / tau))`` per
decision and runs only those options (the straight-through one-hot keeps
gradients flowing to ``alpha``): weights step on a train batch, architecture
step on a valid batch. The options not drawn are left out of the graph, so
``alpha`` learns about them only through the softmax; NAS-Bench-201's code also
adds their (zero) one-hot weights to the edge's output, which gives them a
gradient of their own. The temperature ``tau`` falls linearly from ``tau_max``
to ``tau_min`` over the epochs. The derived cell is the argmax of ``alpha``.

Defaults: NAS-Bench-201's (tau 10 -> 0.1, DARTS' optimisers), except 50
epochs instead of 250 so that a run fits in minutes on 2 CPU cores.

>>> from nasbench.search.oneshot import example_run
>>> result = example_run("gdas", epochs=2)
>>> len(result["trajectory"]), result["trajectory"][-1]["tau"]
(2, 0.1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nasbench.search.oneshot.common import (
    OneShotRun, SupernetOptions, SupernetTraining, argmax_arch, batches, fraction_option, positive_float_option,
    positive_int_option,
)


class Gdas(SupernetTraining):
    name = "gdas"
    needs_torch = True

    @dataclass(frozen=True)
    class Options(SupernetOptions):
        tau_max: float = 10.0  # Gumbel-softmax temperature, annealed linearly from tau_max to tau_min over the epochs
        tau_min: float = 0.1
        arch_lr: float = 0.0003
        arch_weight_decay: float = 0.001
        arch_beta1: float = 0.5
        bn_batches: int = 4  # batches of 256 that re-estimate BN statistics of a path before it is scored

        def __post_init__(self):
            super().__post_init__()
            positive_int_option(self, "bn_batches")
            positive_float_option(self, "tau_max", "tau_min", "arch_lr")
            positive_float_option(self, "arch_weight_decay", allow_zero=True)
            fraction_option(self, "arch_beta1")
            if self.tau_min > self.tau_max:
                raise ValueError(f"strategy option tau_min ({self.tau_min}) must be <= tau_max ({self.tau_max})")

    def setup(self, run: OneShotRun) -> None:
        o = self.options
        self.alphas = (1e-3 * torch.randn(self.net.num_decisions, self.net.max_choices, generator=self.generator)).requires_grad_()
        self.arch_optimizer = torch.optim.Adam([self.alphas], lr=o.arch_lr, betas=(o.arch_beta1, 0.999), weight_decay=o.arch_weight_decay)
        self.valid_batches = batches(len(run.data["valid"][0]), run.recipe.batch_size, self.generator)

    def tau(self, epoch: int) -> float:
        o = self.options
        if o.epochs == 1:
            return float(o.tau_min)
        return float(o.tau_max - (o.tau_max - o.tau_min) * (epoch - 1) / (o.epochs - 1))

    def sampled_loss(self, x: torch.Tensor, y: torch.Tensor, tau: float) -> torch.Tensor:
        uniform = torch.rand(self.alphas.shape, generator=self.generator).clamp_(1e-10, 1 - 1e-10)
        probabilities = ((self.alphas - torch.log(-torch.log(uniform))) / tau).softmax(-1)
        choice = probabilities.argmax(-1)
        one_hot = nn.functional.one_hot(choice, probabilities.shape[-1]).to(probabilities.dtype)
        hard = one_hot - probabilities.detach() + probabilities  # straight-through: forward one-hot, backward soft
        return nn.functional.cross_entropy(self.net(x, weights=hard, path=choice.tolist()), y)

    def step(self, run: OneShotRun, x: torch.Tensor, y: torch.Tensor, epoch: int) -> torch.Tensor:
        tau = self.tau(epoch)
        weights_loss = self.weight_update(self.sampled_loss(x, y, tau))
        batch = next(self.valid_batches)
        self.arch_optimizer.zero_grad(set_to_none=True)
        loss = self.sampled_loss(run.data["valid"][0][batch], run.data["valid"][1][batch], tau)
        self.alphas.grad = torch.autograd.grad(loss, self.alphas)[0]
        self.arch_optimizer.step()
        return self.watched(weights_loss, self.alphas)

    def end_of_epoch(self, run: OneShotRun, epoch: int) -> None:
        arch = argmax_arch(self.space, self.alphas.detach())
        with run.charged():
            score = self.path_score(run, arch.decisions, self.options.bn_batches, self.options.eval_samples)
        probabilities = self.alphas.detach().softmax(-1)
        run.record(arch, score, supernet_epoch=epoch, tau=round(self.tau(epoch), 6), decisions=list(arch.decisions),
                   weights=[[round(float(v), 5) for v in row] for row in probabilities])

    def state(self) -> dict[str, Any]:
        return {"alphas": self.alphas.detach().tolist()}
