"""What a labelled dataset looks like before you train on it: :func:`quality_report`.

The report counts the ratings of every score column on the task's scale, measures the
instructions and answers, finds exact and near-duplicate instructions and answers
(:mod:`distilabel_nb.duplicates`), groups the failures by kind and counts the ties. It is
an HTML card with plots in a notebook, and the same facts as DataFrames.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"input": ["2+2?", "2 + 2?"], "generations": [["4", "5"], ["4", "4"]],
    ...                    "rating": [[5, 1], [3, 3]], "labelling_error": [None, None]})
    >>> report = quality_report(df, threshold=0.5)
    >>> report.ratings["rating"].tolist(), report.ties["rating"].count
    ([1, 0, 2, 0, 1], 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.audit import check_columns, preference
from distilabel_nb.cells import as_list
from distilabel_nb.duplicates import DUPLICATE_COLUMNS, find_duplicates
from distilabel_nb.report import Share, is_number, scale_steps, score_scale
from distilabel_nb.rich_repr import HTMLRepr
from distilabel_nb.schema import Scale

_ITEM = re.compile(r"^(?:text|generation|assistant|answer) \d+: ")


def score_columns(df: pd.DataFrame) -> list[str]:
    """The frame's score columns, from its result schema (named like scores and holding numbers, when guessed)."""
    return list(schema.of(df).scores)


def _values(df: pd.DataFrame, column: str) -> list[Any]:
    return [v for cell in df[column] for v in as_list(cell)]


def failure_kind(message: str) -> str:
    """An error text with its numbers replaced, so that the same failure counts once:
    ``"text 2: rating 7 is outside 1-5"`` -> ``"text N: rating N is outside N-N"``."""
    return re.sub(r"\d+(?:\.\d+)?", "N", " ".join(str(message).split()))[:160]


