"""The one registry of strategies: every strategy, table-based or one-shot, is found here by name.

Three sources, in this order:

* **the package's own**: every class in a module of :mod:`nasbench.search.strategies`
  or :mod:`nasbench.search.oneshot` that declares ``name = "..."`` in its body. The
  declarations (``name``, ``needs_torch``) are read from the source without
  importing it, so that listing strategies never imports torch; a strategy's
  module is imported when it is used. Adding a strategy is adding its file.
* **installed packages**: the entry-point group ``nasbench.strategies``
  (``my_strategy = "my_package.module:MyStrategy"`` in the package's
  ``[project.entry-points."nasbench.strategies"]``).
* **a class path**: ``"my_module:MyStrategy"`` names a class in any importable
  module (``nasbench-search strategy=custom strategy.cls=my_module:MyStrategy``).

>>> from nasbench.search import registry
>>> registry.get("rea").__name__, registry.needs_torch("rea"), registry.needs_torch("darts")
('RegularizedEvolution', False, True)
>>> registry.get("rea")(population_size=20).options
RegularizedEvolution.Options(population_size=20, sample_size=3, crossover_prob=0.0)
>>> registry.config("rea")
{'name': 'rea', 'population_size': 10, 'sample_size': 3, 'crossover_prob': 0.0}
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any, NamedTuple, Sequence

#: the entry-point group through which installed packages register strategies
ENTRY_POINT_GROUP = "nasbench.strategies"
#: the packages whose modules hold the built-in strategies
PACKAGES = ("nasbench.search.strategies", "nasbench.search.oneshot")


class Declared(NamedTuple):
    """A strategy as its file declares it: where its class is, and whether importing it imports torch."""

    target: str  # "module:Class"
    needs_torch: bool


def _declarations(path: Path, module: str) -> dict[str, Declared]:
    """``name -> Declared`` of the classes in ``path`` whose body sets ``name`` to a string (not ``"abstract"``)."""
    found = {}
    for node in ast.parse(path.read_text(), str(path)).body:
        if not isinstance(node, ast.ClassDef):
            continue
        values = {}
        for stmt in node.body:  # `name = "rea"`, `needs_torch: ClassVar[bool] = True`
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
            if isinstance(getattr(stmt, "value", None), ast.Constant):
                values.update({target.id: stmt.value.value for target in targets if isinstance(target, ast.Name)})
        name = values.get("name")
        if isinstance(name, str) and name != "abstract":
            if name in found:
                raise TypeError(f"{path}: two classes declare strategy name {name!r}")
            found[name] = Declared(f"{module}:{node.name}", bool(values.get("needs_torch", False)))
    return found


@functools.cache
def builtin() -> dict[str, Declared]:
    """The package's own strategies, ``name -> Declared``, read from their files."""
    found: dict[str, Declared] = {}
    for package in PACKAGES:
        for path in sorted(Path(find_spec(package).submodule_search_locations[0]).glob("*.py")):
            if path.name == "__init__.py":
                continue
            for name, declared in _declarations(path, f"{package}.{path.stem}").items():
                if name in found:
                    raise TypeError(f"strategy name {name!r} is declared twice: {found[name].target} and {declared.target}")
                found[name] = declared
    return found


def classes() -> dict[str, type]:
    """``name -> class`` of the package's own strategies that import without torch: the ask/tell ones (imports them)."""
    return {name: load(declared.target) for name, declared in sorted(builtin().items()) if not declared.needs_torch}


def entry_points() -> dict[str, metadata.EntryPoint]:
    """Strategies that installed packages register under :data:`ENTRY_POINT_GROUP` (the package's own win a clash)."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name not in builtin()}


def names() -> list[str]:
    """Every registered strategy name, sorted."""
    return sorted({*builtin(), *entry_points()})


def needs_torch(name: str) -> bool:
    """Whether importing strategy ``name`` imports torch (an installed package's strategy: assumed so)."""
    declared = builtin().get(name)
    if declared is not None:
        return declared.needs_torch
    if name in entry_points():
        return True
    raise ValueError(unknown(name))


def unknown(name: Any) -> str:
    return f"unknown strategy {name!r}; valid: {', '.join(names())}, or a class as module:Class"


def get(name: str) -> type:
    """The class of strategy ``name``: a registered name, or ``"module:Class"``."""
    from nasbench.search.base import BaseStrategy

    if not isinstance(name, str):
        raise ValueError(unknown(name))
    declared = builtin().get(name)
    if declared is not None:
        return load(declared.target)
    points = entry_points()
    if name in points:
        cls = points[name].load()
        if not (isinstance(cls, type) and issubclass(cls, BaseStrategy)):
            raise ValueError(f"entry point {name} = {points[name].value} of group {ENTRY_POINT_GROUP} is not a strategy class "
                             "(a subclass of nasbench.search.Strategy)")
        return cls
    if ":" in name:
        return load(name)
    raise ValueError(unknown(name))


def load(target: str) -> type:
    """The strategy class ``"module:Class"`` names; a bad path is a one-line error."""
    from nasbench.search.base import BaseStrategy

    module_name, colon, attribute = str(target).partition(":")
    if not (colon and module_name and attribute):
        raise ValueError(f"a strategy class is given as module:Class, e.g. my_module:MyStrategy, got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is not None and module_name.startswith(err.name):
            raise ValueError(f"cannot import {target}: no module named {err.name!r} "
                             "(is the folder that holds it on PYTHONPATH?)") from None
        raise
    cls = module
    for part in attribute.split("."):
        if not hasattr(cls, part):
            raise ValueError(f"cannot import {target}: module {module_name} has no attribute {attribute!r}")
        cls = getattr(cls, part)
    if not (isinstance(cls, type) and issubclass(cls, BaseStrategy)):
        raise ValueError(f"{target} is not a strategy class (a subclass of nasbench.search.Strategy)")
    if cls.name == "abstract":
        raise ValueError(f"{target} declares no name: set name = \"...\" in its class body")
    return cls


def create(name: str, options: Any = None, **overrides: Any):
    """A new instance of strategy ``name`` (:func:`get`) with ``options``."""
    return get(name)(options, **overrides)


def config(name: str) -> dict[str, Any]:
    """The config node of strategy ``name``: ``{"name": name, **its options' defaults}`` (imports the strategy)."""
    cls = get(name)
    return {"name": name, **{f.name: getattr(cls.Options(), f.name) for f in dataclasses.fields(cls.Options)}}


def make_strategy(name: str, space, rng, num_epochs: int, objectives: Sequence[str] | None = None, **options: Any):
    """Strategy ``name`` with ``options``, started on ``space`` (:meth:`~nasbench.search.base.Strategy.start`).

    An ask/tell strategy only; a multi-objective one without ``objectives`` is an error before its options are checked.
    """
    from nasbench.search.base import Strategy, require_objectives

    cls = get(name)
    if not issubclass(cls, Strategy):
        raise ValueError(f"strategy {name} is not an ask/tell strategy: run it with nasbench.search.run")
    require_objectives(cls, objectives)
    return cls(**options).start(space, rng, num_epochs, objectives)
