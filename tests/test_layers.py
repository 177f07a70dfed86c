"""Data flows one way: the space, table and surrogate packages import nothing from the reports or the CLI."""

import ast
from pathlib import Path

import pytest

import nasbench

PACKAGE = Path(nasbench.__file__).parent


def nasbench_imports(path: Path) -> set[str]:
    """The nasbench modules ``path`` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nasbench"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("nasbench"))
    return found


@pytest.mark.parametrize("layer", ["space", "table", "surrogate"])
def test_a_lower_layer_imports_no_report_and_no_cli(layer):
    upward = {f"{path.relative_to(PACKAGE)}: {module}"
              for path in sorted((PACKAGE / layer).rglob("*.py")) for module in nasbench_imports(path)
              if module.split(".")[1:2] in (["report"], ["cli"], ["compat"])}
    assert not upward