def failures_by_kind(df: pd.DataFrame) -> pd.DataFrame:
    """Rows per error column and kind of failure: ``column``, ``kind``, ``rows``, ``example`` (most common first)."""
    records: dict[tuple[str, str], dict[str, Any]] = {}
    for column in [str(c) for c in df.columns if str(c).endswith("_error")]:
        for label, message in df[column].items():
            if not isinstance(message, str) or not message:
                continue
            # "text 1: no rating found; text 2: …": each part is a kind; the row counts once per kind.
            kinds = {failure_kind(_ITEM.sub("", part)) for part in message.split("; ")}
            for kind in kinds:
                slot = records.setdefault((column, kind), {"column": column, "kind": kind, "rows": 0, "example": message})
                slot["rows"] += 1
    table = pd.DataFrame(list(records.values()), columns=["column", "kind", "rows", "example"])
    return table.sort_values(["rows", "column"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _texts(df: pd.DataFrame, instruction: str | None, generations: str | None) -> pd.DataFrame:
    """Every instruction and answer: ``text`` (which), ``row``, ``answer`` (1-based), ``value``, ``chars``."""
    records = []
    if instruction:
        records += [("instruction", label, None, value) for label, value in df[instruction].items()]
    if generations:
        for label, cell in df[generations].items():
            records += [("answer", label, i + 1, v) for i, v in enumerate(as_list(cell))]
    texts = pd.DataFrame(records, columns=["text", "row", "answer", "value"])
    texts["chars"] = [len(v) if isinstance(v, str) else None for v in texts["value"]]
    return texts


def _length_summary(lengths: pd.DataFrame) -> pd.DataFrame:
    rows = {}
    for kind, group in lengths.groupby("text", sort=False):
        chars = group["chars"].dropna()
        rows[kind] = {"texts": len(group), "missing": int(group["chars"].isna().sum()), "empty": int((chars == 0).sum()),
                      "mean": chars.mean(), "median": chars.median(), "min": chars.min(), "max": chars.max()}
    return pd.DataFrame(rows).T


@dataclass(frozen=True, repr=False)
class QualityReport(HTMLRepr):
    """The facts of :func:`quality_report`, each a DataFrame (or a :class:`Share` per score column).

    ``ratings``: counts per rating value (rows: the scale), one column per score column;
    ``rating_summary``: per score column, ratings read, missing, off the scale, mean, std;
    ``lengths``: every text's length in characters; ``length_summary``: per kind of text;
    ``duplicates``: each repeated instruction or answer (see
    :func:`~distilabel_nb.duplicates.find_duplicates`, with a ``kind`` column);
    ``failures``: rows per kind of error; ``ties``: rows tied at the top, per score column.
    """

    n_rows: int
    scales: dict[str, Scale | None]
    ratings: pd.DataFrame
    rating_summary: pd.DataFrame
    lengths: pd.DataFrame
    length_summary: pd.DataFrame
    duplicates: pd.DataFrame
    failures: pd.DataFrame
    ties: dict[str, Share]
    threshold: float

    def duplicate_rows(self, kind: str = "instruction") -> list[Any]:
        """Row labels whose instruction (or, ``kind="answer"``, an answer) repeats an earlier one."""
        found = self.duplicates[self.duplicates["kind"] == kind]
        return list(dict.fromkeys(k[0] if isinstance(k, tuple) else k for k in found["key"]))

    def summary(self) -> list[tuple[str, str]]:
        """``(fact, value)`` lines, shared by the text and the card."""
        lines = [("rows", str(self.n_rows))]
        for column, row in self.rating_summary.iterrows():
            scale = self.scales.get(column)
            on = f" on {scale}" if scale else ""
            lines.append((f"{column}", f"{int(row['read'])} read{on}, mean {row['mean']:.2f}, "
                          f"{int(row['missing'])} missing, {int(row['off_scale'])} off the scale; "
                          f"ties at the top: {self.ties[column]}"))
        for kind in ("instruction", "answer"):
            found = self.duplicates[self.duplicates["kind"] == kind]
            exact = int((found["match"] == "exact").sum())
            lines.append((f"duplicate {kind}s", f"{exact} exact, {len(found) - exact} near (similarity ≥ {self.threshold:g})"))
        failed = ", ".join(f"{r.rows} × {r.kind} ({r.column})" for r in self.failures.head(3).itertuples())
        lines.append(("failures", failed + ("…" if len(self.failures) > 3 else "") if failed else "none"))
        return lines

    def plot(self) -> Any:
        """Rating distributions and answer lengths, as a matplotlib Figure."""
        from distilabel_nb.display.audit_plots import quality_figure

        return quality_figure(self)

    def __repr__(self) -> str:
        width = max(len(name) for name, _ in self.summary())
        return "QualityReport\n" + "\n".join(f"  {name:<{width}}  {value}" for name, value in self.summary())


def quality_report(df: pd.DataFrame, *, task: Any = None, columns: Sequence[str] | None = None,
                   instruction_column: str = "input", generations_column: str = "generations",
                   threshold: float = 0.8, shingle: int = 3) -> QualityReport:
    """Ratings, lengths, duplicates, failures and ties of a labelled DataFrame.

    Args:
        df: A pipeline result (or any frame with these columns).
        task: The labelling task (or an LLM with one), for its rating scale.
        columns: The score columns; by default those of the result schema (the
            labeller's, and columns named like scores that hold numbers, e.g. ``human_rating``).
        instruction_column: The instructions (left out when the frame has none).
        generations_column: The answers, one list per row (left out when absent).
        threshold: The Jaccard similarity from which texts count as near-duplicates.
        shingle: The length of the character shingles compared.

    Raises:
        ValueError: for a score column that is not in ``df``.
        ImportError: when ``datasketch`` (near-duplicates) is not installed.
    """
    task = getattr(task, "task", task)
    columns = score_columns(df) if columns is None else list(columns)
    check_columns(df, columns, "quality_report")
    instruction = instruction_column if instruction_column in df.columns else None
    generations = generations_column if generations_column in df.columns else None
    scales, counts, summary, ties = {}, {}, {}, {}
    for column in columns:
        scales[column] = score_scale(df, column, task)
        values = _values(df, column)
        read = [float(v) for v in values if is_number(v)]
        low, high = scales[column].bounds if scales[column] else (min(read, default=0), max(read, default=0))
        counts[column] = pd.Series(read, dtype=float).value_counts()
        summary[column] = {"read": len(read), "missing": len(values) - len(read),
                           "off_scale": sum(1 for v in read if not low <= v <= high),
                           "mean": pd.Series(read, dtype=float).mean(), "std": pd.Series(read, dtype=float).std()}
        verdicts = [preference(as_list(cell)) for cell in df[column]]
        decided = [v for v in verdicts if v[0] is not None or v[1]]
        ties[column] = Share(sum(1 for v in decided if v[1]), len(decided))
    steps = scale_steps(next((s for s in scales.values() if s), None),
                        sorted({v for series in counts.values() for v in series.index}))
    ratings = pd.DataFrame({c: counts[c].reindex(steps, fill_value=0).astype(int) for c in columns},
                           index=pd.Index(steps, name="rating"))
    texts = _texts(df, instruction, generations)
    found = []
    for kind, group in texts.groupby("text", sort=False):
        keys = list(group["row"]) if kind == "instruction" else list(zip(group["row"], group["answer"]))
        found.append(find_duplicates(group["value"].tolist(), keys, threshold=threshold, shingle=shingle).assign(kind=kind))
    lengths = texts.drop(columns="value")
    duplicates = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=DUPLICATE_COLUMNS + ["kind"])
    return QualityReport(
        n_rows=len(df), scales=scales, ratings=ratings,
        rating_summary=pd.DataFrame(summary, index=["read", "missing", "off_scale", "mean", "std"]).T,
        lengths=lengths, length_summary=_length_summary(lengths), duplicates=duplicates[["kind", *DUPLICATE_COLUMNS]],
        failures=failures_by_kind(df), ties=ties, threshold=threshold)
