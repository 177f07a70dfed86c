"""The compat adapters stay optional: nothing imports their libraries until an adapter needs one."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_core_and_adapter_imports_load_no_optional_library():
    code = (
        "import sys, nasbench, nasbench.table, nasbench.compat.nats, nasbench.compat.configspace, "
        "nasbench.compat.synetune; nasbench.compat.nats.create(); "
        "loaded = {'torch', 'nats_bench', 'ConfigSpace', 'syne_tune'} & set(sys.modules); assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("library, module, function, extra", [
    ("ConfigSpace", "nasbench.compat.configspace", "configuration_space", "configspace"),
    ("syne_tune", "nasbench.compat.synetune", "blackbox", "synetune"),
])
def test_a_missing_library_is_a_one_line_install_hint(monkeypatch, library, module, function, extra):
    for name in [name for name in sys.modules if name.split(".")[0] == library] + [library]:
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed, even where imported before
    with pytest.raises(ImportError, match=rf'pip install "nasbench\[{extra}\]"') as err:
        getattr(importlib.import_module(module), function)()
    assert "\n" not in str(err.value)
