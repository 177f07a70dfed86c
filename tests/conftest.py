"""Shared fixtures: small tables built on the fly with the project's own builder."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from nasbench.space import CellSpace

TINY_SPACE = dict(num_nodes=3, ops=["none", "skip_connect", "nor_conv_3x3"], channels=[4, 8])


def tiny_space() -> CellSpace:
    return CellSpace(**TINY_SPACE)


def models_of(space, decisions, seeds) -> list:
    """One model of ``decisions`` per seed, each built as the trainers build it: ``torch.manual_seed(seed)`` first."""
    import torch

    out = []
    for seed in seeds:
        torch.manual_seed(seed)
        out.append(space.build_model(decisions))
    return out


def build_tiny(output: Path, seeds=(0, 1), epochs: int = 2, space: CellSpace | None = None, recipe: dict | None = None,
               **kwargs) -> Path:
    """A table of the tiny space (``recipe``: further Recipe fields; ``kwargs``: run_build's)."""
    from nasbench.train.build import run_build
    from nasbench.train.data import DatasetConfig
    from nasbench.train.recipe import Recipe

    return run_build(
        space=tiny_space() if space is None else space,
        recipe=Recipe(epochs=epochs, batch_size=128, latency_repeats=3, **(recipe or {})),  # = conf/train/quick.yaml
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


@pytest.fixture(scope="session")
def sparse_table(tmp_path_factory) -> Path:
    """The tiny space, 2 seeds x 3 epochs, valid and test evaluated after epochs 1 and 3 only
    (``eval_epochs``, as the stacked recipe evaluates some epochs)."""
    return build_tiny(tmp_path_factory.mktemp("tables") / "sparse.h5", epochs=3,
                      recipe={"stack_seeds": True, "eval_epochs": [1]})


class Commands:
    """Runs nasbench's commands as a user types them: ``cli("nasbench-search", "seed=1")``.

    Called, a command runs in a subprocess (``python -m nasbench.cli.<name>``) and returns its
    ``subprocess.CompletedProcess`` (text ``stdout`` and ``stderr``); :meth:`inline` runs it in this
    process instead, where a monkeypatch reaches it.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
        self.monkeypatch, self.capsys = monkeypatch, capsys

    @staticmethod
    def module(command: str) -> str:
        if not command.startswith("nasbench-"):
            raise ValueError(f"{command!r} is not a nasbench command; give its name, e.g. nasbench-search")
        return "nasbench.cli." + command.removeprefix("nasbench-").replace("-", "_")

    def __call__(self, command: str, *args, cwd=None, env=None, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", self.module(command), *map(str, args)], capture_output=True,
                              text=True, cwd=cwd, env=env, timeout=timeout)

    def inline(self, command: str, *args) -> tuple[int, str, str]:
        """Run ``command`` in this process: its exit status, stdout and stderr."""
        main = importlib.import_module(self.module(command)).main
        self.monkeypatch.setattr(sys, "argv", [command, *map(str, args)])
        self.capsys.readouterr()  # only this command's output
        try:
            main()
            code = 0
        except SystemExit as exit_info:
            code = exit_info.code if isinstance(exit_info.code, int) else (0 if exit_info.code is None else 1)
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def cli(monkeypatch, capsys) -> Commands:
    """nasbench's commands, run in a subprocess (``cli(...)``) or in this process (``cli.inline(...)``)."""
    return Commands(monkeypatch, capsys)
