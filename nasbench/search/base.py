"""The strategy interface: Optuna-style ask/tell over a space, with an explicit generator.

A strategy proposes a :class:`Trial` (an architecture and the epoch to train it
to) with :meth:`Strategy.ask` and learns the outcome through
:meth:`Strategy.tell`. It never sees test metrics, never touches the budget and
never draws randomness outside the ``numpy.random.Generator`` it was given: the
runner (:func:`nasbench.search.runner.run_search`) owns the budget, the
benchmark and the bookkeeping, so that the same seed gives the same trajectory.
"""

from __future__ import annotations

import math
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from nasbench.space.base import Arch, SearchSpace


@dataclass(frozen=True)
class Trial:
    """Train ``arch`` to ``epoch`` (1-based; ``None`` means the table's last epoch).

    With ``resume=True`` training continues model ``model`` (an id the strategy
    gives the model's trials) from its last evaluation in this run, with the
    same seed, so only the extra epochs cost time: multi-fidelity strategies
    promote models rather than retrain them. Trials without a ``model`` id share
    one model per isomorphism class.
    """

    arch: Arch
    epoch: int | None = None
    resume: bool = False
    model: int | None = None


@dataclass(frozen=True)
class Observation:
    """What a search may see of an evaluation: train/valid metrics and the cost.

    Accuracies are fractions in [0, 1]; ``train_time`` is the simulated seconds
    the evaluation cost (zero for a skipped isomorphic duplicate).

    ``feasible=False``: the architecture breaks a cost constraint, so the runner
    skipped it without training (no cost, not counted). Its metrics are then
    the worst possible (``valid_accuracy=-inf``, ``valid_loss=inf``) so that a
    strategy which ignores the flag still ranks it last; strategies check the
    flag and learn nothing else from it.

    ``objectives``: with multi-objective search configured, the values of the
    configured objectives in their order (raw units: accuracy fraction, params,
    MACs, seconds); ``None`` otherwise and for infeasible trials.
    """

    valid_accuracy: float
    train_accuracy: float
    valid_loss: float
    epoch: int
    train_time: float
    duplicate: bool = False
    feasible: bool = True
    objectives: tuple[float, ...] | None = None


#: the runner's default limit on duplicate proposals in a row (:attr:`Strategy.max_consecutive_duplicates`)
MAX_CONSECUTIVE_DUPLICATES = 10_000


class Strategy(ABC):
    """Base class: subclasses implement :meth:`ask` and :meth:`tell`.

    ``options`` are validated by the subclass; unknown names raise ``ValueError``.
    """

    name: ClassVar[str] = "abstract"
    #: ``"single"``: optimises valid accuracy; ``"multi"``: needs ``objectives``; ``"any"``: either
    objective_mode: ClassVar[str] = "single"
    #: the objectives a multi-objective strategy optimises (``None``: valid accuracy alone)
    objectives: tuple[str, ...] | None = None
    #: with ``skip_duplicates``, a run stops after this many duplicate proposals in a row (the strategy keeps
    #: proposing classes it has seen: converged, or nearly)
    max_consecutive_duplicates: ClassVar[int] = MAX_CONSECUTIVE_DUPLICATES
    #: with several workers, whether :meth:`ask` proposes work before the earlier trials are told (an
    #: asynchronous strategy), or may answer ``None`` until they are: a synchronous one's free workers wait
    asynchronous: ClassVar[bool] = True
    #: a synchronous strategy's one line on what its free workers wait for
    waits_for: ClassVar[str] = ""

    def __init__(self, space: SearchSpace, rng: np.random.Generator, num_epochs: int):
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        self.space = space
        self.rng = rng
        self.num_epochs = int(num_epochs)

    @abstractmethod
    def ask(self) -> Trial | None:
        """The next architecture (and fidelity) to evaluate.

        A synchronous strategy (:attr:`asynchronous` false) may answer ``None`` while trials it
        proposed are still in flight: nothing to propose until one of them is told.
        """

    @abstractmethod
    def tell(self, trial: Trial, observation: Observation) -> None:
        """Learn the outcome of ``trial``."""

    def state(self) -> dict[str, Any]:
        """Strategy-specific state worth recording at the end of a run (JSON-able)."""
        return {}


class MultiObjectiveStrategy(Strategy):
    """Base class of strategies that optimise several objectives (``objectives``, 2 or 3 names).

    :meth:`vector` turns an observation into the vector to minimise
    (accuracies negated), or ``None`` for an infeasible trial.
    """

    objective_mode: ClassVar[str] = "multi"

    def __init__(self, space: SearchSpace, rng: np.random.Generator, num_epochs: int, objectives=("valid_accuracy", "params")):
        super().__init__(space, rng, num_epochs)
        from nasbench.search.multiobjective import check_objectives

        checked = check_objectives(objectives)
        if checked is None:
            raise ValueError(f"strategy {self.name} is multi-objective: set objectives, e.g. objectives=[valid_accuracy,params]")
        self.objectives = checked

    def vector(self, observation: Observation) -> np.ndarray | None:
        from nasbench.search.multiobjective import minimised

        if not observation.feasible:
            return None
        if observation.objectives is None or len(observation.objectives) != len(self.objectives):
            raise ValueError(
                f"strategy {self.name} needs the values of objectives {list(self.objectives)} in every observation; "
                "run it with run_search(..., objectives=...)"
            )
        return minimised(observation.objectives, self.objectives)


def positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def positive_float(name: str, value: Any, allow_zero: bool = False) -> float:
    """``value`` as a float, finite and > 0 (>= 0 with ``allow_zero``)."""
    # the comparison, unlike math.isfinite, also refuses nan and ints too large for a float without raising
    finite = isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= sys.float_info.max
    if not finite or not (value >= 0 if allow_zero else value > 0):
        raise ValueError(f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


def ranking_score(valid_accuracy: float) -> float:
    """``valid_accuracy`` for ranking, a non-finite one (a diverged run) counting as the worst."""
    return valid_accuracy if math.isfinite(valid_accuracy) else -math.inf


def unit_float(name: str, value: Any, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    return float(value)
