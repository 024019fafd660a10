"""Turn pipeline results into files and training data.

:func:`to_preference_pairs` makes DPO-style rows (``prompt``, ``chosen``, ``rejected``)
from rated generations; :func:`to_jsonl`, :func:`to_parquet` and :func:`to_hf_dataset`
write any DataFrame of this package out.

How pairs are picked, and how ties are handled:

* Only generations with a rating take part: a generation whose rating is missing
  (``None``/NaN) is left out.
* A row whose labelling reported an error (``labelling_error`` set) gives no pair, even
  where some ratings could be read: the answer did not follow the layout, so its numbers
  may be an echo of the scale rather than a judgement. ``include_failed=True`` pairs
  whatever ratings such rows have.
* Two generations with the same rating never form a pair, and neither do ratings
  closer than ``min_margin``.
* ``"best_worst"`` (default): one pair per row, the highest rated against the lowest
  rated. When several generations share the top (or bottom) rating, the first of them
  in generation order is taken, so the result is deterministic.
* ``"best_each"``: the highest rated against every generation rated lower.
* ``"all_pairs"``: every two generations whose ratings differ, the better one chosen.
* A row with fewer than two rated generations, or whose ratings are all equal, gives
  no pair.
* ``filters=[...]`` (:mod:`distilabel_nb.filters`) removes rows before pairing: only
  preferences that survived a position audit, no near-duplicates, a minimum rating or
  margin. What each filter removed, and why, is in ``pairs.attrs["filters"]``.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"input": ["2+2?"], "generations": [["4", "5", "four"]],
    ...                    "rating": [[5, 1, 5]]})
    >>> to_preference_pairs(df)[["prompt", "chosen", "rejected", "chosen_rating", "rejected_rating"]].to_dict("records")
    [{'prompt': '2+2?', 'chosen': '4', 'rejected': '5', 'chosen_rating': 5, 'rejected_rating': 1}]
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any, Literal, Sequence

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.cells import as_list
from distilabel_nb.filters import Filter, filter_rows

Strategy = Literal["best_worst", "best_each", "all_pairs"]
STRATEGIES: tuple[str, ...] = ("best_worst", "best_each", "all_pairs")

PAIR_COLUMNS = [
    "prompt", "chosen", "rejected", "chosen_rating", "rejected_rating",
    "chosen_model", "rejected_model", "source_row",
]


def _rating(value: Any) -> int | float | None:
    """A usable number (an ``int`` stays one), or ``None`` for missing, NaN and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):
        return int(value)
    return None if math.isnan(value) else float(value)


def _pairs_in_row(rated: list[tuple[int, float]], strategy: str, min_margin: float) -> list[tuple[int, int]]:
    """(chosen position, rejected position) pairs from (position, rating) items."""
    if len(rated) < 2:
        return []
    # sorted() is stable: among equal ratings the earlier generation comes first.
    best_first = sorted(rated, key=lambda item: -item[1])
    worst_first = sorted(rated, key=lambda item: item[1])
    if strategy == "best_worst":
        candidates = [(best_first[0], worst_first[0])]
    elif strategy == "best_each":
        candidates = [(best_first[0], other) for other in rated if other[0] != best_first[0][0]]
    else:
        candidates = [(a, b) if a[1] >= b[1] else (b, a) for a, b in itertools.combinations(rated, 2)]
    return [
        (chosen[0], rejected[0])
        for chosen, rejected in candidates
        if chosen[1] > rejected[1] and chosen[1] - rejected[1] >= min_margin
    ]


