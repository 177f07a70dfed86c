"""Hydra callbacks of the launchers (``conf/launcher/``)."""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class WorkersDieWithParent(Callback):
    """The joblib launcher's workers end with the sweep's process, even when it is killed outright (``kill -9``).

    See :mod:`nasbench.workers`; registered in ``conf/launcher/joblib.yaml``.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from nasbench.workers import loky_workers_die_with_parent

        loky_workers_die_with_parent()
