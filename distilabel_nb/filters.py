"""Filters before export: each one removes rows and says how many, and why.

A filter looks at a labelled DataFrame and gives each row it removes a reason.
:func:`filter_rows` applies filters in order and returns what is kept with a report
(the count and description per filter, the reason per removed row) that is an HTML card
in a notebook and plain DataFrames elsewhere; ``to_preference_pairs(df, filters=[...])``
applies them before pairing.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"input": ["a", "b"], "generations": [["x", "y"]] * 2, "rating": [[5, 1], [3, 3]]})
    >>> result = filter_rows(df, [MinMargin(1)])
    >>> len(result.kept), result.removed["reason"].tolist()
    (1, ['margin 0 < 1 (best 3, worst 3)'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import pandas as pd

from distilabel_nb.cells import as_list
from distilabel_nb.duplicates import find_duplicates, jaccard, shingles
from distilabel_nb.report import is_number
from distilabel_nb.rich_repr import HTMLRepr

if TYPE_CHECKING:
    from distilabel_nb.audit import PositionAudit


def _check_column(df: pd.DataFrame, column: str, who: str) -> None:
    if column not in df.columns:
        raise ValueError(f"{who} reads the column {column!r}, which the DataFrame does not have; available: "
                         f"{[str(c) for c in df.columns]}. Pass column=... to name yours.")


def _ratings(cell: Any) -> list[float]:
    return [float(v) for v in as_list(cell) if is_number(v)]


class Filter:
    """A rule that removes rows. Subclasses implement :meth:`reasons` and :meth:`describe`."""

    name = "filter"

    def reasons(self, df: pd.DataFrame) -> pd.Series:
        """Per row of ``df``: why it is removed, or ``None`` to keep it."""
        raise NotImplementedError

    def describe(self) -> str:
        """What the filter keeps, in words."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


class KeepSurvivedSwap(Filter):
    """Keep the rows whose preferred answer survived the swap in a position audit.

    Args:
        audit: A :func:`~distilabel_nb.audit.audit_labels` result for these rows.
        unaudited: ``"drop"`` (default: only proven verdicts pass) or ``"keep"`` the rows the
            audit did not sample.
    """

    name = "survived swap"

    def __init__(self, audit: "PositionAudit", unaudited: str = "drop"):
        if unaudited not in ("drop", "keep"):
            raise ValueError(f"unaudited must be 'drop' or 'keep', not {unaudited!r}")
        self.audit, self.unaudited = audit, unaudited

    def describe(self) -> str:
        return f"preferred answer the same with the answers swapped (unaudited rows: {self.unaudited})"

    def reasons(self, df: pd.DataFrame) -> pd.Series:
        outcomes = dict(zip(self.audit.rows["row"], self.audit.rows["outcome"]))
        words = {"flipped": "preference flipped when the answers were swapped",
                 "tie": "a tie at the top in one order", "failed": "ratings unreadable in one order"}
        missing = None if self.unaudited == "keep" else "not audited"
        return pd.Series([words.get(outcomes[label]) if label in outcomes else missing for label in df.index],
                         index=df.index, dtype=object)


class DropNearDuplicates(Filter):
    """Drop rows whose instruction repeats an earlier row's, and rows whose own answers repeat each other.

    Args:
        column: The instruction column.
        threshold: Jaccard similarity of character shingles from which texts are near-duplicates.
        answers_column: The answers; a row with two (near-)identical answers makes no useful
            pair. ``None`` skips that check.
    """

    name = "near-duplicates"

    def __init__(self, column: str = "input", threshold: float = 0.8, answers_column: str | None = "generations",
                 shingle: int = 3):
        self.column, self.threshold, self.answers_column, self.shingle = column, threshold, answers_column, shingle

    def describe(self) -> str:
        same = "; no row whose answers are near-duplicates of each other" if self.answers_column else ""
        return f"first of each group of near-duplicate {self.column!r} (similarity ≥ {self.threshold:g}){same}"

    def reasons(self, df: pd.DataFrame) -> pd.Series:
        _check_column(df, self.column, "DropNearDuplicates")
        found = find_duplicates(df[self.column].tolist(), list(df.index), threshold=self.threshold, shingle=self.shingle)
        reasons = pd.Series([None] * len(df), index=df.index, dtype=object)
        for row in found.itertuples():
            how = "repeats" if row.match == "exact" else f"is a near-duplicate ({row.similarity:.2f}) of"
            reasons[row.key] = f"{self.column} {how} row {row.duplicate_of!r}"
        if self.answers_column and self.answers_column in df.columns:
            for label, cell in df[self.answers_column].items():
                texts = [t for t in as_list(cell) if isinstance(t, str)]
                pair = next(((i, j, s) for i in range(len(texts)) for j in range(i + 1, len(texts))
                             if (s := jaccard(shingles(texts[i], self.shingle), shingles(texts[j], self.shingle))) >= self.threshold),
                            None)
                if pair and reasons[label] is None:
                    reasons[label] = f"answers {pair[0] + 1} and {pair[1] + 1} are near-duplicates ({pair[2]:.2f})"
        return reasons


