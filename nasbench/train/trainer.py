"""The reference trainer: one architecture, one seed, plain PyTorch, deterministic.

This function is the definition of every number in a table: ``nasbench-verify``
re-runs it and compares.
"""

from __future__ import annotations

import hashlib
import math
import os
import platform
import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from nasbench.space.base import SearchSpace
from nasbench.train.data import Splits
from nasbench.train.recipe import Recipe

SPLITS = ("train", "valid", "test")
EPOCH_METRICS = tuple(f"{s}_{m}" for s in SPLITS for m in ("loss", "accuracy")) + ("epoch_time",)


@dataclass
class RunResult:
    """Per-epoch curves ``(epochs,)`` float32 keyed by :data:`EPOCH_METRICS`, plus latency.

    Losses are mean cross-entropy (nats), accuracies fractions in [0, 1],
    ``epoch_time`` training wall seconds of that epoch (evaluation excluded).
    """

    curves: dict[str, np.ndarray]
    diverged: bool
    latency_b1: float  # seconds per forward pass, batch 1 (median)
    latency_b256: float  # seconds per forward pass, batch 256 (median)
    meta: dict = field(default_factory=dict)


class Stopwatch:
    """Wall seconds per named phase: ``with watch("forward"): ...`` adds the block's time to ``watch.seconds``.

    The trainers take one to say where an entry's time goes (:mod:`nasbench.train.profile`);
    timing a phase changes no arithmetic.
    """

    def __init__(self, clock=time.perf_counter):
        self.clock = clock  # time.process_time: CPU seconds, which a machine shared with other jobs does not inflate
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, phase: str):
        start = self.clock()
        try:
            yield
        finally:
            self.seconds[phase] += self.clock() - start


def _untimed(phase: str):
    return nullcontext()


def machine_description() -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        # which vector kernels torch dispatches to: the same torch on AVX2 and AVX-512 hosts orders floats differently
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


@contextmanager
def torch_threads(threads: int):
    """Run the block with ``threads`` torch threads (a training process's float order depends on them)."""
    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def use_deterministic_algorithms(device: str = "cpu") -> None:
    """Make torch's kernels deterministic for training on ``device``.

    On CUDA, cuBLAS needs a fixed workspace for that (``CUBLAS_WORKSPACE_CONFIG``, read
    when this process first uses cuBLAS): it is set here unless the environment chose one.
    """
    if str(device).startswith("cuda"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)


def fingerprint_decisions(space: SearchSpace) -> tuple[int, ...]:
    """The architecture :func:`float_fingerprint` trains: the class representative using the most
    distinct choices (the most kinds of kernel), ties broken by the most FLOPs, then by index."""
    reps = space.representatives()
    decisions = space.all_decisions[reps]
    flops = space.costs(decisions)["flops"]
    kinds = np.array([len(set(map(int, d))) for d in decisions])
    best = np.lexsort((-np.arange(len(reps)), flops, kinds))[-1]
    return tuple(int(v) for v in decisions[best])


