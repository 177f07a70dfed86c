"""``nasbench-surrogate``: fit the XGBoost surrogate on a table, score it, save it (see ``conf/surrogate.yaml``).

Splits the trained classes into train / valid / test, fits the ensemble,
scores it on the held-out test classes (and, for the report, one-member
models on growing shares of the table), writes the quality report to
``report`` and the model (XGBoost JSON + ``metadata.json`` with the test
metrics) to ``out``.
"""

from __future__ import annotations

from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from nasbench.cli.common import CONF_DIR, one_line_errors, one_line_hydra_errors
from nasbench.cli.schema import register_surrogate

register_surrogate()


def fit_and_report(cfg: dict[str, Any]) -> dict[str, Any]:
    """Run what ``cfg`` (a resolved ``conf/surrogate.yaml``) describes; returns paths and test metrics."""
    from nasbench.report.surrogate import write_report
    from nasbench.surrogate import Surrogate, open_table, split_classes
    from nasbench.surrogate.quality import check_fractions

    fractions = check_fractions(cfg["fractions"]) if cfg["fractions"] else []
    split_cfg = cfg["split"]
    model = Surrogate(
        targets=cfg["targets"], curve_epochs=cfg["curve_epochs"], params=dict(cfg["xgboost"]),
        ensemble_size=cfg["ensemble_size"], seed=cfg["seed"],
    )
    bench = open_table(cfg["table"])
    split = split_classes(bench, (split_cfg["train"], split_cfg["valid"], split_cfg["test"]), cfg["seed"])
    model.fit(bench, *split, progress=cfg["progress"])
    report = write_report(model, bench, split, cfg["report"], fractions=fractions, progress=cfg["progress"])
    model.metadata_["config"] = cfg
    out = model.save(cfg["out"])
    return {"model": str(out), "report": str(report), "quality": model.metadata_["quality"]}


@one_line_hydra_errors
@hydra.main(config_path=CONF_DIR, config_name="surrogate", version_base="1.3")
@one_line_errors
def main(cfg: DictConfig) -> None:
    result = fit_and_report(OmegaConf.to_container(cfg, resolve=True))
    metrics = result["quality"]["metrics"]
    shown = ", ".join(
        f"{name} R2 {_fmt(metrics[name]['r2'])} tau {_fmt(metrics[name]['kendall_tau'])}"
        for name in ("valid_accuracy", "test_accuracy")
    )
    print(f"surrogate written to {result['model']} (test classes: {shown}); report at {result['report']}/README.md")


def _fmt(value: Any) -> str:
    return "nan" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