class _RatingRule(Filter):
    """A filter that reads each row's ratings in ``column`` and judges them with :meth:`why`."""

    def __init__(self, value: float, column: str = "rating"):
        if not is_number(value):
            raise ValueError(f"{type(self).__name__} takes a number, got {value!r}")
        self.value, self.column = float(value), column

    def why(self, ratings: list[float]) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def reasons(self, df: pd.DataFrame) -> pd.Series:
        _check_column(df, self.column, type(self).__name__)
        return df[self.column].map(lambda cell: self.why(_ratings(cell))).astype(object)


class MinRating(_RatingRule):
    """Keep the rows whose best answer is rated at least ``value``."""

    name = "minimum rating"

    def describe(self) -> str:
        return f"best {self.column} ≥ {self.value:g}"

    def why(self, ratings: list[float]) -> str | None:
        if not ratings:
            return f"no {self.column} read"
        return None if max(ratings) >= self.value else f"best {self.column} {max(ratings):g} < {self.value:g}"


class MinMargin(_RatingRule):
    """Keep the rows whose best and worst answers are rated at least ``value`` apart."""

    name = "minimum margin"

    def describe(self) -> str:
        return f"best − worst {self.column} ≥ {self.value:g}"

    def why(self, ratings: list[float]) -> str | None:
        if len(ratings) < 2:
            return f"fewer than two {self.column}s read"
        gap = max(ratings) - min(ratings)
        return None if gap >= self.value else f"margin {gap:g} < {self.value:g} (best {max(ratings):g}, worst {min(ratings):g})"


@dataclass(frozen=True, repr=False)
class FilterResult(HTMLRepr):
    """What :func:`filter_rows` kept, and what each filter removed.

    ``steps``: one row per filter (``filter``, ``keeps``, ``rows_in``, ``removed``,
    ``rows_out``); ``removed``: one row per removed row (``row``, ``filter``, ``reason``).
    """

    kept: pd.DataFrame
    steps: pd.DataFrame
    removed: pd.DataFrame
    n_rows: int

    def records(self) -> list[dict[str, Any]]:
        """The steps as plain dicts, each with its removed rows and reasons (for ``DataFrame.attrs``)."""
        return [{**step, "rows": [{"row": r.row, "reason": r.reason}
                                  for r in self.removed[self.removed["filter"] == step["filter"]].itertuples()]}
                for step in self.steps.to_dict("records")]

    def __repr__(self) -> str:
        lines = [f"FilterResult({len(self.kept)} of {self.n_rows} rows kept)"]
        for step in self.steps.itertuples():
            lines.append(f"  {step.filter}: removed {step.removed} of {step.rows_in} — keeps {step.keeps}")
        return "\n".join(lines)


def filter_rows(df: pd.DataFrame, filters: Sequence[Filter]) -> FilterResult:
    """Apply ``filters`` in order; each sees only the rows the ones before it kept.

    Raises:
        TypeError: when an item is not a :class:`Filter`.
    """
    bad = [f for f in filters if not isinstance(f, Filter)]
    if bad:
        raise TypeError(f"filters must be Filter objects (KeepSurvivedSwap, DropNearDuplicates, MinRating, "
                        f"MinMargin), got {bad[0]!r}")
    kept, steps, removed = df, [], []
    for rule in filters:
        reasons = rule.reasons(kept)
        drop = reasons.notna()
        steps.append({"filter": rule.name, "keeps": rule.describe(), "rows_in": len(kept), "removed": int(drop.sum()),
                      "rows_out": int((~drop).sum())})
        removed += [{"row": label, "filter": rule.name, "reason": reason} for label, reason in reasons[drop].items()]
        kept = kept[~drop.to_numpy()]
    return FilterResult(kept, pd.DataFrame(steps, columns=["filter", "keeps", "rows_in", "removed", "rows_out"]),
                        pd.DataFrame(removed, columns=["row", "filter", "reason"]), len(df))
