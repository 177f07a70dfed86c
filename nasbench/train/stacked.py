"""Train the seeds of one architecture together: one stacked network, each seed its own model.

``S`` models of the same architecture, each built exactly as the reference
trainer builds it (``torch.manual_seed(seed)`` then ``space.build_model``), are
laid side by side along the channel axis: every convolution becomes a grouped
convolution (``groups`` times ``S``), every BatchNorm one over the stacked
channels (per channel, so per model), the linear head a grouped product. Channel
group ``s`` holds model ``s`` and sees only seed ``s``'s batch, so each model's
forward pass, loss, gradient and SGD update are its own; only the float order of
the kernels differs from training it alone. One step of the stack costs little
more than one step of a single model on a CPU core, because these tensors are so
small that the time goes to per-op overhead.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Sequence

import numpy as np
import torch
from torch import nn

#: modules that do not depend on the number of channels (they act per channel or per element)
_CHANNEL_FREE = (nn.ReLU, nn.Identity, nn.AvgPool1d, nn.MaxPool1d, nn.AdaptiveAvgPool1d, nn.Flatten, nn.Sequential,
                 nn.ModuleList)


class StackedLinear(nn.Module):
    """``S`` linear layers side by side: input ``(S * in, batch)`` (channel-major), output ``(batch, S, out)``."""

    def __init__(self, layers: Sequence[nn.Linear]):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]))  # (S, out, in)
        biases = [layer.bias for layer in layers]
        self.bias = nn.Parameter(torch.stack([b.detach() for b in biases])) if biases[0] is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stack, _, features = self.weight.shape
        out = torch.bmm(self.weight, x.reshape(stack, features, -1)).permute(2, 0, 1)  # (batch, S, out)
        return out if self.bias is None else out + self.bias


class StackedConv1d(nn.Module):
    """``S`` convolutions side by side on channel-major input ``(S * in, batch, length)``, as one batched GEMM.

    The columns of every tap (im2col) are gathered once, then each group (model, or
    group of a grouped convolution) is one matrix product over ``batch * length``:
    for these small tensors several times faster than a convolution kernel on one
    CPU core, whose per-call layout conversions cost more than the arithmetic.
    """

    def __init__(self, convs: Sequence[nn.Conv1d]):
        super().__init__()
        first = convs[0]
        if first.padding_mode != "zeros" or first.dilation != (1,) or isinstance(first.padding, str):
            raise TypeError("only zero-padded, undilated convolutions with integer padding can be stacked")
        self.groups = first.groups * len(convs)
        self.kernel, self.stride, self.padding = first.kernel_size[0], first.stride[0], first.padding[0]
        weight = torch.cat([c.weight.detach() for c in convs])  # (S * out, in / groups, kernel)
        self.weight = nn.Parameter(weight.reshape(self.groups, weight.shape[0] // self.groups, -1))
        self.bias = nn.Parameter(torch.cat([c.bias.detach() for c in convs])) if first.bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels, batch, length = x.shape
        per_group = channels // self.groups
        if self.padding:
            x = nn.functional.pad(x, (self.padding, self.padding))
        out_length = (x.shape[-1] - self.kernel) // self.stride + 1
        span = self.stride * (out_length - 1) + 1
        x = x.reshape(self.groups, per_group, batch, -1)
        # (groups, in, kernel, batch, out_length): one strided slice per tap (measured faster than unfold)
        taps = [x[..., j:j + span:self.stride] for j in range(self.kernel)]
        cols = (torch.stack(taps, 2) if self.kernel > 1 else taps[0]).reshape(
            self.groups, per_group * self.kernel, batch * out_length)
        out = torch.bmm(self.weight, cols).view(-1, batch, out_length)
        return out if self.bias is None else out + self.bias[:, None, None]


class StackedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm over the stacked channels of channel-major input ``(channels, batch, length)``: per channel, so per model."""

    def __init__(self, norms: Sequence[nn.BatchNorm1d]):
        first = norms[0]
        super().__init__(first.num_features * len(norms), eps=first.eps, momentum=first.momentum, affine=first.affine,
                         track_running_stats=first.track_running_stats)
        with torch.no_grad():
            for name in ("weight", "bias", "running_mean", "running_var"):
                if getattr(first, name) is not None:
                    getattr(self, name).copy_(torch.cat([getattr(n, name) for n in norms]))
            if first.num_batches_tracked is not None:
                self.num_batches_tracked.copy_(first.num_batches_tracked)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.reshape(1, x.shape[0], -1)).view(x.shape)


