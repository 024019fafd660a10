"""The errors a user meets, and how they reach the notebook: short, from the public call.

A :class:`UserError` is a mistake the user can fix — in the arguments, the data or the
setup — and its message says how. The public calls (``Pipeline.generate``,
``Pipeline.start``, ``Run.wait``) raise it with the traceback cut at themselves: the
frames of the checks and of the run machinery say nothing to a notebook user.

Any other error from inside a run (a bug, a full disk) keeps the frames where it
happened, without those of the thread pool and the event loop that carried it
(:func:`without_machinery`).

Example:
    >>> try:
    ...     raise InvalidArgument("Invalid batch_size=0 (allowed: int >= 1)")
    ... except ValueError as error:
    ...     print(error)
    Invalid batch_size=0 (allowed: int >= 1)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import types
from numbers import Integral
from typing import Any

#: Files of the machinery that carries a run's work: their frames say nothing about an error.
_MACHINERY = tuple(
    os.path.dirname(module.__file__) + os.sep if module.__file__.endswith("__init__.py") else module.__file__
    for module in (asyncio, concurrent.futures, threading)
)


class UserError(Exception):
    """A mistake in the arguments, the data or the setup; the message names the fix."""


class InvalidArgument(UserError, ValueError):
    """A bad argument or a dataset without the columns the tasks need."""


class InvalidType(UserError, TypeError):
    """A dataset or an argument of a kind that cannot be used (the message shows what can)."""


class MissingDependency(UserError, ImportError):
    """An optional dependency is not installed (the message gives the ``pip install``)."""


class CacheUnavailable(UserError, OSError):
    """The cache's folder or file cannot be used (a file in the way, read-only, not a database); the fix is named."""


class DryRunError(UserError, RuntimeError):
    """The first row showed that the setup cannot work (server down, bad key, unknown model)."""


class RunWarning(UserWarning):
    """Something went wrong without stopping the run (e.g. the cache could not be written); nothing was lost."""


class RunInterrupted(KeyboardInterrupt):
    """An interrupted ``generate()``: the run was stopped, and what it finished is kept.

    A ``KeyboardInterrupt``, so a script still stops; in IPython and Jupyter it shows as
    its one-line message, without a traceback.

    Attributes:
        partial_result: The rows finished before the interrupt, as a pandas DataFrame.
    """

    def __init__(self, message: str, partial_result: Any):
        super().__init__(message)
        self.partial_result = partial_result

    def _render_traceback_(self) -> list[str]:
        """What IPython prints instead of a traceback."""
        return [f"{type(self).__name__}: {self}"]


def count_argument(name: str, value: Any, meaning: str, optional: bool = False) -> int | None:
    """``value`` as an ``int`` (NumPy's integers too; never ``True``), or ``None`` when optional.

    Example:
        >>> count_argument("num_generations", 0, "the answers written per row")
        Traceback (most recent call last):
        ...
        distilabel_nb.errors.InvalidArgument: Invalid num_generations=0: pass an int >= 1 (the answers written per row)
    """
    if optional and value is None:
        return None
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:  # NumPy's bool is no Integral
        allowed = "None or an int >= 1" if optional else "an int >= 1"
        raise InvalidArgument(f"Invalid {name}={value!r}: pass {allowed} ({meaning})")
    return int(value)


def without_machinery(error: BaseException) -> BaseException:
    """``error`` with the frames of ``asyncio``, ``concurrent.futures`` and ``threading`` removed.

    A :class:`UserError` loses every frame (its message is what matters); any other
    error keeps the frames of the code that raised it.
    """
    if isinstance(error, UserError):
        return error.with_traceback(None)
    frames = []
    tb = error.__traceback__
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_MACHINERY):
            frames.append(tb)
        tb = tb.tb_next
    rebuilt = None
    for tb in reversed(frames):
        rebuilt = types.TracebackType(rebuilt, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
    return error.with_traceback(rebuilt)
