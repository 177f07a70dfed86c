"""``nasbench-build``: the generator as a Hydra app (see ``conf/build.yaml``)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig, OmegaConf

from nasbench.cli.common import CONF_DIR, one_line_errors, one_line_hydra_errors
from nasbench.cli.schema import register

register()


@one_line_hydra_errors
@hydra.main(config_path=CONF_DIR, config_name="build", version_base="1.3")
@one_line_errors
def main(cfg: DictConfig) -> None:
    import signal

    from nasbench.space import space_from_config
    from nasbench.train.build import read_priority_file, run_build
    from nasbench.train.data import DatasetConfig
    from nasbench.train.recipe import Recipe, TimingConfig

    # Ctrl-C and a scheduler's SIGTERM both checkpoint and stop (even where the
    # shell started us with SIGINT ignored, as background jobs are).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    run_build(
        space=space_from_config(OmegaConf.to_container(cfg.space, resolve=True)),
        recipe=Recipe(**OmegaConf.to_container(cfg.train, resolve=True)),
        dataset=DatasetConfig(**OmegaConf.to_container(cfg.dataset, resolve=True)),
        seeds=list(cfg.seeds),
        output=cfg.output,
        workers=cfg.workers,
        threads_per_worker=cfg.threads_per_worker,
        device=cfg.device,
        shard=cfg.shard,
        num_shards=cfg.num_shards,
        checkpoint_seconds=cfg.checkpoint_seconds,
        max_entries=cfg.max_entries,
        max_classes=cfg.max_classes,
        priority=read_priority_file(cfg.priority_file) if cfg.priority_file else (),
        only=read_priority_file(cfg.classes_file, "classes_file") if cfg.classes_file else None,
        timing=TimingConfig(**OmegaConf.to_container(cfg.timing, resolve=True)),
        costs_pass=cfg.costs_pass,
        allow_other_setup=cfg.allow_other_setup,
        config_yaml=OmegaConf.to_yaml(cfg, resolve=True),
        progress=cfg.progress,
    )


if __name__ == "__main__":
    main()
