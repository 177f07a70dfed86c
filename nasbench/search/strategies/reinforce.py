"""REINFORCE (Williams 1992) with a moving-average baseline, as NAS-Bench-201 ran it.

Generating an architecture is a sequence of decisions; the policy gives a
distribution over the options of each. After each evaluation the policy moves
along ``(reward - baseline) * grad log pi(arch) + entropy_weight * grad H(pi)``
with Adam; the reward is the valid accuracy (a fraction) and the baseline an
exponential moving average of rewards (momentum 0.9, NAS-Bench-201's setting;
debiased as there: the weights of the rewards seen so far sum to one);
an infeasible architecture (it breaks a cost constraint) earns reward 0.
``controller="independent"`` is one categorical per decision (NAS-Bench-201's
policy, numpy only); ``controller="lstm"`` is a small LSTM that samples the
decisions one after another, each conditioned on the previous (Zoph & Le 2017;
needs torch). Learning rate 0.01 is NAS-Bench-201's chosen value for CIFAR-10.

>>> import numpy as np
>>> from nasbench.space import CellSpace
>>> from nasbench.search.base import Observation
>>> agent = Reinforce(learning_rate=0.1).start(CellSpace(), np.random.default_rng(0), num_epochs=12)
>>> for _ in range(300):  # a toy objective: the share of 3x3 convolutions
...     trial = agent.ask()
...     score = trial.arch.ops.count("nor_conv_3x3") / 6
...     agent.tell(trial, Observation(score, score, 0.0, 12, 1.0))
>>> bool(agent.probabilities()[:, 3].mean() > 0.5)   # the policy now favours nor_conv_3x3
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nasbench.search.base import Observation, Strategy, Trial, positive_float, positive_int, unit_float


class Reinforce(Strategy):
    name = "reinforce"

    @dataclass(frozen=True)
    class Options:
        learning_rate: float = 0.01  # Adam's
        baseline_momentum: float = 0.9
        entropy_weight: float = 0.0
        controller: str = "independent"  # or "lstm"
        hidden_size: int = 32  # of the LSTM controller

        def __post_init__(self):
            positive_float("learning_rate", self.learning_rate)
            if unit_float("baseline_momentum", self.baseline_momentum) == 1.0:
                raise ValueError("baseline_momentum must be in [0, 1): at 1 the moving average never takes a reward in")
            unit_float("entropy_weight", self.entropy_weight, 0.0, 10.0)
            if self.controller not in ("independent", "lstm"):
                raise ValueError(f"controller must be 'independent' or 'lstm', got {self.controller!r}")
            positive_int("hidden_size", self.hidden_size)

    def reset(self) -> None:
        options = self.options
        self.learning_rate = float(options.learning_rate)
        self.momentum = float(options.baseline_momentum)
        self.entropy_weight = float(options.entropy_weight)
        self.controller = options.controller
        self.baseline: float | None = None
        # The baseline is a debiased moving average (weights normalised to sum to 1), as NAS-Bench-201's
        # reference ran it: early rewards are not pulled towards the first one.
        self._reward_sum = self._weight_sum = 0.0
        self.updates = 0
        if self.controller == "independent":
            width = max(self.space.num_choices)
            # Options a decision lacks (spaces with uneven menus) are masked out.
            self.mask = np.array([[o < k for o in range(width)] for k in self.space.num_choices])
            self.logits = np.zeros(self.mask.shape)
            self.adam_m = np.zeros_like(self.logits)
            self.adam_v = np.zeros_like(self.logits)
        else:
            self._lstm = _LSTMController(self.space.num_choices, int(options.hidden_size), int(self.rng.integers(2**31)), self.learning_rate)

    def probabilities(self) -> np.ndarray:
        """Option probabilities per decision, ``(num_decisions, max_options)``."""
        if self.controller == "lstm":
            return self._lstm.marginals(self.rng)
        z = np.where(self.mask, self.logits, -np.inf)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def ask(self) -> Trial:
        if self.controller == "lstm":
            decisions = self._lstm.sample(self.rng)
        else:
            p = self.probabilities()
            u = self.rng.random((len(p), 1))
            decisions = np.minimum((p.cumsum(axis=1) < u).sum(axis=1), np.array(self.space.num_choices) - 1)
        return Trial(self.space[int(self.space.index_of(decisions))])

    def tell(self, trial: Trial, observation: Observation) -> None:
        reward = observation.valid_accuracy
        if not observation.feasible or not np.isfinite(reward):
            reward = 0.0  # an infeasible architecture or a diverged run earns nothing
        self._reward_sum = self.momentum * self._reward_sum + (1 - self.momentum) * reward
        self._weight_sum = self.momentum * self._weight_sum + (1 - self.momentum)
        self.baseline = self._reward_sum / self._weight_sum
        advantage = reward - self.baseline
        self.updates += 1
        if self.controller == "lstm":
            self._lstm.update(trial.arch.decisions, advantage, self.entropy_weight)
            return
        p = self.probabilities()
        grad = -p * advantage
        grad[np.arange(len(p)), trial.arch.decisions] += advantage
        if self.entropy_weight:
            logp = np.log(np.where(p > 0, p, 1.0))
            entropy = -(p * logp).sum(axis=1, keepdims=True)
            grad += self.entropy_weight * (-p * (logp + entropy))
        self._adam_ascend(np.where(self.mask, grad, 0.0))

    def _adam_ascend(self, grad: np.ndarray, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.adam_m = beta1 * self.adam_m + (1 - beta1) * grad
        self.adam_v = beta2 * self.adam_v + (1 - beta2) * grad**2
        m_hat = self.adam_m / (1 - beta1**self.updates)
        v_hat = self.adam_v / (1 - beta2**self.updates)
        self.logits += self.learning_rate * m_hat / (np.sqrt(v_hat) + eps)

    def state(self) -> dict:
        probs = self.probabilities()
        return {"baseline": self.baseline, "probabilities": np.round(probs, 4).tolist()}


class _LSTMController:
    """A one-layer LSTM that emits one decision per step (torch, imported on demand)."""

    def __init__(self, num_choices, hidden_size: int, torch_seed: int, learning_rate: float):
        import torch

        self.torch = torch
        self.num_choices = list(num_choices)
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(torch_seed)
        width = max(num_choices)
        self.embed = torch.nn.Embedding(width + 1, hidden_size)  # +1: the start token
        self.cell = torch.nn.LSTMCell(hidden_size, hidden_size)
        self.heads = torch.nn.Linear(hidden_size, width)
        torch.random.set_rng_state(generator_state)
        params = [*self.embed.parameters(), *self.cell.parameters(), *self.heads.parameters()]
        self.optimizer = torch.optim.Adam(params, lr=learning_rate)
        self.width = width

    def sample(self, rng: np.random.Generator) -> list[int]:
        torch = self.torch
        decisions = []
        with torch.no_grad():
            token = torch.tensor([self.width])
            h = c = torch.zeros(1, self.cell.hidden_size)
            for k in self.num_choices:
                h, c = self.cell(self.embed(token), (h, c))
                p = torch.softmax(self.heads(h)[0][:k], 0).double().numpy()
                choice = int(min((np.cumsum(p) < rng.random()).sum(), k - 1))
                decisions.append(choice)
                token = torch.tensor([choice])
        return decisions

    def update(self, decisions, advantage: float, entropy_weight: float) -> None:
        torch = self.torch
        token = torch.tensor([self.width])
        h = c = torch.zeros(1, self.cell.hidden_size)
        log_prob = torch.zeros(())
        entropy = torch.zeros(())
        for choice, k in zip(decisions, self.num_choices):
            h, c = self.cell(self.embed(token), (h, c))
            logp = torch.log_softmax(self.heads(h)[0][:k], 0)
            log_prob = log_prob + logp[choice]
            entropy = entropy - (logp.exp() * logp).sum()
            token = torch.tensor([choice])
        loss = -(advantage * log_prob + entropy_weight * entropy)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def marginals(self, rng: np.random.Generator, samples: int = 200) -> np.ndarray:
        """Monte-Carlo marginals of each decision (uses its own generator: does not disturb ``rng``)."""
        local = np.random.default_rng(0)
        counts = np.zeros((len(self.num_choices), self.width))
        for _ in range(samples):
            counts[np.arange(len(self.num_choices)), self.sample(local)] += 1
        return counts / samples
