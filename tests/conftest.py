"""Shared fixtures: small tables built on the fly with the project's own builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasbench.space import CellSpace

TINY_SPACE = dict(num_nodes=3, ops=["none", "skip_connect", "nor_conv_3x3"], channels=[4, 8])


def tiny_space() -> CellSpace:
    return CellSpace(**TINY_SPACE)


def build_tiny(output: Path, seeds=(0, 1), epochs: int = 2, space: CellSpace | None = None, **kwargs) -> Path:
    from nasbench.train.build import run_build
    from nasbench.train.data import DatasetConfig
    from nasbench.train.recipe import Recipe

    return run_build(
        space=tiny_space() if space is None else space,
        recipe=Recipe(epochs=epochs, batch_size=128, latency_repeats=3),  # = conf/train/quick.yaml
        dataset=DatasetConfig(n_train=400, n_valid=300, n_test=300),  # = conf/dataset/tiny.yaml
        seeds=list(seeds),
        output=output,
        workers=kwargs.pop("workers", 0),
        progress=False,
        log=kwargs.pop("log", lambda _: None),
        **kwargs,
    )


@pytest.fixture(scope="session")
def tiny_table(tmp_path_factory) -> Path:
    """A complete table of the 27-cell tiny space: 2 seeds x 2 epochs (about 10 s)."""
    return build_tiny(tmp_path_factory.mktemp("tables") / "tiny.h5")
