"""Which rows a person should look at first: flipped verdicts, then ties and near-ties.

:func:`review_order` ranks a labelled DataFrame's rows for review: the rows whose
preference flipped when a position audit swapped their answers, then the rows tied at
the top, then the near-ties (closest margin first), then the rest in their order.
:func:`ordered` is what ``Review(df, order=...)`` calls.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"rating": [[5, 1], [3, 3], [4, 3.5]]}, index=["a", "b", "c"])
    >>> review_order(df)
    ['b', 'c', 'a']
"""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from distilabel_nb.audit import PositionAudit, preference
from distilabel_nb.cells import as_list


def review_order(df: pd.DataFrame, audit: PositionAudit | None = None, *, column: str = "rating",
                 near_tie: float = 1.0) -> list[Any]:
    """The index labels of ``df``, the rows most worth a person's look first.

    Args:
        df: Labelled rows.
        audit: A position audit of (some of) these rows; its flipped rows come first.
        column: The score column.
        near_tie: A row whose best answer leads by at most this much is a near-tie.

    Raises:
        ValueError: when ``column`` is not in ``df``.
    """
    if column not in df.columns:
        raise ValueError(f"review_order reads the column {column!r}, which the DataFrame does not have; "
                         f"available: {[str(c) for c in df.columns]}. Pass column=... to name yours.")
    flipped = set(audit.rows.loc[audit.rows["outcome"] == "flipped", "row"]) if audit is not None else set()

    def rank(item: tuple[int, Any]) -> tuple[int, float, int]:
        position, label = item
        if label in flipped:
            return 0, 0.0, position
        _, tie, margin = preference(as_list(df.at[label, column]))
        if tie:
            return 1, 0.0, position
        if margin is not None and margin <= near_tie:
            return 2, margin, position
        return 3, 0.0, position

    return [label for _, label in sorted(enumerate(df.index), key=lambda item: rank(item))]


def ordered(df: pd.DataFrame, order: "PositionAudit | str | Sequence[Any] | None", *, column: str = "rating") -> pd.DataFrame:
    """``df`` in review order: as it is (``None``), doubtful rows first (``"doubtful"``, or a
    :class:`~distilabel_nb.audit.PositionAudit` to put its flipped rows first), or the given labels.

    Raises:
        ValueError: for labels that are not in ``df`` or repeat, or an unknown order name.
    """
    if order is None:
        return df
    if isinstance(order, PositionAudit):
        return df.loc[review_order(df, order, column=column)]
    if isinstance(order, str):
        if order == "doubtful":
            return df.loc[review_order(df, column=column)]
        raise ValueError(f"order must be None, 'doubtful', a PositionAudit or a list of index labels; got {order!r}")
    labels = list(order)
    unknown = [label for label in labels if label not in df.index]
    if unknown or len(set(labels)) != len(labels):
        problem = f"labels not in the DataFrame: {unknown[:5]}" if unknown else "repeated labels"
        raise ValueError(f"order holds {problem}; pass each index label of the rows to review once "
                         "(e.g. review_order(df, audit))")
    return df.loc[labels]
