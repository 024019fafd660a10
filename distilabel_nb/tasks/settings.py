"""Checking a task's settings: a name that is not known is an error naming the close matches.

A typo in a setting (``aspect="helpfullness"``, ``methods=["deepen"]``, a misspelt
keyword) must not make a task that quietly does something else. These helpers build
one message for every such mistake: what was given, the closest known names, and all
the known ones.

Example:
    >>> str(unknown_value("aspect", "helpfullness", ["helpfulness", "honesty"]))
    "unknown aspect 'helpfullness'; did you mean 'helpfulness'? known: 'helpfulness', 'honesty'"
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Iterable


def close_matches(value: Any, known: Iterable[str], n: int = 3) -> list[str]:
    """The known names closest to ``value``, best first (case, ``_`` and ``-`` do not matter).

    A name that contains ``value`` counts; otherwise only names about as close as the
    best one, so that "helpfullness" suggests "helpfulness" and not also "truthfulness".
    """
    wanted = normal(str(value))
    scored = []
    for name in known:
        key = normal(name)
        ratio = 1.0 if wanted and wanted in key else difflib.SequenceMatcher(None, wanted, key).ratio()
        if ratio >= 0.6:
            scored.append((ratio, name))
    scored.sort(key=lambda pair: -pair[0])
    return [name for ratio, name in scored[:n] if ratio >= scored[0][0] - 0.15]


def normal(name: str) -> str:
    """A name as settings compare it: lower case, ``_`` and ``-`` read as spaces, spaces collapsed."""
    return " ".join(name.replace("_", " ").replace("-", " ").lower().split())


def unknown_value(what: str, value: Any, known: Iterable[str], hint: str = "") -> ValueError:
    """``ValueError("unknown <what> <value>; did you mean …? known: …")``, with an optional fix."""
    known = list(known)
    close = close_matches(value, known)
    suggestion = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    message = f"unknown {what} {value!r}; {suggestion}known: {', '.join(map(repr, known))}"
    return ValueError(message + (f" ({hint})" if hint else ""))


def check_keywords(cls: type, given: Iterable[str]) -> None:
    """Raise for keyword arguments the dataclass ``cls`` does not take, naming close matches.

    Raises:
        TypeError: like Python's own for an unexpected keyword, with the task's parameters.
    """
    if not dataclasses.is_dataclass(cls):
        return
    params = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = [name for name in given if name not in params]
    if not unknown:
        return
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, params, n=2)
        parts.append(f"{name!r}" + (f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""))
    noun = "parameter" if len(unknown) == 1 else "parameters"
    raise TypeError(f"{cls.__name__} got an unknown {noun} {', '.join(parts)}; its parameters: {', '.join(params)}")
