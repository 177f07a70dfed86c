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


@dataclass
class BudgetConfig:
    seconds: float = 3000.0
    max_evals: Optional[int] = None


@dataclass
class SearchConfig:
    strategy: Any = None
    benchmark: Any = None
    seed: int = 0
    skip_duplicates: bool = False
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    output: str = "result.json"


def register_search() -> None:
    ConfigStore.instance().store(name="search_schema", node=SearchConfig)


@dataclass
class CompareConfig:
    benchmark: Any = None
    strategies: list[str] = field(default_factory=lambda: ["random", "rea", "reinforce", "local_search", "hyperband"])
    seeds: int = 20
    skip_duplicates: list[bool] = field(default_factory=lambda: [False, True])
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    runs_dir: str = "outputs/comparison-runs"
    out: str = "reports/comparison"
    title: str = "Strategy comparison"
    progress: bool = True


def register_compare() -> None:
    ConfigStore.instance().store(name="compare_schema", node=CompareConfig)