def float_fingerprint(space: SearchSpace, data: Splits, recipe: Recipe, device: str = "cpu", steps: int = 8) -> str:
    """A 16-hex-digit hash of a short fixed training run of the trainer's model, optimiser and loss.

    Machines whose float arithmetic agrees for this recipe (same kernels, vendor paths,
    thread count and libraries) give the same hash, so entries trained on one re-run bit
    for bit on the other; a differing hash says they will not. It measures what a CPU's
    name and torch's reported kernels only suggest (two AVX-512 CPUs of different vendors
    train differently). Runs with the calling process's torch threads.
    """
    from nasbench.train.stacked import channel_major, stack_models

    use_deterministic_algorithms(device)
    stack = 2
    if recipe.archs_per_step is not None:  # the union trainer's arithmetic: its width, one model per architecture
        from nasbench.train.union import fingerprint_archs, union_network

        stack = recipe.archs_per_step
        model = union_network(space, fingerprint_archs(space, stack), [0])[0].to(device)
    else:
        torch.manual_seed(0)
        model = space.build_model(fingerprint_decisions(space)).to(device)
        if recipe.stack_seeds:  # the stacked trainer's arithmetic: two models side by side
            model = stack_models([model, space.build_model(fingerprint_decisions(space)).to(device)])

    def forward(inputs):
        return model(channel_major(inputs.expand(stack, *inputs.shape))).sum(1) if recipe.stack_seeds else model(inputs)

    optimizer = make_optimizer(model.parameters(), recipe)
    x, y = (torch.as_tensor(a, device=device) for a in data.split("train"))
    model.train()
    order = torch.arange(steps * recipe.batch_size, device=device) % len(x)  # small datasets wrap around
    for step in range(steps):
        batch = order[step * recipe.batch_size:(step + 1) * recipe.batch_size]
        loss = nn.functional.cross_entropy(forward(x[batch]), y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    digest = hashlib.sha256()
    with torch.inference_mode():
        model.eval()
        x_valid = torch.as_tensor(data.split("valid")[0][:recipe.eval_batch_size], device=device)
        digest.update(forward(x_valid).cpu().numpy().tobytes())
    for tensor in model.state_dict().values():
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)``."""
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        logits = model(x[start:start + batch_size])
        target = y[start:start + batch_size]
        loss_sum += nn.functional.cross_entropy(logits, target, reduction="sum").item()
        correct += (logits.argmax(1) == target).sum().item()
    return loss_sum / len(x), correct / len(x)


@torch.inference_mode()
def measure_latency(model: nn.Module, sample: torch.Tensor, batch: int, repeats: int) -> float:
    """Median wall seconds of one forward pass at ``batch`` (after two warm-up passes)."""
    if repeats == 0:
        return float("nan")
    model.eval()
    x = sample[:1].repeat(batch, 1)
    for _ in range(2):
        model(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x)
        if x.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def make_optimizer(parameters, recipe: Recipe) -> torch.optim.SGD:
    """The recipe's SGD (the trainer's, the timing pass's and the one-shot calibration's).

    ``foreach`` updates all tensors in one call: the same arithmetic per tensor as the
    per-tensor loop (bit-identical curves on CPU, tested), with less Python overhead
    per step. PyTorch already picks it by default on CUDA; on CPU it must be asked for.
    """
    return torch.optim.SGD(
        parameters,
        lr=recipe.lr,
        momentum=recipe.momentum,
        nesterov=recipe.nesterov,
        weight_decay=recipe.weight_decay,
        foreach=True,
    )


def train(
    space: SearchSpace,
    decisions,
    data: Splits,
    recipe: Recipe,
    seed: int,
    device: str = "cpu",
    watch: Stopwatch | None = None,
) -> RunResult:
    """Train ``decisions`` of ``space`` with ``recipe`` and ``seed``; evaluate after every epoch
    (``recipe.eval_epochs``: after those).

    ``watch`` (a :class:`Stopwatch`) collects the seconds of each phase.
    """
    phase = watch or _untimed
    use_deterministic_algorithms(device)
    with phase("build"):
        torch.manual_seed(seed)
        model = space.build_model(decisions).to(device)
        tensors = {
            name: (torch.as_tensor(x, device=device), torch.as_tensor(y, device=device))
            for name in SPLITS
            for x, y in [data.split(name)]
        }
    x_train, y_train = tensors["train"]
    steps_per_epoch = math.ceil(len(x_train) / recipe.batch_size)
    optimizer = make_optimizer(model.parameters(), recipe)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe.epochs * steps_per_epoch)
    order_rng = torch.Generator().manual_seed(seed)  # data order depends on the seed alone

    curves = {key: np.full(recipe.epochs, np.nan, dtype=np.float32) for key in EPOCH_METRICS}
    diverged = False
    for epoch in range(recipe.epochs):
        model.train()
        start = time.perf_counter()
        with phase("data"):
            order = torch.randperm(len(x_train), generator=order_rng).to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for step in range(steps_per_epoch):
            with phase("data"):
                batch = order[step * recipe.batch_size:(step + 1) * recipe.batch_size]
                x_batch, y_batch = x_train[batch], y_train[batch]
            with phase("forward"):
                logits = model(x_batch)
                loss = nn.functional.cross_entropy(logits, y_batch)
            with phase("metrics"):
                if not torch.isfinite(loss):
                    diverged = True
                    break
            with phase("backward"):
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
            with phase("optimizer"):
                optimizer.step()
                scheduler.step()
            with phase("metrics"):
                # Train metrics are the running averages over the epoch's batches, as
                # NAS-Bench-201 records them: a separate pass would cost a third of training.
                loss_sum += loss.detach() * len(batch)
                correct += (logits.detach().argmax(1) == y_batch).sum()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        curves["epoch_time"][epoch] = time.perf_counter() - start
        if diverged:
            break
        curves["train_loss"][epoch] = loss_sum.item() / len(x_train)
        curves["train_accuracy"][epoch] = correct.item() / len(x_train)
        if not recipe.evaluates(epoch + 1):
            continue
        with phase("evaluation"):
            scores = {name: evaluate(model, *tensors[name], recipe.eval_batch_size) for name in ("valid", "test")}
        if not all(np.isfinite(loss_value) for loss_value, _ in scores.values()):
            # the epoch's last step made the weights non-finite: argmax of NaN logits would score class 0
            curves["train_loss"][epoch] = curves["train_accuracy"][epoch] = np.nan
            diverged = True
            break
        for name, (loss_value, accuracy) in scores.items():
            curves[f"{name}_loss"][epoch] = loss_value
            curves[f"{name}_accuracy"][epoch] = accuracy

    with phase("latency"):
        latency_b1, latency_b256 = measure_latencies(model, tensors["test"][0], recipe)
    return RunResult(curves=curves, diverged=diverged, latency_b1=latency_b1, latency_b256=latency_b256)


def measure_latencies(model: nn.Module, sample: torch.Tensor, recipe: Recipe) -> tuple[float, float]:
    """Median forward seconds at batch 1 (``recipe.latency_repeats`` passes) and 256 (a quarter as many)."""
    repeats = recipe.latency_repeats
    return (
        measure_latency(model, sample, 1, repeats),
        measure_latency(model, sample, 256, max(repeats // 4, 1) if repeats else 0),
    )
