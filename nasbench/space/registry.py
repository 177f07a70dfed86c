"""Rebuild a space from the JSON description stored in tables and models."""

from __future__ import annotations

import inspect
from typing import Any, Mapping

from nasbench.space.base import SearchSpace, SpaceError


def space_kinds() -> dict[str, type[SearchSpace]]:
    from nasbench.space.blocks import BlockSpace
    from nasbench.space.cell import CellSpace

    return {CellSpace.kind: CellSpace, BlockSpace.kind: BlockSpace}


def space_from_config(config: Mapping[str, Any]) -> SearchSpace:
    """``SearchSpace`` from ``space.config()`` (or a Hydra ``space`` node with a ``kind`` key)."""
    params = dict(config)
    kind = params.pop("kind", None)
    params.pop("name", None)
    kinds = space_kinds()
    if kind not in kinds:
        raise SpaceError(f"unknown space kind {kind!r}; valid: {', '.join(kinds)}")
    options = [name for name in inspect.signature(kinds[kind]).parameters if name != "self"]
    unknown = sorted(set(params) - set(options))
    if unknown:
        raise SpaceError(f"bad {kind} space option {unknown[0]!r}; valid: {', '.join(options)}")
    return kinds[kind](**params)
