"""The packaging metadata ships every module: editable installs (as CI uses) cannot show a gap."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_listed():
    setuptools = PYPROJECT["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "nasbench").rglob("__init__.py")
    }
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    mapped = setuptools["package-dir"]
    for package in listed - on_disk:
        assert package in mapped, f"{package} is listed but is neither a folder of nasbench nor mapped"
        assert (ROOT / mapped[package]).is_dir()


def test_every_python_file_lives_in_a_package():
    loose = [
        path.relative_to(ROOT)
        for path in (ROOT / "nasbench").rglob("*.py")
        if not (path.parent / "__init__.py").exists()
    ]
    assert loose == []


def test_every_console_script_points_at_a_callable():
    for name, target in PYPROJECT["project"]["scripts"].items():
        module, _, attribute = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attribute)), name


def test_the_readme_is_a_front_door_to_every_command():
    """The README starts with the install-and-run and test commands, lists every command, and stays short."""
    readme = (ROOT / "README.md").read_text()
    assert readme.startswith('# nasbench\n\n```bash\npip install torch==2.13.0 && pip install -e ".[dev]" && nasbench-compare\n'
                             "python -m pytest -q\n```\n")
    listed = {line.split("|")[1].strip().strip("`") for line in readme.splitlines() if line.startswith("| `nasbench-")}
    assert listed == set(PYPROJECT["project"]["scripts"])
    assert len(readme.splitlines()) <= 250
    for link in re.findall(r"\]\(([^)#]+)", readme):  # every file the README links to exists
        assert (ROOT / link).exists(), link
