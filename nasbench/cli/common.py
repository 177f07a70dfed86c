"""Shared pieces of the command-line entry points."""

from __future__ import annotations

import functools
import os
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any, Callable

#: absolute path of the shipped Hydra configs (top-level ``conf/``, installed as ``nasbench.conf``)
CONF_DIR = str(files("nasbench.conf"))

USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, KeyError, OSError)


def config_groups(config_name: str) -> dict[str, list[str]]:
    """The config groups the defaults list of ``conf/<config_name>.yaml`` names, each with its options.

    Every command shares ``conf/``; a command's own groups are those its primary config
    composes (``override`` entries and Hydra's own groups are not the command's).
    """
    from omegaconf import OmegaConf

    root = Path(CONF_DIR)
    defaults = OmegaConf.load(root / f"{config_name}.yaml").get("defaults") or []
    groups = [next(iter(entry)) for entry in defaults if not isinstance(entry, str)]

    def options(group: str) -> list[str]:
        if group == "strategy":  # the registry's strategies, and the files that override them
            from nasbench.search.experiment import strategy_names

            return strategy_names()
        return sorted(p.stem for p in (root / group).glob("*.yaml"))

    return {group: options(group) for group in groups if not group.startswith(("override ", "hydra/", "/"))}


def _help_groups(config_name: str) -> str:
    """``group: option, option`` lines for ``--help`` (``conf/hydra/help/nasbench.yaml``)."""
    groups = config_groups(config_name)
    return "\n".join(f"{group}: {', '.join(options)}" for group, options in sorted(groups.items())) or "(none)"


def _register_resolvers() -> None:
    from omegaconf import OmegaConf

    OmegaConf.register_new_resolver("nasbench_config_groups", _help_groups, replace=True)


def fail(message: str, code: int = 2) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn bad-input exceptions into ``error: <message>`` on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BrokenPipeError:  # output piped into `head` and the like: not an error
            sys.stderr.close()
            sys.exit(0)
        except KeyboardInterrupt:
            fail("interrupted; finished work is saved, run the same command again to resume", 130)
        except USER_ERRORS as err:
            discard_hydra_run_folder()
            fail(error_message(err))

    return wrapper


#: what Hydra itself writes into a run's folder: its records, and the job's log (``<job name>.log``)
HYDRA_RECORDS = (".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml")


def discard_hydra_run_folder() -> None:
    """Remove the folder of a Hydra run (not a sweep job) that holds nothing but what Hydra wrote into it.

    A command that refuses its input has made nothing: its run folder would be an empty
    ``outputs/<command>/<time>/``. Parents left empty go too, up to the working directory.
    A folder holding anything else, and the working directory itself, are kept.
    """
    import logging

    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.RUN:
        return
    hydra_cfg = HydraConfig.get()
    folder, cwd = Path(hydra_cfg.runtime.output_dir).resolve(), Path.cwd().resolve()
    if not folder.is_dir() or folder == cwd or folder in cwd.parents:
        return
    ours = {folder / name for name in HYDRA_RECORDS} | {folder / f"{hydra_cfg.job.name}.log", folder / ".hydra"}
    if any(path not in ours for path in folder.rglob("*")):
        return
    for handler in logging.getLogger().handlers[:]:  # the job's log file, open until now
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename).resolve().parent == folder:
            logging.getLogger().removeHandler(handler)
            handler.close()
    try:
        for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        folder.rmdir()
        for parent in folder.parents:
            if parent == cwd or cwd not in parent.parents:
                break
            parent.rmdir()  # only when empty: another run's folder keeps it
    except OSError:
        pass  # nothing more can be tidied: the error itself is what the user needs to see


def error_message(err: BaseException) -> str:
    """The first line of an exception's message (a KeyError's key unquoted), or its type's name."""
    message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return message.splitlines()[0] if message.strip() else type(err).__name__


