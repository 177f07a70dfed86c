"""What produced an artefact: the code commit, library versions, the command and the benchmark.

Tables, surrogates and reports record these in their own metadata. Imports no torch.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent
LIBRARIES = ("nasbench", "torch", "numpy", "scipy", "pandas", "h5py", "xgboost", "optuna", "cmaes", "hydra-core", "mnist1d")
#: folders an installed copy holds inside the package (``package-dir`` in pyproject.toml): configs and data, not modules
_MAPPED = frozenset({"conf", "tables", "surrogate_models"})


def git_commit() -> str:
    """The commit of the nasbench code this process runs, ``-dirty`` when its files differ from it.

    The code is the package and the shipped configs (``conf/``, ``pyproject.toml``); ``unknown``
    outside a git checkout of nasbench (e.g. an installed copy that sits inside another repository).
    """
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=_PACKAGE, capture_output=True, text=True, timeout=5)

    try:
        if git("ls-files", "--error-unmatch", Path(__file__).name).returncode != 0:
            return "unknown"  # this file is not tracked here: not a checkout of nasbench
        commit = git("rev-parse", "HEAD").stdout.strip()
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", "../conf", "../pyproject.toml").stdout.strip()
        return (commit + ("-dirty" if dirty else "")) if commit else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@functools.lru_cache(maxsize=1)
def code_sha256() -> str:
    """SHA-256 of the nasbench code this process runs: the package's Python files and the shipped configs.

    Names the code where git cannot (an installed copy, where :func:`git_commit` is ``unknown``)
    and tells uncommitted edits apart where it can; a checkout and an install of the same files
    agree. Hidden files (editor locks, checkpoints) are not code. Taken once per process.
    """
    from importlib.resources import files

    def code_files(root: Path, suffixes: tuple[str, ...], skip: frozenset = frozenset()):
        for path in sorted(root.rglob("*")):
            parts = path.relative_to(root).parts
            if (path.suffix in suffixes and path.is_file() and parts[0] not in skip
                    and not any(part.startswith(".") for part in parts)):
                yield parts, path

    digest = hashlib.sha256()
    conf = Path(str(files("nasbench.conf")))
    for name, found in (("nasbench", code_files(_PACKAGE, (".py",), _MAPPED)), ("conf", code_files(conf, (".py", ".yaml")))):
        for parts, path in found:
            digest.update(f"{name}/{'/'.join(parts)}\0".encode())
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a nasbench number can depend on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def command_line() -> str:
    """The nasbench command this process runs, as a user would type it (``python API`` when it is not one)."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is None:
        return "python API"
    if script.name.startswith("nasbench-"):
        name = script.name
    elif script.suffix == ".py" and script.resolve().parent == _PACKAGE / "cli":
        name = "nasbench-" + script.stem.replace("_", "-")  # python -m nasbench.cli.<module>
    else:
        return "python API"
    return " ".join([name, *map(shell_quote, sys.argv[1:])])


def shell_quote(arg: str) -> str:
    """``arg`` as a shell reads it back; a Hydra value quoted in single quotes goes in double quotes, readably."""
    quoted = shlex.quote(arg)
    if quoted == arg or "'" not in arg or any(c in arg for c in '"$`\\!'):
        return quoted
    return f'"{arg}"'


def describe_benchmark(benchmark) -> dict[str, Any]:
    """What identifies a benchmark (a table or a surrogate): recorded in every result.json and report."""
    meta = benchmark.metadata
    return {
        "path": None if benchmark.path is None else os.path.basename(str(benchmark.path)),
        "space_signature": benchmark.space.signature,
        "entries_done": int(benchmark.entries_done),
        "complete": bool(benchmark.complete),
        "table_git_commit": meta.get("git_commit"),
        "dataset_fingerprint": meta.get("dataset_fingerprint"),
    }


def report_provenance(**sources: Any) -> dict[str, Any]:
    """How a report was made: the command, the code commit and library versions, plus what it read (``sources``)."""
    return {"command": command_line(), "git_commit": git_commit(), "code_sha256": code_sha256(),
            "versions": library_versions(), **sources}


def distinct(values: list[Any]) -> list[Any]:
    """The distinct values of a list of JSON-like values, in first-seen order."""
    import json

    seen, out = set(), []
    for value in values:
        key = json.dumps(value, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def runs_provenance(results: list[dict]) -> dict[str, Any]:
    """What the runs of a report were made with: their code (commits and hashes), library versions and benchmarks."""
    return {
        "run_git_commits": sorted({str(data.get("git_commit", "unknown")) for data in results}),
        "run_code_sha256s": sorted({str(data["code_sha256"]) for data in results if data.get("code_sha256")}),
        "run_versions": distinct([data.get("versions") for data in results if data.get("versions")]),
        "benchmarks": distinct([(data.get("benchmark") or {}).get("resolved") for data in results
                                if (data.get("benchmark") or {}).get("resolved")]),
    }


def provenance_line(provenance: dict[str, Any]) -> str:
    """One Markdown line for a report's README: command, code commit, and where the rest is recorded."""
    commits = provenance.get("run_git_commits")
    runs = ""
    if commits:
        listed = [f"`{short(commit)}`" for commit in commits]
        shown = listed[0] if len(listed) == 1 else f"{len(listed)} commits ({', '.join(listed[:4])}{', ...' if len(listed) > 4 else ''})"
        runs = f"; the runs at {shown}"
    return (f"Made by `{provenance['command']}` at git commit `{short(provenance['git_commit'])}`{runs}; "
            "library versions and the benchmark's identity are in `summary.json` (`provenance`).")


def short(commit: str) -> str:
    """A commit as a report shows it: 12 hex digits, keeping the ``-dirty`` mark."""
    return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")
