"""Cell helpers: how every module reads a DataFrame cell and writes it as short text.

A result's cells hold texts, numbers, lists aligned with the generations (lists, tuples,
or numpy arrays after a Parquet round trip) and missing values (``None``, NaN, ``pd.NA``).

Example:
    >>> is_missing(float("nan")), as_list(None), as_list(("a", "b")), plain(None), plain(None, missing="")
    (True, [], ['a', 'b'], '—', '')
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd


def is_missing(value: Any) -> bool:
    """True for ``None``, NaN, ``pd.NA``, ``pd.NaT`` and NumPy's NaT: how a frame marks an empty cell."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (np.datetime64, np.timedelta64)):  # NumPy's own NaT, which is not pandas'
        return bool(np.isnat(value))
    return isinstance(value, Real) and not isinstance(value, (bool, int)) and math.isnan(value)


def is_blank(value: Any) -> bool:
    """Missing, or a text of nothing but spaces."""
    return not value.strip() if isinstance(value, str) else is_missing(value)


def as_list(value: Any) -> list[Any]:
    """A list cell as a list (tuples, numpy arrays after Parquet); a missing cell is ``[]``, a text or number one item."""
    if is_missing(value):
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        converted = value.tolist()
        return converted if isinstance(converted, list) else [converted]
    return [value]


def number(value: Any) -> str:
    """A number as people read it: ``4``, ``4.5``, ``12,345``."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1000 else f"{value:g}"
    return str(value)


def plain(value: Any, missing: str = "—") -> str:
    """A cell as short text: texts as they are, numbers as :func:`number`, a missing value as ``missing``.

    Example:
        >>> plain(4.0), plain(None), plain(None, missing=""), plain(["a", None])
        ('4', '—', '', "['a', None]")
    """
    if is_missing(value):
        return missing
    if isinstance(value, str):
        return value
    if isinstance(value, Real):
        return number(value)
    return repr(value)


def dollars(value: float | None) -> str:
    """A cost as people read it: ``$12.35``, ``$0.0042``, ``$0.000033`` (never ``3.3e-05``); ``unknown`` for ``None`` or NaN.

    Example:
        >>> dollars(12.345), dollars(0.00421), dollars(0.000033), dollars(0), dollars(None)
        ('$12.35', '$0.0042', '$0.000033', '$0', 'unknown')
    """
    if value is None or value != value:
        return "unknown"
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    if abs(value) >= 0.01:
        return f"${value:.3f}".rstrip("0")
    places = 1 - math.floor(math.log10(abs(value)))  # two significant digits
    return f"${value:.{places}f}".rstrip("0")


def duration(seconds: float | None, clock: bool = False) -> str:
    """``0.4 s``, ``2 min 05 s``, ``1 h 02 min``; with ``clock``: ``0:07``, ``1:02:03``. ``—`` when unknown.

    Example:
        >>> duration(125), duration(125, clock=True), duration(None)
        ('2 min 05 s', '2:05', '—')
    """
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    if clock:
        hours, rest = divmod(int(round(seconds)), 3600)
        minutes, secs = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
