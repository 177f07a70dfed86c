"""The strategy interface: Optuna-style ask/tell over a space, with an explicit generator.

A strategy proposes a :class:`Trial` (an architecture and the epoch to train it
to) with :meth:`Strategy.ask` and learns the outcome through
:meth:`Strategy.tell`. It never sees test metrics, never touches the budget and
never draws randomness outside the ``numpy.random.Generator`` it was given: the
runner (:func:`nasbench.search.runner.run_search`) owns the budget, the
benchmark and the bookkeeping, so that the same seed gives the same trajectory.

:class:`BaseStrategy` is what every strategy, ask/tell or one-shot, declares
(its name, its options and whether it needs torch) and the one method the
runner calls (:meth:`BaseStrategy.run`).
"""

from __future__ import annotations

import dataclasses
import math
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

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


@dataclass(frozen=True)
class NoOptions:
    """The options of a strategy that has none."""


def make_options(strategy: type, options: Any = None, overrides: Mapping[str, Any] | None = None) -> Any:
    """``strategy.Options`` from ``options`` (an ``Options``, a mapping or ``None``) and ``overrides``.

    Unknown names are a one-line error naming the valid ones; ``Options.__post_init__`` checks the values.
    """
    fields = [f.name for f in dataclasses.fields(strategy.Options)]
    if options is None:
        values: dict[str, Any] = {}
    elif isinstance(options, strategy.Options):
        values = {name: getattr(options, name) for name in fields}
    elif isinstance(options, Mapping):
        values = dict(options)
    else:
        raise TypeError(f"options of strategy {strategy.name} must be a {strategy.Options.__qualname__} or a mapping, "
                        f"got {type(options).__name__}")
    values.update(overrides or {})
    unknown = sorted(set(values) - set(fields), key=str)
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r} for strategy {strategy.name}; valid: {', '.join(fields) or 'none'}")
    return strategy.Options(**values)


def require_objectives(strategy: type, objectives: Sequence[str] | None) -> tuple[str, ...] | None:
    """``objectives`` checked (:func:`~nasbench.search.multiobjective.check_objectives`); a multi-objective
    ``strategy`` (a class) without them is a one-line error."""
    from nasbench.search.multiobjective import check_objectives

    objectives = check_objectives(objectives)
    if getattr(strategy, "objective_mode", "single") == "multi" and objectives is None:
        raise ValueError(f"strategy {strategy.name} is multi-objective: set objectives, e.g. objectives=[valid_accuracy,params]")
    return objectives


class BaseStrategy(ABC):
    """What every strategy declares, table-based (:class:`Strategy`) or one-shot, and what the runner calls.

    A strategy's class declares:

    * ``name``: how configs (``strategy=<name>``), results and reports call it;
    * ``Options``: a dataclass of its options, whose field defaults are the strategy's
      defaults (a YAML file in ``conf/strategy`` only overrides them) and whose
      ``__post_init__`` checks them;
    * ``needs_torch``: whether importing its file imports torch (the registry,
      :mod:`nasbench.search.registry`, reads ``name`` and ``needs_torch`` from the
      package's files without importing them).

    ``Strategy(population_size=20)`` or ``Strategy({"population_size": 20})`` sets
    options (``self.options``); the runner then calls :meth:`run`.
    """

    name: ClassVar[str] = "abstract"
    Options: ClassVar[type] = NoOptions
    needs_torch: ClassVar[bool] = False
    #: runs train networks for real (a supernet), so they cost minutes: nasbench-compare gives them ``one_shot_seeds``
    one_shot: ClassVar[bool] = False
    #: the run settings it honours besides the budget and the seed (``skip_duplicates``, ``constraints``,
    #: ``objectives``, ``workers``)
    supports: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, options: Any = None, /, **overrides: Any):
        self.options = make_options(type(self), options, overrides)

    @abstractmethod
    def run(self, benchmark, budget, seed: int, **settings: Any) -> dict[str, Any]:
        """Search ``benchmark`` under ``budget`` (:class:`~nasbench.search.runner.Budget`) with ``seed``.

        Returns the run in the runner's result format (:func:`~nasbench.search.runner.run_search`).
        ``settings``: those of :attr:`supports` that the run sets.
        """

    @abstractmethod
    def check(self, benchmark, seed: int, **settings: Any) -> None:
        """Everything :meth:`run` checks before it spends anything, without running."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.options!r})"


class Strategy(BaseStrategy):
    """Base class of ask/tell strategies: subclasses implement :meth:`ask` and :meth:`tell`.

    The runner binds the strategy to a search with :meth:`start` (the space, the
    strategy's own generator, the table's last epoch), which calls :meth:`reset`:
    set up the search state there, from ``self.options``.
    """

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
    supports: ClassVar[frozenset[str]] = frozenset({"skip_duplicates", "constraints", "objectives", "workers"})

    def start(self, space: SearchSpace, rng: np.random.Generator, num_epochs: int, objectives: Sequence[str] | None = None):
        """Bind to a search and :meth:`reset`; returns the strategy.

        ``objectives`` (2-3 names, see :mod:`nasbench.search.multiobjective`) go to
        strategies whose :attr:`objective_mode` is ``"multi"`` (which need them) or ``"any"``;
        a single-objective strategy optimises valid accuracy whatever they are.
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        objectives = require_objectives(type(self), objectives)
        self.space = space
        self.rng = rng
        self.num_epochs = int(num_epochs)
        if self.objective_mode != "single":
            self.objectives = objectives
        self.reset()
        return self

    def reset(self) -> None:
        """Set up the search state; ``options``, ``space``, ``rng`` and ``num_epochs`` are set."""

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

    def run(self, benchmark, budget, seed: int, *, skip_duplicates: bool = False, constraints=None, objectives=None,
            workers: int = 1) -> dict[str, Any]:
        """Ask/evaluate/tell on ``benchmark`` (:func:`~nasbench.search.runner.run_search` describes the settings)."""
        from nasbench.search.runner import make_generators, run_search

        strategy_rng, runner_rng = make_generators(seed)
        self.start(benchmark.space, strategy_rng, benchmark.num_epochs, objectives)
        return run_search(self, benchmark, budget, runner_rng, skip_duplicates=skip_duplicates, constraints=constraints,
                          objectives=objectives, workers=workers)

    def check(self, benchmark, seed: int, *, objectives=None, workers: int = 1, **settings: Any) -> None:
        from nasbench.search.runner import check_searchable, make_generators

        self.start(benchmark.space, make_generators(seed)[0], benchmark.num_epochs, objectives)
        positive_int("workers", workers)
        check_searchable(benchmark)


class MultiObjectiveStrategy(Strategy):
    """Base class of strategies that optimise several objectives (``objectives``, 2 or 3 names, given to :meth:`start`).

    :meth:`vector` turns an observation into the vector to minimise
    (accuracies negated), or ``None`` for an infeasible trial.
    """

    objective_mode: ClassVar[str] = "multi"

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
