"""nasbench.io: atomic writes and plain JSON."""

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from nasbench.io import atomic_path, finite, json_default, to_json, write_json, write_text


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_a_written_file_is_an_ordinary_file_in_a_new_folder(tmp_path):
    umask = os.umask(0o022)
    try:
        write_text(tmp_path / "new" / "README.md", "# report\n")
    finally:
        os.umask(umask)
    path = tmp_path / "new" / "README.md"
    assert path.read_text() == "# report\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's private 0o600


def test_json_writes_numpy_values_and_paths_as_plain_ones(tmp_path):
    data = {"seed": np.int64(3), "done": np.bool_(True), "acc": np.float32(0.5), "curve": np.arange(3),
            "table": Path("tables/x.h5")}
    write_json(tmp_path / "r.json", data)
    assert json.loads((tmp_path / "r.json").read_text()) == {"seed": 3, "done": True, "acc": 0.5, "curve": [0, 1, 2],
                                                              "table": "tables/x.h5"}
    assert (tmp_path / "r.json").read_text() == to_json(data)
    assert to_json({"b": 1, "a": 2}, sort_keys=False) == '{\n "b": 1,\n "a": 2\n}\n'
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_default(object())


def test_finite_replaces_nan_and_infinity_everywhere():
    value = {"a": [1.0, float("nan"), np.float32("inf")], "b": (np.int64(2), -np.inf), "c": "nan"}
    assert finite(value) == {"a": [1.0, None, None], "b": [2, None], "c": "nan"}
    json.dumps(finite(value), allow_nan=False)  # strict JSON


def test_figures_are_saved_only_through_save_figure_and_helpers_keep_their_names():
    """Every figure is written atomically by ``nasbench.report._format.save_figure``, the one caller of ``savefig``;
    the shared writers and formatters are imported under their own names, not private aliases."""
    import ast

    import nasbench

    package = Path(nasbench.__file__).parent
    home = package / "report" / "_format.py"
    direct, aliased = [], []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (path != home and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "savefig"):
                direct.append(f"{path.relative_to(package)}:{node.lineno}")
            if (isinstance(node, ast.ImportFrom) and node.module in ("nasbench.io", "nasbench.report._format")
                    and any(alias.asname for alias in node.names)):
                aliased.append(f"{path.relative_to(package)}:{node.lineno}")
    assert not direct, f"figures saved without save_figure: {direct}"
    assert not aliased, f"shared helpers imported under another name: {aliased}"