def stack_models(models: Sequence[nn.Module]) -> nn.Module:
    """One network holding ``models`` (same architecture) side by side along the channel axis, channel-major.

    Input ``(S * in_channels, batch, length)``, model ``s`` reading rows
    ``s * in_channels ...`` (:func:`channel_major`); output ``(batch, S, classes)``.
    ``models`` may also be single layers (a convolution, a BatchNorm, a linear layer),
    which come back as their stacked versions.
    Pooling, ReLU, identity and zero ops act on the last axis or elementwise, so they
    run unchanged. Raises ``TypeError`` for a module it cannot stack (one with
    parameters or buffers it does not know).
    """
    stacked = copy.deepcopy(models[0])
    named = [dict(m.named_modules()) for m in models]
    for name, module in list(stacked.named_modules()):
        parts = [n[name] for n in named]
        if isinstance(module, nn.Conv1d):
            new = StackedConv1d(parts)
        elif isinstance(module, nn.BatchNorm1d):
            new = StackedBatchNorm1d(parts)
        elif isinstance(module, nn.Linear):
            new = StackedLinear(parts)
        elif (isinstance(module, _CHANNEL_FREE) or not (list(module.parameters(recurse=False))
                                                       or list(module.buffers(recurse=False)))):
            continue
        else:
            raise TypeError(f"cannot stack a {type(module).__name__} ({name})")
        if not name:  # the models are single layers
            return new
        parent, _, attr = name.rpartition(".")
        setattr(stacked.get_submodule(parent) if parent else stacked, attr, new)
    return stacked


def channel_major(x: torch.Tensor) -> torch.Tensor:
    """Per-model batches ``(S, batch, length)`` or ``(S, batch, in_channels, length)`` as the stack's input
    ``(S * in_channels, batch, length)``."""
    if x.dim() == 3:
        return x
    return x.transpose(1, 2).flatten(0, 1)


def unstack_into(stacked: nn.Module, models: Sequence[nn.Module]) -> None:
    """Copy the trained weights and statistics of ``stacked`` (:func:`stack_models`) back into ``models``."""
    for s, model in enumerate(models):
        copy_from_stack(stacked, model, s, len(models))


def copy_from_stack(stacked: nn.Module, model: nn.Module, position: int, stack: int) -> None:
    """Copy model ``position`` of the ``stack`` models that ``stacked`` holds side by side into ``model``."""
    stacked_state = stacked.state_dict()
    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            source = stacked_state[key]
            if key.endswith("num_batches_tracked"):
                tensor.copy_(source)
            else:  # every stacked tensor holds the models' tensors one after another
                tensor.copy_(source.reshape(stack, -1)[position].view(tensor.shape))


@torch.inference_mode()
def evaluate_stacked(model: nn.Module, x: torch.Tensor, y: torch.Tensor, stack: int, batch_size: int):
    """Per model of the stack, mean cross-entropy and accuracy on ``(x, y)``: two ``(stack,)`` float64 arrays."""
    model.eval()
    loss_sum = torch.zeros(stack, dtype=torch.float64, device=x.device)
    correct = torch.zeros(stack, dtype=torch.long, device=x.device)
    for start in range(0, len(x), batch_size):
        inputs = x[start:start + batch_size]
        target = y[start:start + batch_size, None].expand(-1, stack)
        logits = model(channel_major(inputs.expand(stack, *inputs.shape)))  # (batch, stack, classes)
        losses = nn.functional.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none")
        loss_sum += losses.view(-1, stack).sum(0, dtype=torch.float64)
        correct += (logits.argmax(-1) == target).sum(0)
    return (loss_sum / len(x)).cpu().numpy(), (correct.double() / len(x)).cpu().numpy()


def train_stacked(space, decisions, data, recipe, seeds: Sequence[int], device: str = "cpu", watch=None) -> list:
    """Train ``decisions`` with ``recipe`` for every seed of ``seeds`` at once; one :class:`RunResult` per seed.

    Seed ``s``'s model is initialised as ``torch.manual_seed(s); space.build_model(decisions)``
    and sees its batches in the order of ``torch.Generator().manual_seed(s)``, as in the
    reference trainer (:func:`fit_stack`).
    """
    from nasbench.train.trainer import _untimed, measure_latencies, use_deterministic_algorithms

    phase = watch or _untimed
    use_deterministic_algorithms(device)
    with phase("build"):
        models = []
        for seed in seeds:
            torch.manual_seed(seed)
            models.append(space.build_model(decisions).to(device))
        model = stack_models(models)
        tensors = split_tensors(data, device)
    curves, diverged = fit_stack(model, seeds, tensors, recipe, device, phase)
    with phase("latency"):
        unstack_into(model, models)
        latencies = [measure_latencies(m, tensors["test"][0], recipe) for m in models]
    return run_results(curves, diverged, latencies)


def split_tensors(data, device: str) -> dict:
    """The dataset's splits as ``{name: (x, y)}`` tensors on ``device``."""
    from nasbench.train.trainer import SPLITS

    return {name: (torch.as_tensor(x, device=device), torch.as_tensor(y, device=device))
            for name in SPLITS for x, y in [data.split(name)]}


