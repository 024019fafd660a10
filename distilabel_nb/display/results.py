"""A readable, paginated view of a pipeline's result DataFrame.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"input": ["Hi", "Bye"], "generations": [["Hello!"], ["See you"]],
    ...                    "rating": [[5], [2]], "generation_error": [None, None]})
    >>> view = show_results(df, page_size=1)
    >>> view.pages, view.first_row, view.last_row
    (2, 1, 1)
    >>> view.page_at(2).first_row
    2
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.cells import is_missing
from distilabel_nb.display.plaintext import describe
from distilabel_nb.rich_repr import HTMLRepr
from distilabel_nb.schema import GENERATIONS as GENERATIONS_COLUMN
from distilabel_nb.schema import PROVENANCE_COLUMNS, USAGE_COLUMNS, is_error_column

__all__ = ["GENERATIONS_COLUMN", "PROVENANCE_COLUMNS", "Column", "ResultsSummary", "ResultsView", "is_error_column",
           "show_results"]


def _numbers(cell: Any) -> list[float]:
    """The numbers of a rating cell (a number, or a list of numbers and missing values)."""
    values = cell if isinstance(cell, (list, tuple)) else [cell]
    return [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)]


@dataclass(frozen=True)
class Column:
    """How one column is shown: ``kind`` is "text", "rating", "generations" or "error"."""

    name: str
    kind: str
    aligned: tuple[str, ...] = ()  # for "generations": per-answer columns shown beside each answer


@dataclass(frozen=True)
class ResultsSummary:
    rows: int
    answers_per_row: int | None
    models: list[tuple[str, str]]  # (role, model names)
    failures: list[tuple[str, int]]  # (error column, rows with an error)
    rating_column: str | None
    rating_mean: float | None
    rating_count: int
    ratings_unread: int


class ResultsView(HTMLRepr):
    """One page of a results DataFrame, readable in a notebook.

    Instructions and answers are shown as text (long text folds), ratings as coloured
    badges with a bar, each answer beside its rating and rationale, errors in red.
    Provenance columns (prompts, raw responses, model names) are hidden unless asked for;
    the header names the models.

    Args:
        df: The DataFrame (any DataFrame works; a pipeline's result reads best).
        page: Which page to show, from 1.
        page_size: Rows per page.
        columns: Columns to show, in order; ``"all"`` shows every column. Default: all
            but the provenance and usage columns (the header sums the usage).
        rating_range: The rating scale ``(low, high)`` for colours and bars, for every
            rating column. By default each score column's scale from the result schema
            (``df.attrs``, the labeller's task); for a frame the pipeline did not make,
            guessed from the values.
        fold_chars: Text longer than this (or longer than 8 lines) is folded.

    Raises:
        ValueError: on a page that does not exist or a column that is not in the frame.
    """

    def __init__(
        self,
        df: pd.DataFrame,
        page: int = 1,
        page_size: int = 10,
        columns: Sequence[str] | str | None = None,
        rating_range: tuple[float, float] | None = None,
        fold_chars: int = 400,
    ):
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"show_results() takes a pandas DataFrame, got {type(df).__name__}")
        if not isinstance(page_size, int) or page_size < 1:
            raise ValueError(f"Invalid page_size={page_size!r} (allowed: int >= 1)")
        self.df = df
        self.page_size = page_size
        self.pages = max(1, math.ceil(len(df) / page_size))
        if not isinstance(page, int) or not 1 <= page <= self.pages:
            raise ValueError(
                f"page={page!r} does not exist: {len(df)} rows make {self.pages} page(s) of {page_size} "
                f"(pages are numbered from 1)"
            )
        self.page = page
        self.fold_chars = fold_chars
        self._columns_arg = columns
        names = [str(c) for c in df.columns]
        if columns == "all":
            chosen = names
        elif columns is None:
            chosen = [n for n in names if n not in PROVENANCE_COLUMNS and n not in USAGE_COLUMNS]
        else:
            chosen = [str(c) for c in columns]
            unknown = [c for c in chosen if c not in names]
            if unknown:
                raise ValueError(f"Unknown column(s) {unknown}; the DataFrame has {names}")
        self._labels = dict(zip(names, df.columns))
        self.schema = schema.of(df)
        self._range_arg = rating_range
        self.hidden = [n for n in names if n not in chosen]
        self.columns = self._plan(chosen)
        self._ratings = self._find_rating_columns()
        self.rating_range = self.scale_of(self._ratings[0] if self._ratings else None)
        self._summary: ResultsSummary | None = None

    # -- pages --
    @property
    def first_row(self) -> int:
        """1-based position of the first row on this page (0 when the frame is empty)."""
        return 0 if self.df.empty else (self.page - 1) * self.page_size + 1

    @property
    def last_row(self) -> int:
        return min(self.page * self.page_size, len(self.df))

    def rows(self) -> pd.DataFrame:
        """The rows on this page."""
        start = (self.page - 1) * self.page_size
        return self.df.iloc[start:start + self.page_size]

    def page_at(self, page: int) -> "ResultsView":
        """The same view at another page."""
        return ResultsView(self.df, page, self.page_size, self._columns_arg, self._range_arg, self.fold_chars)

    def cell(self, row: pd.Series, name: str) -> Any:
        return row[self._labels[name]]

    # -- columns --
    def _values(self, name: str) -> list[Any]:
        return [v for v in self.df[self._labels[name]].tolist() if not is_missing(v)]

    def _is_rating(self, name: str) -> bool:
        """A score column of the result schema (for a frame without one: named like a rating, holding numbers)."""
        return self.schema.is_score(name)

    def _aligned_with_generations(self, name: str) -> bool:
        gen = self.df[self._labels[GENERATIONS_COLUMN]].tolist()
        other = self.df[self._labels[name]].tolist()
        pairs = [(g, o) for g, o in zip(gen, other) if isinstance(o, (list, tuple))]
        return bool(pairs) and all(isinstance(g, (list, tuple)) and len(g) == len(o) for g, o in pairs) and all(
            is_missing(o) or isinstance(o, (list, tuple)) for o in other)

    def _plan(self, chosen: list[str]) -> list[Column]:
        aligned: list[str] = []
        has_generations = GENERATIONS_COLUMN in chosen and any(
            isinstance(v, (list, tuple)) for v in self._values(GENERATIONS_COLUMN))
        if has_generations:
            aligned = [n for n in chosen if n != GENERATIONS_COLUMN and not is_error_column(n)
                       and n not in PROVENANCE_COLUMNS and self._aligned_with_generations(n)]
            # ratings first, then the rest (rationales) in frame order
            aligned.sort(key=lambda n: not self._is_rating(n))
        plan = []
        for name in chosen:
            if name in aligned:
                continue
            if name == GENERATIONS_COLUMN and has_generations:
                plan.append(Column(name, "generations", tuple(aligned)))
            elif is_error_column(name):
                plan.append(Column(name, "error"))
            elif self._is_rating(name):
                plan.append(Column(name, "rating"))
            else:
                plan.append(Column(name, "text"))
        return plan

    def _find_rating_columns(self) -> list[str]:
        names = [c.name for c in self.columns if c.kind == "rating"]
        for column in self.columns:
            names += [n for n in column.aligned if self._is_rating(n)]
        return names

    def rating_columns(self) -> list[str]:
        """The shown columns read as ratings (on their own or beside each answer)."""
        return list(self._ratings)

    def is_rating(self, name: str) -> bool:
        return name in self._ratings

    def scale_of(self, name: str | None) -> tuple[float, float]:
        """The ``(low, high)`` a rating column is drawn on: ``rating_range`` if given, else its scale."""
        if self._range_arg is not None:
            return tuple(self._range_arg)  # type: ignore[return-value]
        scale = self.schema.scale(name)
        return scale.bounds if scale is not None else (1, 5)

    # -- facts --
    def was_cut(self, row: pd.Series, answer: int) -> bool:
        """Whether answer ``answer`` (from 0) of the row was cut at ``max_new_tokens`` (its finish reason)."""
        if schema.GENERATION_FINISH_REASONS not in self._labels:
            return False
        reasons = self.cell(row, schema.GENERATION_FINISH_REASONS)
        return isinstance(reasons, (list, tuple)) and answer < len(reasons) and reasons[answer] == schema.TRUNCATED

    def row_has_error(self, row: pd.Series) -> bool:
        return any(not is_missing(self.cell(row, n)) for n in self._labels if is_error_column(n))

    def summary(self) -> ResultsSummary:
        """Counts over the whole frame (computed once)."""
        if self._summary is None:
            self._summary = self._compute_summary()
        return self._summary

    def _compute_summary(self) -> ResultsSummary:
        df = self.df
        answers = None
        if GENERATIONS_COLUMN in self._labels:
            lengths = [len(v) for v in self._values(GENERATIONS_COLUMN) if isinstance(v, (list, tuple))]
            answers = max(lengths) if lengths else None
        models = []
        for role, name in (("generated by", "generation_model"), ("labelled by", "labelling_model")):
            if name in self._labels:
                found: dict[str, None] = {}
                for value in self._values(name):
                    for model in value if isinstance(value, (list, tuple)) else [value]:
                        if not is_missing(model):
                            found[str(model)] = None
                if found:
                    models.append((role, ", ".join(found)))
        failures = [(n, int(df[self._labels[n]].notna().sum())) for n in self._labels if is_error_column(n)]
        ratings = self.rating_columns()
        rating_column = ratings[0] if ratings else None
        mean, count, unread = None, 0, 0
        if rating_column:
            read: list[float] = []
            for value in self._values(rating_column):
                if isinstance(value, (list, tuple)):
                    unread += sum(v is None for v in value)
                read += _numbers(value)
            count = len(read)
            mean = sum(read) / count if count else None
        return ResultsSummary(len(df), answers, models, failures, rating_column, mean, count, unread)

    def __repr__(self) -> str:
        return describe(self)


def show_results(
    df: pd.DataFrame,
    page: int = 1,
    page_size: int = 10,
    columns: Sequence[str] | str | None = None,
    rating_range: tuple[float, float] | None = None,
) -> ResultsView:
    """Show a results DataFrame readably: answers beside their ratings, errors in red.

    Args:
        df: A pipeline's result (or any DataFrame).
        page: The page to show, from 1.
        page_size: Rows per page.
        columns: Columns to show (``"all"`` for every one); default hides the prompts,
            raw responses and model-name columns.
        rating_range: The rating scale ``(low, high)``; inferred when not given.

    Returns:
        A :class:`ResultsView`; it displays itself as the last value of a cell.

    Example:
        >>> df = pipeline.generate(dataset, num_generations=2)  # doctest: +SKIP
        >>> show_results(df, page=2, page_size=5)               # doctest: +SKIP
    """
    return ResultsView(df, page=page, page_size=page_size, columns=columns, rating_range=rating_range)
