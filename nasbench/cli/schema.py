"""Structured configs: typed schemas behind the YAML in ``conf/`` (bad overrides fail early)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore

from nasbench.train.data import DatasetConfig
from nasbench.train.trainer import Recipe


@dataclass
class BuildConfig:
    space: Any = None
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    train: Recipe = field(default_factory=Recipe)
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    output: str = "tables/nb201-mnist1d.h5"
    workers: int = 2
    threads_per_worker: int = 1
    device: str = "cpu"
    shard: int = 0
    num_shards: int = 1
    checkpoint_seconds: float = 60.0
    max_entries: Optional[int] = None
    max_classes: Optional[int] = None
    progress: bool = True


def register() -> None:
    store = ConfigStore.instance()
    store.store(name="build_schema", node=BuildConfig)