def run_results(curves: list, diverged: np.ndarray, latencies: list) -> list:
    """One :class:`RunResult` per model of a stack."""
    from nasbench.train.trainer import RunResult

    return [RunResult(curves=c, diverged=bool(d), latency_b1=b1, latency_b256=b256)
            for c, d, (b1, b256) in zip(curves, diverged, latencies)]


def fit_stack(model: nn.Module, seeds: Sequence[int], tensors: dict, recipe, device: str = "cpu", phase=None):
    """Train a stack of models (:func:`stack_models`, or any network of that layout) with ``recipe``.

    Model ``m`` of the stack sees its batches in the order of
    ``torch.Generator().manual_seed(seeds[m])`` (models of one seed see the same batches);
    the loss is the sum of the models' mean cross-entropies, so each model's gradient is
    its own. A model that diverges stops there (NaN from that epoch), the others go on.
    ``epoch_time`` is the stack's epoch wall time divided by its models. Where an epoch is
    not evaluated (``recipe.evaluates``), weights that its last step made non-finite are
    found by the next step's loss. Returns per-model curves and the diverged flags.
    """
    from nasbench.train.trainer import EPOCH_METRICS, _untimed, make_optimizer

    phase = phase or _untimed
    stack = len(seeds)
    x_train, y_train = tensors["train"]
    steps_per_epoch = math.ceil(len(x_train) / recipe.batch_size)
    optimizer = make_optimizer(model.parameters(), recipe)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe.epochs * steps_per_epoch)
    distinct = list(dict.fromkeys(int(s) for s in seeds))  # one data order per seed, shared by its models
    order_rngs = [torch.Generator().manual_seed(seed) for seed in distinct]
    order_rows = torch.tensor([distinct.index(int(s)) for s in seeds])

    curves = [{key: np.full(recipe.epochs, np.nan, dtype=np.float32) for key in EPOCH_METRICS} for _ in seeds]
    diverged = np.zeros(stack, dtype=bool)
    for epoch in range(recipe.epochs):
        model.train()
        start = time.perf_counter()
        with phase("data"):
            orders = torch.stack([torch.randperm(len(x_train), generator=g) for g in order_rngs])[order_rows].to(device)
        loss_sum = torch.zeros(stack, device=device)
        correct = torch.zeros(stack, device=device, dtype=torch.long)
        # models whose loss was not finite at some step of this epoch: found on the device, read once an epoch (no
        # host round trip per step); their loss is zeroed, so a diverged model gets no more gradient
        failing = torch.zeros(stack, device=device, dtype=torch.bool)
        for step in range(steps_per_epoch):
            with phase("data"):
                batch = orders[:, step * recipe.batch_size:(step + 1) * recipe.batch_size]  # (stack, batch)
                x_batch = channel_major(x_train[batch])  # (stack * in_channels, batch, length)
                y_batch = y_train[batch.T]  # (batch, stack)
            with phase("forward"):
                logits = model(x_batch)
                losses = nn.functional.cross_entropy(logits.flatten(0, 1), y_batch.flatten(), reduction="none")
                losses = losses.view(-1, stack).mean(0)
            with phase("metrics"):
                finite = torch.isfinite(losses)
                failing |= ~finite
                losses = torch.where(finite, losses, 0.0)  # the identity where finite
            with phase("backward"):
                optimizer.zero_grad(set_to_none=True)
                losses.sum().backward()
            with phase("optimizer"):
                optimizer.step()
                scheduler.step()
            with phase("metrics"):
                loss_sum += losses.detach() * batch.shape[1]
                correct += (logits.detach().argmax(-1) == y_batch).sum(0)
        failed = failing.cpu().numpy() & ~diverged  # models that diverged in this epoch
        diverged |= failed
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / stack
        running = ~diverged | failed
        for s in np.flatnonzero(running):
            curves[s]["epoch_time"][epoch] = seconds
        if diverged.all():
            break
        train_loss = (loss_sum / len(x_train)).cpu().numpy()
        train_accuracy = (correct.double() / len(x_train)).cpu().numpy()
        live = ~diverged
        for s in np.flatnonzero(live):
            curves[s]["train_loss"][epoch] = train_loss[s]
            curves[s]["train_accuracy"][epoch] = train_accuracy[s]
        if not recipe.evaluates(epoch + 1):
            continue
        with phase("evaluation"):
            scores = {name: evaluate_stacked(model, *tensors[name], stack, recipe.eval_batch_size)
                      for name in ("valid", "test")}
        bad = live & ~np.logical_and.reduce([np.isfinite(loss) for loss, _ in scores.values()])
        for s in np.flatnonzero(bad):  # the epoch's last step made the weights non-finite
            curves[s]["train_loss"][epoch] = curves[s]["train_accuracy"][epoch] = np.nan
        diverged |= bad
        for s in np.flatnonzero(~diverged):
            for name, (loss, accuracy) in scores.items():
                curves[s][f"{name}_loss"][epoch] = loss[s]
                curves[s][f"{name}_accuracy"][epoch] = accuracy[s]
        if diverged.all():
            break

    return curves, diverged
