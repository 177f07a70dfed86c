"""nasbench: exhaustive NAS lookup tables, surrogates and search runners.

Data flows one way: ``space -> train -> table -> surrogate -> search -> report``.
Importing ``nasbench`` (or querying a table) never imports torch.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nasbench")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

_EXPORTS = {
    "Arch": "nasbench.space",
    "SearchSpace": "nasbench.space",
    "SpaceError": "nasbench.space",
    "CellSpace": "nasbench.space",
    "BlockSpace": "nasbench.space",
    "Benchmark": "nasbench.table",
    "SurrogateBenchmark": "nasbench.surrogate",
    "QueryResult": "nasbench.table",
    "MissingEntryError": "nasbench.table",
    "TableError": "nasbench.table",
}

#: subpackages reachable as attributes of ``nasbench`` (``nasbench.search.run(...)``), imported when first used
_SUBPACKAGES = ("space", "table", "surrogate", "search", "report", "compat")

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    # Lazy so that `import nasbench` stays cheap and torch-free.
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"nasbench.{name}")
    raise AttributeError(f"module 'nasbench' has no attribute {name!r}")
