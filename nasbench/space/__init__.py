"""Search spaces: what an architecture is, its encodings, classes and costs."""

from nasbench.space.base import Arch, SearchSpace, SpaceError
from nasbench.space.blocks import BlockSpace
from nasbench.space.cell import NB201_OPS, NO_EDGE, CellSpace
from nasbench.space.registry import space_from_config

__all__ = ["Arch", "SearchSpace", "SpaceError", "CellSpace", "BlockSpace", "NB201_OPS", "NO_EDGE", "space_from_config"]
