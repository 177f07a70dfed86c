"""``nasbench-ranking``: Kendall tau and Spearman between supernet scores and the table (see ``conf/ranking.yaml``)."""

from __future__ import annotations

import os
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from nasbench.cli.common import CONF_DIR, one_line_errors, one_line_hydra_errors
from nasbench.cli.schema import register_ranking

register_ranking()


def rank(cfg: dict[str, Any]):
    """Run the analysis ``cfg`` (a resolved ``conf/ranking.yaml``) describes; returns the report folder."""
    from nasbench.search.experiment import load_benchmark
    from nasbench.report.oneshot import write_ranking_report
    from nasbench.search.oneshot.ranking import ranking_analysis
    from nasbench.provenance import command_line, describe_benchmark, git_commit, library_versions

    import pandas as pd

    commit = git_commit()  # of the code this process imported, before it runs for minutes
    kind = (cfg["benchmark"] or {}).get("kind")
    if kind != "table":  # before loading: a surrogate takes minutes to load and records no training recipe
        raise ValueError(
            f"nasbench-ranking needs a table benchmark (benchmark=table or benchmark=blocks), got kind {kind!r}: "
            "the supernet trains with the table's recipe on its dataset and is scored against its measured accuracies"
        )
    seeds = cfg["seeds"]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct supernet seeds, got {seeds}")
    benchmark = load_benchmark(cfg["benchmark"])
    runs = [
        ranking_analysis(benchmark, cfg["checkpoints"], cfg["num_classes"], seed, cfg["sample_seed"], progress=print, **cfg["supernet"])
        for seed in seeds
    ]
    result = {
        "summary": pd.concat([r["summary"] for r in runs], ignore_index=True),
        "scores": pd.concat([r["scores"] for r in runs], ignore_index=True),
        "calibration": [r["calibration"] for r in runs],
        "classes": runs[0]["classes"],
    }
    provenance = {
        "config": cfg, "seeds": seeds, "git_commit": commit, "versions": library_versions(),
        "command": command_line(), "table": os.path.basename(str(benchmark.path)),
        **describe_benchmark(benchmark),
    }
    return write_ranking_report(result, cfg["out"], provenance)


@one_line_hydra_errors
@hydra.main(config_path=CONF_DIR, config_name="ranking", version_base="1.3")
@one_line_errors
def main(cfg: DictConfig) -> None:
    out = rank(OmegaConf.to_container(cfg, resolve=True))
    print(f"ranking report written to {out}/README.md")


if __name__ == "__main__":
    main()
