"""Every object as plain text: :func:`describe` and the pieces its text cards are written with.

``describe(obj)`` dispatches on the object's type; the text twins register themselves
beside their writers in ``text.py``, which importing :mod:`distilabel_nb.display` imports. Notebooks show the text where HTML is not displayed (``text/plain`` of an
output); ``ResultsView`` and ``PromptView`` use it as their ``repr``.

Example:
    >>> print(rows([("model", "SmolLM2"), ("tokens", "1,024")]))
      model   SmolLM2
      tokens  1,024
"""

from __future__ import annotations

import re
from functools import singledispatch
from typing import Any, Sequence

from distilabel_nb.cells import is_missing, plain
from distilabel_nb.display.facts import dataclass_rows

INDENT = "  "


@singledispatch
def _describe(obj: Any) -> str:
    return repr(obj)


def describe(obj: Any) -> str:
    """A readable multi-line text card for ``obj`` (its ``repr`` for unknown types).

    Model output in it is cleaned of terminal escapes and bidi controls (:func:`safe_text`).
    A type's writer is registered with ``@describe.register(TheClass)``.
    """
    return safe_text(_describe(obj))


describe.register = _describe.register  # type: ignore[attr-defined]
describe.dispatch = _describe.dispatch  # type: ignore[attr-defined]


# Terminal escapes (colours, cursor moves), bidi controls (text shown in another order than
# it is) and other control characters: a model's answer must not drive the terminal it is read in.
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")


def safe_text(text: Any) -> str:
    """``text`` without terminal escapes, bidi controls or other control characters (tabs and line breaks stay)."""
    return _CONTROLS.sub("", _ANSI.sub("", str(text)))


def clip(text: str, max_lines: int = 12, width: int = 160) -> str:
    """At most ``max_lines`` lines of at most ``width`` characters, saying what was cut."""
    lines = safe_text(text).splitlines() or [""]
    kept = [line if len(line) <= width else line[: width - 1] + "…" for line in lines[:max_lines]]
    if len(lines) > max_lines:
        kept.append(f"… ({len(lines) - max_lines} more lines)")
    return "\n".join(kept)


def one_line(text: Any, width: int = 100) -> str:
    flat = " ".join(safe_text(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def rows(pairs: Sequence[tuple[str, str]], indent: str = INDENT) -> str:
    """Aligned ``label  value`` lines; multi-line values continue under the value column."""
    if not pairs:
        return ""
    width = max(len(label) for label, _ in pairs)
    out = []
    for label, value in pairs:
        lines = str(value).splitlines() or [""]
        out.append(f"{indent}{label:<{width}}  {lines[0]}".rstrip())
        out += [f"{indent}{'':<{width}}  {line}".rstrip() for line in lines[1:]]
    return "\n".join(out)


def indented(text: str, indent: str = INDENT * 2) -> str:
    return "\n".join(indent + line if line else line for line in text.splitlines())


def value_text(value: Any) -> str:
    if is_missing(value):
        return "—"
    table = dataclass_rows(value)
    if table is not None:
        return "\n".join("  ".join(plain(v) for v in row) for row in table[1])
    if isinstance(value, str):
        return clip(value) if value else "(empty)"
    if isinstance(value, (list, tuple)):
        return ", ".join(one_line(plain(v), 60) for v in value) if value else "(empty list)"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {one_line(plain(v), 60)}" for k, v in value.items())
    return plain(value)


def io_text(inputs: Sequence[str], outputs: Sequence[str]) -> str:
    return f"{', '.join(inputs) or 'none'} → {', '.join(outputs) or 'none'}"
