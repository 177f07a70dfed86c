"""Shared pieces of the command-line entry points."""

from __future__ import annotations

import functools
import sys
from importlib.resources import files
from typing import Any, Callable

#: absolute path of the shipped Hydra configs (top-level ``conf/``, installed as ``nasbench.conf``)
CONF_DIR = str(files("nasbench.conf"))

USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, KeyError, OSError)


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
            message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
            fail(message.splitlines()[0] if message else type(err).__name__)

    return wrapper
