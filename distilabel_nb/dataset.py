"""The datasets a pipeline reads: a pandas DataFrame, a list of dicts, a ``datasets.Dataset``.

Anything else is refused with the way to turn it into one of those.

Example:
    >>> records, columns, labels = dataset_records([{"input": "Name a colour."}])
    >>> columns, labels
    (['input'], [0])
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from distilabel_nb.errors import InvalidArgument, InvalidType


def dataset_records(dataset: Any, column: str = "input") -> tuple[list[dict[str, Any]], list[str], list[Any]]:
    """Rows as dicts, the column names, and the row labels of a supported dataset.

    Args:
        dataset: A pandas DataFrame, a list of dicts, or a Hugging Face ``datasets.Dataset``.
        column: The column a list of plain texts would go in, for the error's example.

    Raises:
        InvalidType: for anything else (a ``TypeError``), saying how to make one.
    """
    if isinstance(dataset, pd.DataFrame):
        names = [str(c) for c in dataset.columns]
        duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
        if duplicated:
            raise InvalidArgument(
                f"the dataset has duplicate column names {duplicated}: only one of each could be sent. Rename or drop "
                "the copies, e.g. df = df.loc[:, ~df.columns.duplicated()]")
        # Columns named 0 or 1.5 are read under their names as text, as the tasks ask for them.
        frame = dataset if all(isinstance(c, str) for c in dataset.columns) else dataset.set_axis(names, axis=1)
        return frame.to_dict("records"), names, list(dataset.index)
    if type(dataset).__module__.startswith("datasets.") and hasattr(dataset, "to_list"):
        records = dataset.to_list()
        return records, list(dataset.column_names), list(range(len(records)))
    if isinstance(dataset, (list, tuple)):
        bad = [i for i, row in enumerate(dataset) if not isinstance(row, dict)]
        if bad:
            raise InvalidType(_not_a_dict(bad[0], dataset[bad[0]], column))
        columns = list(dict.fromkeys(key for row in dataset for key in row))
        return list(dataset), columns, list(range(len(dataset)))
    raise InvalidType(_unsupported(dataset, column))


def _not_a_dict(position: int, row: Any, column: str) -> str:
    kind = type(row).__name__
    if isinstance(row, str):
        return (f"dataset rows must be dicts; row {position} is str ({row[:40]!r}). For a list of texts, pass "
                f"pd.DataFrame({{{column!r}: texts}}) or [{{{column!r}: text}} for text in texts]")
    return f"dataset rows must be dicts; row {position} is {kind}. Pass a pandas DataFrame or a list of dicts"


def _unsupported(dataset: Any, column: str) -> str:
    kind = type(dataset).__name__
    if isinstance(dataset, dict):
        return ("Unsupported dataset type dict: for a dict of columns, pass pd.DataFrame(data); for one row, "
                "pass [data]. Accepted: a pandas DataFrame, a list of dicts or a datasets.Dataset")
    if isinstance(dataset, pd.Series):
        return (f"Unsupported dataset type Series: pass a DataFrame, e.g. series.to_frame({column!r}) "
                f"(a list of dicts or a datasets.Dataset work too)")
    if isinstance(dataset, str):
        return (f"Unsupported dataset type str: pass a pandas DataFrame, a list of dicts or a datasets.Dataset, "
                f"e.g. pd.DataFrame({{{column!r}: [{dataset[:40]!r}]}}), or pd.read_csv(path) for a file")
    return (f"Unsupported dataset type {kind}: pass a pandas DataFrame, a list of dicts or a datasets.Dataset, "
            f"e.g. pd.DataFrame({{{column!r}: [...]}})")
