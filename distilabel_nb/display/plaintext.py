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

from functools import singledispatch
from typing import Any, Sequence

from distilabel_nb.cells import is_missing, plain
from distilabel_nb.display.facts import dataclass_rows

INDENT = "  "


@singledispatch
def describe(obj: Any) -> str:
    """A readable multi-line text card for ``obj`` (its ``repr`` for unknown types)."""
    return repr(obj)


def clip(text: str, max_lines: int = 12, width: int = 160) -> str:
    """At most ``max_lines`` lines of at most ``width`` characters, saying what was cut."""
    lines = str(text).splitlines() or [""]
    kept = [line if len(line) <= width else line[: width - 1] + "…" for line in lines[:max_lines]]
    if len(lines) > max_lines:
        kept.append(f"… ({len(lines) - max_lines} more lines)")
    return "\n".join(kept)


def one_line(text: Any, width: int = 100) -> str:
    flat = " ".join(str(text).split())
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