def to_preference_pairs(
    df: pd.DataFrame,
    rating_column: str | None = None,
    *,
    strategy: Strategy = "best_worst",
    min_margin: float = 0.0,
    prompt_column: str = "input",
    generations_column: str | None = None,
    include_failed: bool = False,
    filters: Sequence[Filter] = (),
) -> pd.DataFrame:
    """Chosen/rejected pairs for preference tuning (DPO) from rated generations.

    Args:
        df: A pipeline result: one row per prompt, with a list of generations and a
            list of ratings aligned with them.
        rating_column: The column with the ratings. By default the result schema's score
            column (the labeller's ``task.score_column``: ``"score"`` for critique tasks),
            else ``"rating"``.
        strategy: ``"best_worst"``, ``"best_each"`` or ``"all_pairs"`` (see the module
            documentation).
        min_margin: The smallest rating difference that makes a pair. Equal ratings
            never do.
        prompt_column: The column with the prompt.
        generations_column: The column with the list of generations (by default the one
            the scores are aligned with, ``"generations"``).
        include_failed: Also pair the ratings read from rows whose ``labelling_error``
            is set (left out by default).
        filters: :class:`~distilabel_nb.filters.Filter` s applied to the rows first, in
            order (e.g. ``[KeepSurvivedSwap(audit), DropNearDuplicates(), MinMargin(1)]``);
            each one's count of removed rows and their reasons are in ``pairs.attrs["filters"]``
            (:func:`~distilabel_nb.filters.filter_rows` gives the same as a card).

    Returns:
        One row per pair with the columns ``prompt``, ``chosen``, ``rejected``,
        ``chosen_rating``, ``rejected_rating`` (``int`` on a whole-number scale),
        ``chosen_model``, ``rejected_model``
        (from ``generation_model`` when present, else ``None``) and ``source_row``
        (the index label of the row it came from).

    Raises:
        ValueError: on a missing column, an unknown strategy or a negative margin.
        TypeError: when an item of ``filters`` is not a Filter.

    Example:
        >>> df = pd.DataFrame({"input": ["Hi"], "generations": [["a", "b", "c"]], "rating": [[3, 1, 2]]})
        >>> to_preference_pairs(df, strategy="best_each")[["chosen", "rejected"]].values.tolist()
        [['a', 'b'], ['a', 'c']]
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    if not isinstance(min_margin, (int, float)) or min_margin < 0:
        raise ValueError(f"Invalid min_margin={min_margin!r} (allowed: a number >= 0)")
    found = schema.of(df)
    rating_column = rating_column or found.score_column or "rating"
    generations_column = generations_column or found.rated or schema.GENERATIONS
    missing = [c for c in (prompt_column, generations_column, rating_column) if c not in df.columns]
    if missing:
        raise ValueError(
            f"to_preference_pairs needs the column(s) {missing}; available: {list(df.columns)}. "
            "Pass rating_column=... (e.g. 'score' for critique tasks) or prompt_column=/generations_column=."
        )
    report = filter_rows(df, filters) if filters else None
    if report is not None:
        df = report.kept
    has_models = schema.GENERATION_MODEL in df.columns
    skip_failed = not include_failed and schema.LABELLING_ERROR in df.columns
    records: list[dict[str, Any]] = []
    for label, row in df.iterrows():
        if skip_failed and isinstance(row[schema.LABELLING_ERROR], str):
            continue
        generations = as_list(row[generations_column])
        ratings = as_list(row[rating_column])
        models = as_list(row[schema.GENERATION_MODEL]) if has_models else []
        rated = [
            (position, rating)
            for position, (text, rating) in enumerate(zip(generations, map(_rating, ratings)))
            if rating is not None and isinstance(text, str)
        ]
        for chosen, rejected in _pairs_in_row(rated, strategy, min_margin):
            records.append({
                "prompt": row[prompt_column],
                "chosen": generations[chosen],
                "rejected": generations[rejected],
                "chosen_rating": _rating(ratings[chosen]),
                "rejected_rating": _rating(ratings[rejected]),
                "chosen_model": models[chosen] if chosen < len(models) else None,
                "rejected_model": models[rejected] if rejected < len(models) else None,
                "source_row": label,
            })
    pairs = pd.DataFrame(records, columns=PAIR_COLUMNS)
    if report is not None:
        pairs.attrs["filters"] = report.records()
    return pairs


def to_jsonl(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as JSON Lines (one object per row, UTF-8, index left out).

    Returns:
        The path written.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> to_jsonl(pd.DataFrame({"input": ["é"]}), folder / "out.jsonl").read_text(encoding="utf-8")
        '{"input":"é"}\\n'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_json(path, orient="records", lines=True, force_ascii=False)
    return path


def to_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as Parquet (needs ``pyarrow``). List columns stay lists.

    Returns:
        The path written.

    Raises:
        ImportError: when ``pyarrow`` is not installed, with the install command.
    """
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise ImportError("to_parquet needs pyarrow: pip install pyarrow") from exc
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.reset_index(drop=True).to_parquet(path, index=False)
    return path


def to_hf_dataset(df: pd.DataFrame):
    """A Hugging Face ``datasets.Dataset`` with the rows of ``df`` (index left out).

    Raises:
        ImportError: when ``datasets`` is not installed, with the install command.
    """
    try:
        import datasets
    except ImportError as exc:
        raise ImportError("to_hf_dataset needs the datasets package: pip install 'distilabel_nb[datasets]'") from exc
    return datasets.Dataset.from_pandas(df.reset_index(drop=True), preserve_index=False)
