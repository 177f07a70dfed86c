"""Writing artefacts: atomically, and as plain JSON.

Every file nasbench writes (a table, a result, a report's text, figures and JSON) goes
to a temporary file in the same folder, which then replaces the target in one rename:
a reader, or a run killed mid-write, never sees half a file. Imports no torch.

>>> import json, tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> write_json(folder / "result.json", {"seed": np.int64(3), "regret": np.float32(0.5), "curve": np.arange(2)})
>>> (folder / "result.json").read_text()
'{\\n "curve": [\\n  0,\\n  1\\n ],\\n "regret": 0.5,\\n "seed": 3\\n}\\n'
>>> sorted(p.name for p in folder.iterdir())    # no temporary file left behind
['result.json']
>>> finite({"tau": float("nan"), "r2": np.float64(0.9)})
{'tau': None, 'r2': 0.9}
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Any, Iterator

import numpy as np


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s content to; it replaces ``path`` when the block ends.

    The temporary file (``.<name>.<random>.tmp``, in the same folder, so the rename never
    crosses file systems) gets an ordinary new file's permissions. If the block raises, it
    is removed and ``path`` is left as it was. Missing parent folders are made.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; an artefact is an ordinary file
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def output_folder(path: str | Path, name: str = "out") -> Path:
    """``path`` as a folder a command may write into, checked before any work: ``ValueError``
    (``name`` is the option that gave it) where it is, or lies under, an existing file.

    Nothing is made here; the writers make the folder when they write.
    """
    path = Path(path)
    for at in (path, *path.parents):
        if at.is_dir():
            break
        if at.exists():
            where = "is a file" if at == path else f"lies under {at}, a file"
            raise ValueError(f"{name}={path} {where}, not a folder; give a folder path")
    return path


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def to_json(data: Any, indent: int | None = 1, sort_keys: bool = True, allow_nan: bool = True) -> str:
    """``data`` as JSON text ending in a newline; numpy values and paths are written as plain ones."""
    return json.dumps(data, indent=indent, sort_keys=sort_keys, allow_nan=allow_nan, default=json_default) + "\n"


def write_json(path: str | Path, data: Any, indent: int | None = 1, sort_keys: bool = True,
               allow_nan: bool = True) -> None:
    """Write :func:`to_json` of ``data`` to ``path`` atomically: a crashed run never leaves half a file."""
    write_text(path, to_json(data, indent=indent, sort_keys=sort_keys, allow_nan=allow_nan))


def plain(value: Any) -> Any:
    """``value`` as a plain Python value where it is a numpy scalar or array, bytes or a path; else unchanged."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, PurePath):
        return str(value)
    return value


def json_default(value: Any) -> Any:
    """``json.dumps(..., default=json_default)``: numpy values, bytes and paths as plain ones."""
    converted = plain(value)
    if converted is value:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
    return converted


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float as ``None`` (strict JSON has neither), in dicts, lists and
    tuples too; numpy scalars become plain ones."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    value = plain(value) if isinstance(value, np.generic) else value
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    return value


__all__ = ["atomic_path", "write_text", "write_bytes", "to_json", "write_json", "plain", "json_default", "finite"]
