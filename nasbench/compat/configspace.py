"""A space as a ``ConfigSpace.ConfigurationSpace``, and a table as a one-call objective (``pip install "nasbench[configspace]"``).

::

    from nasbench.compat.configspace import configuration_space, objective, to_arch

    cs = configuration_space(seed=0)                  # the cell space: six categoricals "1<-0" ... "3<-2"
    config = cs.sample_configuration()
    to_arch(config).arch_str                          # its NAS-Bench-201 arch string
    objective(config, fidelity=4, seed=0)             # {'function_value': ..., 'fitness': ..., 'cost': ..., 'info': {...}}

Hyperparameters are categoricals over the option names, one per decision of the space:
for the cell space one per edge, named ``"j<-i"`` for the edge from node ``i`` to node ``j``
(the names HPOBench and NATS-Bench's BOHB script give NAS-Bench-201's edges), in the
arch string's order; for the block space one per position, ``"pos0"``, ``"pos1"``, ...
The space's own config is kept in the ``ConfigurationSpace``'s ``meta``, so a
``Configuration`` converts back to its architecture without being told the space.

:func:`objective` answers from a table, in the result layouts of HPOBench
(``function_value``, ``cost``, ``info``) and DEHB (``fitness``, ``cost``, ``info``) at once,
so SMAC-, DEHB- and HPOBench-style loops call it as it is:

* ``function_value`` = ``fitness`` = the validation error, ``1 - valid_accuracy`` (a
  fraction, minimised);
* ``cost`` = the table's simulated training seconds to ``fidelity``;
* ``info`` = every field of :meth:`Benchmark.query <nasbench.table.Benchmark.query>`
  (``test_accuracy``, ``params``, ``latency``, ...).

``fidelity`` is the epoch (1-based; ``None``: the last). DEHB's fractional budgets are
rounded to the nearest epoch (halves up), and HPOBench's ``{"epoch": e}`` is read too. A
table whose recipe evaluated only some epochs (``Benchmark.evaluated_epochs``) answers only
at those; another epoch is an error naming them.
``seed`` is a training seed of the table (``0, 1, 2``) or ``None`` for the mean over seeds.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
from typing import TYPE_CHECKING, Any

from nasbench.space import BlockSpace, CellSpace
from nasbench.space.base import Arch, SearchSpace, SpaceError
from nasbench.space.registry import space_from_config
from nasbench.table.benchmark import Benchmark
from nasbench.table.store import TableError

if TYPE_CHECKING:
    import ConfigSpace

#: key of the space's config in a ConfigurationSpace's ``meta``
META_KEY = "nasbench_space"


def _configspace():
    """The ConfigSpace package, imported when first needed (``import nasbench`` never imports it)."""
    try:
        import ConfigSpace
    except ImportError:
        raise ImportError('nasbench.compat.configspace needs ConfigSpace: pip install "nasbench[configspace]"') from None
    return ConfigSpace


def hyperparameter_names(space: SearchSpace) -> list[str]:
    """One name per decision: ``"j<-i"`` per cell edge, ``"pos<p>"`` per block position, else ``"d<k>"``."""
    if isinstance(space, CellSpace):
        return [f"{j}<-{i}" for i, j in space.edges]
    if isinstance(space, BlockSpace):
        return [f"pos{p}" for p in range(space.positions)]
    return [f"d{k}" for k in range(space.num_decisions)]


def configuration_space(space: SearchSpace | Benchmark | None = None, seed: int | None = None) -> ConfigSpace.ConfigurationSpace:
    """The ``ConfigurationSpace`` of ``space`` (a space or a table's; ``None``: the default cell space)."""
    ConfigSpace = _configspace()
    if isinstance(space, Benchmark):
        space = space.space
    elif space is None:
        space = CellSpace()
    elif not isinstance(space, SearchSpace):
        raise SpaceError(f"expected a search space (CellSpace(), BlockSpace(), ...) or a Benchmark, got {type(space).__name__}")
    names = hyperparameter_names(space)
    hyperparameters = [
        ConfigSpace.Categorical(name, space.option_names(d), default=space.option_names(d)[0])
        for d, name in enumerate(names)
    ]
    return ConfigSpace.ConfigurationSpace(name=f"nasbench-{space.kind}", seed=seed, meta={META_KEY: space.config()},
                                          space=hyperparameters)


def space_of(cs: ConfigSpace.ConfigurationSpace) -> SearchSpace:
    """The nasbench space a ``ConfigurationSpace`` made by :func:`configuration_space` describes."""
    ConfigSpace = _configspace()
    meta = cs.meta if isinstance(cs, ConfigSpace.ConfigurationSpace) else None
    if not isinstance(meta, dict) or META_KEY not in meta:
        raise SpaceError("this ConfigurationSpace was not made by nasbench.compat.configspace.configuration_space")
    return _space(json.dumps(meta[META_KEY], sort_keys=True))


@functools.lru_cache(maxsize=16)
def _space(config_json: str) -> SearchSpace:
    """One space per config (its classes and costs are computed once)."""
    return space_from_config(json.loads(config_json))


def to_arch(config: Any, space: SearchSpace | None = None) -> Arch:
    """The architecture of a ``Configuration`` (or a dict of the same names); the space is the
    configuration's own unless given (a plain dict without one: the default cell space)."""
    if space is None:
        cs = getattr(config, "config_space", None)
        space = space_of(cs) if cs is not None else CellSpace()
    names = hyperparameter_names(space)
    try:
        values = dict(config)
    except (TypeError, ValueError):
        raise SpaceError(f"expected a Configuration or a dict of {', '.join(names)}, got {type(config).__name__}") from None
    if set(values) != set(names):
        raise SpaceError(f"configuration keys {sorted(map(str, values))} do not match the space's; valid: {', '.join(names)}")
    decisions = []
    for d, name in enumerate(names):
        options = space.option_names(d)
        value = values[name]
        if not isinstance(value, str) or str(value) not in options:
            raise SpaceError(f"hyperparameter {name!r} = {value!r} is not an option; valid: {', '.join(options)}")
        decisions.append(options.index(str(value)))
    return space.parse(decisions)


def to_config(arch: Any, cs: ConfigSpace.ConfigurationSpace) -> ConfigSpace.Configuration:
    """The ``Configuration`` of ``arch`` (any encoding the space parses) in ``cs``."""
    space = space_of(cs)
    decisions = space.parse(arch).decisions
    values = {name: space.option_names(d)[k] for d, (name, k) in enumerate(zip(hyperparameter_names(space), decisions))}
    return _configspace().Configuration(cs, values=values)


@functools.lru_cache(maxsize=4)
def _load(table: Any) -> Benchmark:
    return Benchmark.load(table)


def objective(config: Any, fidelity: Any = None, seed: int | None = None,
              table: Benchmark | str | None = None) -> dict[str, Any]:
    """The table's answer for ``config`` at epoch ``fidelity`` (see the module's doc for the keys).

    ``table``: a :class:`~nasbench.table.Benchmark`, a shipped table's name or a path
    (``None``: the shipped flagship); loaded once and kept.
    """
    bench = table if isinstance(table, Benchmark) else _load(table)
    cs = getattr(config, "config_space", None)
    if cs is not None and space_of(cs) != bench.space:
        raise SpaceError(
            f"the configuration belongs to the {space_of(cs).kind} space, the table to the {bench.space.kind} space; "
            "pass the table of the configuration's space (table=...)"
        )
    arch = to_arch(config, bench.space)
    epoch = _epoch(fidelity, bench.num_epochs)
    if epoch is not None:
        bench.check_evaluated(epoch, "fidelity")
    result = bench.query(arch, epoch=epoch, seed=seed)
    error = 1.0 - result.valid_accuracy
    return {"function_value": error, "fitness": error, "cost": result.train_time, "info": result.to_dict()}


def _epoch(fidelity: Any, num_epochs: int) -> int | None:
    valid = f"valid: an epoch 1..{num_epochs} (a number, rounded to the nearest epoch), {{'epoch': e}} or None for the last"
    if isinstance(fidelity, dict):
        if set(fidelity) != {"epoch"}:
            raise TableError(f"fidelity {fidelity!r} names no epoch; {valid}")
        fidelity = fidelity["epoch"]
    if fidelity is None:
        return None
    if isinstance(fidelity, bool) or not isinstance(fidelity, numbers.Real) or not math.isfinite(fidelity):
        raise TableError(f"fidelity {fidelity!r} is not an epoch; {valid}")
    epoch = math.floor(fidelity + 0.5)
    if not 1 <= epoch <= num_epochs:
        raise TableError(f"fidelity {fidelity!r} out of range; {valid}")
    return int(epoch)
