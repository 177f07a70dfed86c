"""DARTS (Liu et al. 2019): a softmax over the options of every decision, optimised by gradient.

Bilevel: the supernet's weights descend the training loss on the train split,
the architecture weights ``alpha`` (``(num_decisions, max_choices)``, initialised
at ``1e-3 * N(0, 1)``) descend the validation loss on the valid split, one step
each per batch. ``order=1`` takes the gradient of the validation loss at the
current weights; ``order=2`` at the weights after one virtual SGD step, with the
Hessian-vector product by finite differences (DARTS' eq. 7-8). After every
epoch the cell is derived by argmax per edge over all options, ``none``
included, as NAS-Bench-201 derives it, and looked up in the table; the score
the search itself sees is the relaxed supernet's valid accuracy.

Defaults are DARTS' and NAS-Bench-201's: 50 epochs, batch 64, weights SGD lr
0.025 -> 0.001 cosine, momentum 0.9, weight decay 3e-4, gradient clip 5;
architecture Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3.

>>> from nasbench.search.oneshot import example_run
>>> result = example_run("darts", epochs=2)
>>> [row["supernet_epoch"] for row in result["trajectory"]]
[1, 2]
>>> result["stop_reason"], result["final"]["incumbent_arch_str"] == result["trajectory"][-1]["arch_str"]
('epochs', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nasbench.search.oneshot.common import (
    OneShotRun, SupernetOptions, SupernetTraining, accuracy, argmax_arch, batches, fraction_option, positive_float_option,
)


class Darts(SupernetTraining):
    name = "darts"
    needs_torch = True

    @dataclass(frozen=True)
    class Options(SupernetOptions):
        order: int = 1  # 1: first-order DARTS; 2: second order (unrolled), strategy=darts2
        arch_lr: float = 0.0003
        arch_weight_decay: float = 0.001
        arch_beta1: float = 0.5

        def __post_init__(self):
            super().__post_init__()
            if isinstance(self.order, bool) or self.order not in (1, 2):
                raise ValueError(f"strategy option order must be 1 (first-order DARTS) or 2 (second-order), got {self.order!r}")
            positive_float_option(self, "arch_lr")
            positive_float_option(self, "arch_weight_decay", allow_zero=True)
            fraction_option(self, "arch_beta1")

    @property
    def label(self) -> str:
        return "darts" if self.options.order == 1 else "darts2"

    def setup(self, run: OneShotRun) -> None:
        o = self.options
        self.alphas = (1e-3 * torch.randn(self.net.num_decisions, self.net.max_choices, generator=self.generator)).requires_grad_()
        self.arch_optimizer = torch.optim.Adam([self.alphas], lr=o.arch_lr, betas=(o.arch_beta1, 0.999), weight_decay=o.arch_weight_decay)
        self.valid_batches = batches(len(run.data["valid"][0]), run.recipe.batch_size, self.generator)

    def loss(self, x: torch.Tensor, y: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(self.net(x, weights=alphas.softmax(-1)), y)

    def step(self, run: OneShotRun, x: torch.Tensor, y: torch.Tensor, epoch: int) -> torch.Tensor:
        batch = next(self.valid_batches)
        x_valid, y_valid = run.data["valid"][0][batch], run.data["valid"][1][batch]
        self.arch_optimizer.zero_grad(set_to_none=True)
        if self.options.order == 1:
            self.alphas.grad = torch.autograd.grad(self.loss(x_valid, y_valid, self.alphas), self.alphas)[0]
        else:
            self.alphas.grad = self.unrolled_gradient(x, y, x_valid, y_valid)
        self.arch_optimizer.step()
        return self.watched(self.weight_update(self.loss(x, y, self.alphas.detach())), self.alphas)

    def unrolled_gradient(self, x, y, x_valid, y_valid) -> torch.Tensor:
        """d L_valid(w - xi * grad_w L_train(w, a), a) / d a, with xi the current weight lr."""
        params = [p for p in self.net.parameters()]
        group = self.weight_optimizer.param_groups[0]
        xi, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
        grads = torch.autograd.grad(self.loss(x, y, self.alphas.detach()), params, allow_unused=True)
        original = [p.detach().clone() for p in params]
        with torch.no_grad():  # the virtual step, momentum included
            for p, g in zip(params, grads):
                g = torch.zeros_like(p) if g is None else g
                buffer = self.weight_optimizer.state.get(p, {}).get("momentum_buffer")
                p.sub_(xi * ((0 if buffer is None else momentum * buffer) + g + decay * p))
        outputs = torch.autograd.grad(self.loss(x_valid, y_valid, self.alphas), [self.alphas, *params], allow_unused=True)
        d_alpha, d_weights = outputs[0], [torch.zeros_like(p) if g is None else g for p, g in zip(params, outputs[1:])]
        eps = 0.01 / torch.cat([d.flatten() for d in d_weights]).norm().clamp_min(1e-12)
        hessian_terms = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for p, p0, d in zip(params, original, d_weights):
                    p.copy_(p0 + sign * eps * d)
            hessian_terms.append(torch.autograd.grad(self.loss(x, y, self.alphas), self.alphas)[0])
        with torch.no_grad():
            for p, p0 in zip(params, original):
                p.copy_(p0)
        return d_alpha - xi * (hessian_terms[0] - hessian_terms[1]) / (2 * eps)

    def end_of_epoch(self, run: OneShotRun, epoch: int) -> None:
        arch = argmax_arch(self.space, self.alphas.detach())
        probabilities = self.alphas.detach().softmax(-1)
        samples = self.options.eval_samples
        with run.charged():  # DARTS' own view: the relaxed supernet's valid accuracy
            self.net.eval()
            score = accuracy(lambda inputs: self.net(inputs, weights=probabilities), *(t[:samples] for t in run.data["valid"]))
        run.record(arch, score, supernet_epoch=epoch, decisions=list(arch.decisions),
                   weights=[[round(float(v), 5) for v in row] for row in probabilities])

    def state(self) -> dict[str, Any]:
        return {"alphas": self.alphas.detach().tolist(), "order": self.options.order}
