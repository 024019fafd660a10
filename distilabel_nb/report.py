"""What the label checks share: a share with its 95% interval, and a rating scale.

:class:`Share` is "9 of 10" with its Wilson interval (from scipy); :func:`score_scale`
is the one place the label checks learn a score column's scale (from the task, or the
result schema). The results show as their HTML card through
:class:`~distilabel_nb.rich_repr.HTMLRepr`, like every core object.

Example:
    >>> share = Share(9, 10)
    >>> str(share)
    '9 of 10 (90%, 95% CI 60–98%)'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from distilabel_nb import schema
from distilabel_nb.agreement import require
from distilabel_nb.schema import Scale


@dataclass(frozen=True)
class Share:
    """``count`` of ``total`` with its 95% Wilson interval (NaN when ``total`` is 0).

    Example:
        >>> round(Share(0, 10).high, 3), Share(0, 0).value
        (0.278, nan)
    """

    count: int
    total: int

    @property
    def value(self) -> float:
        return self.count / self.total if self.total else float("nan")

    @cached_property
    def interval(self) -> tuple[float, float]:
        """The 95% Wilson score interval, from ``scipy.stats.binomtest``."""
        if not self.total:
            return float("nan"), float("nan")
        stats = require("scipy.stats", "scipy", "the interval of a share")
        ci = stats.binomtest(self.count, self.total).proportion_ci(confidence_level=0.95, method="wilson")
        return float(ci.low), float(ci.high)

    @property
    def low(self) -> float:
        return self.interval[0]

    @property
    def high(self) -> float:
        return self.interval[1]

    def percent(self) -> str:
        """``"90%"``, or ``"—"`` for a share of nothing."""
        return "—" if not self.total else f"{100 * self.value:.0f}%"

    def interval_text(self) -> str:
        """The 95% interval as ``"60–98%"``, or ``""`` for a share of nothing."""
        if not self.total:
            return ""
        low, high = self.interval
        return f"{100 * low:.0f}–{100 * high:.0f}%"

    def as_dict(self) -> dict[str, float | int]:
        low, high = self.interval
        return {"count": self.count, "total": self.total, "share": self.value, "low": low, "high": high}

    def __str__(self) -> str:
        if not self.total:
            return "0 of 0"
        return f"{self.count} of {self.total} ({self.percent()}, 95% CI {self.interval_text()})"


def shares_table(shares: dict[str, Share]) -> pd.DataFrame:
    """One row per named share: ``count``, ``total``, ``share``, ``low``, ``high``."""
    return pd.DataFrame({name: share.as_dict() for name, share in shares.items()}).T.astype(
        {"count": int, "total": int, "share": float, "low": float, "high": float})


def score_scale(df: pd.DataFrame, column: str, task: Any = None) -> Scale | None:
    """The scale of a score column: the labeller task's when given, else the frame's result schema's.

    The schema (:func:`distilabel_nb.schema.of`) is the one the pipeline attached, or a
    scale guessed from the values of a frame without one.

    Example:
        >>> from distilabel_nb.tasks import UltraFeedbackTask
        >>> str(score_scale(pd.DataFrame({"rating": [[1, 2]]}), "rating", UltraFeedbackTask()))
        '1–5'
    """
    declared = schema.task_scales(getattr(task, "task", task)).get(column) if task is not None else None
    return declared or schema.of(df).scale(column)


def scale_steps(scale: Scale | None, observed: list[float]) -> list[float]:
    """The values to count ratings on: every step of a whole-number scale, and anything else observed."""
    values = set(observed)
    if scale is not None and scale.whole:
        values |= set(float(v) for v in scale.steps())
    elif observed and all(float(v).is_integer() for v in observed):
        values |= set(float(v) for v in range(int(min(observed)), int(max(observed)) + 1))
    return sorted(values)


def is_number(value: Any) -> bool:
    """A real number that is not NaN (and not a bool); numpy numbers count."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.number)):
        return False
    return not math.isnan(float(value))