def hydra_message(err: BaseException) -> str:
    """One line from a Hydra/OmegaConf error: what was wrong, and the valid choices it lists.

    Hydra prints a bad override over several lines (the options one per line, the search
    path, ``full_key``/``object_type``); this keeps the facts and drops the layout. A group
    of another command (``space=tiny`` given to ``nasbench-search``) is named as such: Hydra's
    ``+space=tiny`` hint would only fail further on.
    """
    import re

    foreign = re.match(r"Could not override '([\w/]+)'\. No match in the defaults list|In '([\w/]+)/[^']*': ConfigKeyError",
                       str(err))
    group = foreign and (foreign.group(1) or foreign.group(2))
    if group and (Path(CONF_DIR) / group).is_dir():
        users = [f"nasbench-{p.stem}" for p in sorted(Path(CONF_DIR).glob("*.yaml")) if group in config_groups(p.stem)]
        return (f"{group} is a config group of {', '.join(users) or 'other nasbench commands'}, not of this command; "
                "--help lists its groups")
    parts: list[str] = []
    for error in (err, err.__cause__):
        if error is None:
            continue
        options_of, options = None, []
        for line in str(error).splitlines():
            text = line.strip()
            if line.startswith("\t") and options_of is not None:
                options.append(text)
                continue
            if options_of is not None:
                parts.append(f"{options_of}: {', '.join(options)}")
                options_of, options = None, []
            if not text or text.startswith(("full_key:", "object_type=", "reference_type=", "To append to your config")):
                continue
            if text.startswith("Config search path") or text.startswith("Set the environment variable"):
                break
            if text.startswith("Available options in"):
                options_of = "available options in" + text[len("Available options in"):].rstrip(":")
                continue
            if text not in parts:
                parts.append(text.rstrip("."))
        if options_of is not None:
            parts.append(f"{options_of}: {', '.join(options)}")
    keys = valid_keys(err.__cause__)
    if keys:
        parts.append("valid keys: " + ", ".join(keys))
    scalar_for_list = re.search(r"override (\w[\w.]*)=([^;\s]*)", parts[0] if parts else "")
    if scalar_for_list and "is not a ListConfig" in " ".join(parts):  # strategies=random
        key, value = scalar_for_list.groups()
        parts.append(f"{key} is a list: write {key}=[{value}] (quoted in a shell: '{key}=[{value}]')")
    return "; ".join(parts) or type(err).__name__


def valid_keys(err: BaseException | None) -> list[str]:
    """The fields of the structured config a misspelt key was looked up in (empty if unknown)."""
    import dataclasses

    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    if not isinstance(err, (ConfigKeyError, ConfigAttributeError)):
        return []
    object_type = getattr(err, "object_type", None)
    if dataclasses.is_dataclass(object_type):
        return [field.name for field in dataclasses.fields(object_type)]
    parent = getattr(err, "parent_node", None)  # a plain config group (a strategy's options)
    try:
        return [str(key) for key in parent.keys()] if parent is not None else []
    except Exception:  # noqa: BLE001 - only a hint; the error itself is reported either way
        return []


def os_error_in(err: BaseException) -> OSError | None:
    """``err`` if it is an ``OSError``, else the first one it was raised from (logging wraps a log file's in a ValueError)."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, OSError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def one_line_hydra_errors(hydra_main: Callable[..., Any]) -> Callable[..., Any]:
    """Report a bad override or config value given to a ``@hydra.main`` entry point in one line.

    Applied above ``@hydra.main``: Hydra is asked to raise instead of printing its
    multi-line report, and a Hydra/OmegaConf error becomes ``error: <one line>`` with exit
    status 2, like every other bad input, and so does a folder Hydra cannot create or write
    (its run or sweep folder, its log file: a read-only working directory, a path through a
    file). ``HYDRA_FULL_ERROR=1`` still shows the full trace.
    """

    @functools.wraps(hydra_main)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _register_resolvers()  # what the configs interpolate (--help's groups)
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            return hydra_main(*args, **kwargs)
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        os.environ["HYDRA_FULL_ERROR"] = "1"
        try:
            return hydra_main(*args, **kwargs)
        except (HydraException, OmegaConfBaseException) as err:
            fail(hydra_message(err))
        except BrokenPipeError:  # a reader that stopped early (`nasbench-search --help | head -2`): nothing is wrong
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that the exit's flush stays quiet
            sys.exit(0)
        except (OSError, ValueError) as err:  # the command's own errors are one line already: these are Hydra's
            unwritable = os_error_in(err)
            if unwritable is None:
                raise
            fail(f"cannot write {unwritable.filename or 'the output folder'}: {unwritable.strerror or error_message(unwritable)}; "
                 "give a writable folder with hydra.run.dir=DIR (hydra.sweep.dir=DIR with -m)")
        finally:
            os.environ.pop("HYDRA_FULL_ERROR", None)

    return wrapper
