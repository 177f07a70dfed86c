"""Structured configs: typed schemas behind the YAML in ``conf/`` (bad overrides fail early)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from hydra.core.config_store import ConfigStore

from nasbench.train.data import DatasetConfig
from nasbench.train.recipe import Recipe, TimingConfig


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
    priority_file: Optional[str] = None
    classes_file: Optional[str] = None
    timing: TimingConfig = field(default_factory=TimingConfig)
    costs_pass: str = "auto"
    allow_other_setup: bool = False
    progress: bool = True


def register() -> None:
    store = ConfigStore.instance()
    store.store(name="build_schema", node=BuildConfig)


@dataclass
class BudgetConfig:
    """Simulated seconds, or (``seconds`` null) full evaluations' worth on the benchmark; a cap on evaluations."""

    seconds: Optional[float] = None
    evaluations: Optional[float] = 100.0
    max_evals: Optional[int] = None


@dataclass
class ConstraintConfig:
    """Upper bounds on costs known without training; null: unbounded."""

    params: Optional[float] = None
    flops: Optional[float] = None
    latency: Optional[float] = None  # seconds, batch 1, mean over the table's seeds


@dataclass
class SearchConfig:
    strategy: Any = None
    benchmark: Any = None
    seed: int = 0
    skip_duplicates: bool = False
    workers: int = 1
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    constraint: ConstraintConfig = field(default_factory=ConstraintConfig)
    objectives: Optional[list[str]] = None
    output: str = "result.json"


def register_search() -> None:
    ConfigStore.instance().store(name="search_schema", node=SearchConfig)
    register_strategies()


def selected_strategies(overrides: Sequence[str]) -> set[str] | None:
    """The strategies that command-line ``overrides`` select (``strategy=a``, ``strategy=a,b``); ``None``: all of them
    (a glob); a variant file's choice adds the strategies its ``defaults`` list extends."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import Glob
    from hydra.errors import HydraException

    from nasbench.search.experiment import strategy_config

    names: set[str] = set()
    for text in overrides:
        if not text.lstrip("+").startswith("strategy="):
            continue
        try:
            override = OverridesParser.create().parse_override(text)
        except HydraException:
            continue  # Hydra reports it
        if override.is_sweep_override():
            if isinstance(override.value(), Glob):
                return None
            names.update(override.sweep_string_iterator())
        else:
            names.add(override.get_value_element_as_str())
    return names | {strategy_config(name)["name"] for name in names}


def register_strategies(overrides: Sequence[str] = ()) -> None:
    """Hydra's ``strategy`` group from the registry: option ``strategy/<name>`` is ``{name, **its options' defaults}``.

    The package's torch-free strategies are always registered; a strategy that needs torch, or
    one an installed package registers, only when ``overrides`` select it, so that composing a
    search of a table strategy never imports torch. A YAML file in ``conf/strategy`` is found
    first: it overrides a registered strategy (``darts2.yaml`` extends ``darts``) or stands
    alone (``custom.yaml``). A name that is neither is a one-line error.
    """
    from nasbench.search import registry
    from nasbench.search.experiment import strategy_names, unknown_strategy

    selected = selected_strategies(overrides)
    unknown = sorted(set(selected or ()) - set(strategy_names()))
    if unknown:
        raise ValueError(unknown_strategy(unknown[0]))
    store = ConfigStore.instance()
    for name in registry.names():
        if selected is None or name in selected or not registry.needs_torch(name):
            store.store(group="strategy", name=name, node=registry.config(name), provider="nasbench")


@dataclass
class CompareConfig:
    benchmark: Any = None
    tables: Optional[list[str]] = None  # null: the benchmark's own table; else a comparison per table and their rank across
    strategy: Any = None  # what `custom` in `strategies` runs: {cls: module:Class, options: {...}}
    strategies: list[str] = field(default_factory=lambda: ["random", "rea", "reinforce", "local_search", "hyperband"])
    seeds: int = 100
    one_shot_seeds: int = 5
    skip_duplicates: list[bool] = field(default_factory=lambda: [False, True])
    workers: list[int] = field(default_factory=lambda: [1])
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    constraint: ConstraintConfig = field(default_factory=ConstraintConfig)
    objectives: Optional[list[str]] = None
    runs_dir: str = "outputs/comparison-runs"
    out: str = "reports/comparison"
    title: str = "Strategy comparison"
    progress: bool = True


def register_compare() -> None:
    ConfigStore.instance().store(name="compare_schema", node=CompareConfig)


@dataclass
class SplitConfig:
    """Shares of the trained classes (train: fit, valid: early stopping and noise calibration, test: held out)."""

    train: float = 0.8
    valid: float = 0.1
    test: float = 0.1


@dataclass
class XGBoostConfig:
    """Parameters of every member (``XGBRegressor`` names); null: XGBoost's default."""

    n_estimators: int = 1000
    early_stopping_rounds: Optional[int] = 50
    learning_rate: float = 0.05
    max_depth: int = 6
    min_child_weight: float = 1.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    reg_alpha: float = 0.0
    n_jobs: Optional[int] = 1


@dataclass
class SurrogateConfig:
    table: Optional[str] = None
    out: str = "surrogate"
    report: str = "reports/surrogate"
    split: SplitConfig = field(default_factory=SplitConfig)
    seed: int = 0
    ensemble_size: int = 5
    targets: list[str] = field(default_factory=lambda: ["valid_accuracy", "test_accuracy", "train_time", "latency"])
    curve_epochs: Any = "doubling"  # a list of epochs, null or "doubling" (checked by Surrogate)
    fractions: list[float] = field(default_factory=lambda: [0.01, 0.05, 0.1, 0.25, 0.5, 0.8])
    xgboost: XGBoostConfig = field(default_factory=XGBoostConfig)
    progress: bool = True


def register_surrogate() -> None:
    ConfigStore.instance().store(name="surrogate_schema", node=SurrogateConfig)


@dataclass
class RankingConfig:
    benchmark: Any = None
    checkpoints: list[int] = field(default_factory=lambda: [1, 2, 5, 10, 25, 50])
    num_classes: int = 500
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    sample_seed: int = 0
    supernet: dict = field(default_factory=dict)
    out: str = "reports/oneshot-ranking"


def register_ranking() -> None:
    ConfigStore.instance().store(name="ranking_schema", node=RankingConfig)
