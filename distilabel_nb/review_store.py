"""The answers of a human review, kept in a JSONL file the moment they are given.

:class:`ReviewStore` holds the rows of a DataFrame a person reviews and their answers: a
rating per generation (or the best one), a note, who and when. Every answer is appended
to the file, flushed and synced before the call returns; a new store on the same
DataFrame and file (after a kernel restart, say) takes the answers back, each matched to
its row by the row's index label and a fingerprint of what the reviewer saw. No widget
here: :class:`~distilabel_nb.widgets.review.Review` shows the rows and calls the store.

Example:
    >>> import pandas as pd, tempfile, os
    >>> df = pd.DataFrame({"input": ["2 + 2?"], "generations": [["4", "5"]]})
    >>> path = os.path.join(tempfile.mkdtemp(), "review.jsonl")
    >>> store = ReviewStore(df, path)
    >>> _ = store.save(0, complete=True, mode="rate", rating=[5, 1], reviewer="ana")
    >>> ReviewStore(df, path).to_dataframe()[["human_rating", "reviewer", "review_status"]]
      human_rating reviewer review_status
    0       [5, 1]      ana      reviewed
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.cells import as_list, is_missing
from distilabel_nb.triage import ordered

#: Columns that :meth:`ReviewStore.to_dataframe` adds.
HUMAN_COLUMNS = ("human_rating", "human_best", "human_note", "reviewer", "reviewed_at", "review_status")
MODES = ("rate", "best")
STATUSES = ("reviewed", "partial", "skipped")


# -- rows and their identity --------------------------------------------------

def _plain(value: Any) -> Any:
    """A JSON-friendly form of an index label (numpy scalars, tuples, timestamps)."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, str)):
        try:
            return value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def row_id(label: Any) -> str:
    """The stable text form of an index label used in the review file."""
    return json.dumps(_plain(label), ensure_ascii=False, sort_keys=True)


def label_text(label: Any) -> str:
    """An index label as the reviewer reads it (``0``, ``"a"``, ``[1, 2]`` for a tuple)."""
    return str(_plain(label))


def fingerprint(instruction: Any, generations: Sequence[Any]) -> str:
    """A short hash of what the reviewer saw: the instruction and every generation."""
    text = json.dumps([str(instruction), [str(g) for g in generations]], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _preview(text: Any, chars: int = 60) -> str:
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= chars else one_line[: chars - 1] + "…"


@dataclass(frozen=True)
class ScaleStep:
    """One value a reviewer can give, with an optional word (``4`` "Good") and description."""

    value: float
    label: str = ""
    description: str = ""

    @property
    def button_text(self) -> str:
        return f"{self.value:g} · {self.label}" if self.label else f"{self.value:g}"

    @property
    def tooltip(self) -> str:
        return ": ".join(part for part in (self.button_text, self.description) if part)


def _steps(scale: "schema.Scale | None") -> list[int]:
    """The whole numbers a person picks from on ``scale`` (its ends rounded in), or ``[]``."""
    steps = list(range(math.ceil(scale.low), math.floor(scale.high) + 1)) if scale is not None else []
    return steps if 3 <= len(steps) <= 21 else []


def scale_steps(scale: Iterable[Any]) -> list[ScaleStep]:
    """Numbers, ``(value, label)`` pairs, or objects with ``value``/``label``/``description``
    (such as an UltraFeedback task's ``ratings``), as the steps a reviewer picks from.

    Raises:
        ValueError: for an empty scale, a value that is no number, or a repeated value.
    """
    steps = []
    for item in scale:
        if hasattr(item, "value"):
            steps.append(ScaleStep(item.value, getattr(item, "label", ""), getattr(item, "description", "")))
        elif isinstance(item, (tuple, list)):
            steps.append(ScaleStep(*item))
        else:
            steps.append(ScaleStep(item))
    for step in steps:
        if isinstance(step.value, bool) or not isinstance(step.value, (int, float)):
            raise ValueError(f"scale values must be numbers; got {step.value!r}.")
    if not steps:
        raise ValueError("scale is empty; give the ratings a reviewer can choose, e.g. scale=[1, 2, 3, 4, 5].")
    if len({s.value for s in steps}) != len(steps):
        raise ValueError(f"scale has repeated values: {[s.value for s in steps]}.")
    return steps


# -- the review file ------------------------------------------------------------

class ReviewFile:
    """An append-only JSONL file of review records; the last record of a row wins.

    Every record is written, flushed and synced to disk before the call returns.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path).expanduser().resolve()
        self.unreadable_lines: list[int] = []

    def load(self) -> dict[str, dict[str, Any]]:
        """The latest record of every row in the file (by ``row``); none if there is no file."""
        latest: dict[str, dict[str, Any]] = {}
        self.unreadable_lines = []
        if not self.path.exists():
            return latest
        with open(self.path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    latest[record["row"]] = record
                except (json.JSONDecodeError, KeyError, TypeError):
                    # e.g. the last line of a write the kernel died in the middle of
                    self.unreadable_lines.append(number)
        return latest

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with open(self.path, "a+b") as handle:
            if handle.tell() > 0:  # never glue a record onto a half-written line
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    line = "\n" + line
            handle.write(line.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())


class ReviewFileMismatch(ValueError):
    """The review file holds answers for rows that now read differently."""


# -- the store --------------------------------------------------------------------

class ReviewStore:
    """The rows of ``df`` a person reviews, and the answers given so far (saved in ``path``).

    Args:
        df: The rows: an instruction column and a list of generations per row.
        path: The JSONL file every answer is appended to (created if needed).
        columns: Which column holds the ``instruction``, the ``generations``, the AI's
            ``rating`` and ``rationale`` (the defaults: ``input``, ``generations``, the result
            schema's score column or else ``rating``, and ``rationale``).
        scale: The steps a reviewer picks from (:func:`scale_steps`). By default the whole
            numbers of the AI rating column's scale (the labeller's, from ``df.attrs``), else 1 to 5.
        on_mismatch: When a saved answer belongs to a row whose instruction or generations
            have changed since: ``"raise"`` or ``"ignore"`` (start those rows afresh).
        order: The order of the rows (:func:`distilabel_nb.triage.ordered`): as given
            (``None``), ``"doubtful"``, a position audit or a list of index labels.

    Raises:
        ValueError: for missing columns, a duplicated index, a saved rating off the scale.
        ReviewFileMismatch: when ``path`` holds answers for rows that now read differently.
    """

    def __init__(self, df: pd.DataFrame, path: str | os.PathLike[str], *, columns: dict[str, str | None] | None = None,
                 scale: Iterable[Any] | None = None, on_mismatch: str = "raise", order: Any = None):
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"Review takes a pandas DataFrame, not {type(df).__name__}.")
        given = {key: name for key, name in (columns or {}).items() if name is not None}
        found = schema.of(df)
        self.columns = {"instruction": "input", "generations": "generations",
                        "rating": found.score_column or "rating", "rationale": "rationale", **given}
        missing = [c for c in (self.columns["instruction"], self.columns["generations"]) if c not in df.columns]
        if missing:
            raise ValueError(f"the DataFrame has no column(s) {missing}; available columns: "
                             f"{[str(c) for c in df.columns]}. Pass instruction_column=/generations_column= to name yours.")
        if not df.index.is_unique:
            raise ValueError("the DataFrame's index has repeated labels, so answers cannot be matched to rows; "
                             "use df.reset_index(drop=True) (and keep that index for later sessions).")
        if on_mismatch not in ("raise", "ignore"):
            raise ValueError(f"on_mismatch must be 'raise' or 'ignore', not {on_mismatch!r}.")
        self.df = ordered(df, order, column=self.columns["rating"])
        ai_scale = found.scale(self.columns["rating"])
        #: The AI ratings' ``(low, high)``, for their badges (``None`` when the schema has no scale for them).
        self.ai_range = ai_scale.bounds if ai_scale is not None else None
        self.scale = scale_steps(scale if scale is not None else _steps(ai_scale) or (1, 2, 3, 4, 5))
        self.file = ReviewFile(path)
        self._ids = [row_id(label) for label in self.df.index]
        self._prints = [fingerprint(self.cell("instruction", i), self.generations(i)) for i in range(len(self.df))]
        self._answers: dict[int, dict[str, Any]] = {}
        self.changed = 0  # saved answers for rows that read differently now (not used)
        self.not_in_df = 0  # saved answers for rows this DataFrame does not have
        self._resume(on_mismatch)

    @property
    def path(self) -> Path:
        """Where the answers are saved."""
        return self.file.path

    def __len__(self) -> int:
        return len(self.df)

    # -- rows --
    def generations(self, position: int) -> list[Any]:
        return as_list(self.df[self.columns["generations"]].iat[position])

    def cell(self, column_key: str, position: int) -> Any:
        """A row's cell by role (``"instruction"``, ``"rating"``, …) or column name; ``None`` without that column."""
        column = self.columns.get(column_key, column_key)
        return self.df[column].iat[position] if column in self.df.columns else None

    def ai(self, position: int, generation: int) -> dict[str, Any] | None:
        """What the AI said of one generation (``rating``, ``rationale``, ``error``, ``model``), if it rated any."""
        if self.columns["rating"] not in self.df.columns:
            return None
        ratings = as_list(self.cell("rating", position))
        rationales = as_list(self.cell("rationale", position))
        error = self.cell("labelling_error", position)
        model = self.cell("labelling_model", position)
        return {"rating": ratings[generation] if generation < len(ratings) else None,
                "rationale": rationales[generation] if generation < len(rationales) else None,
                "error": f"labelling_error: {error}" if not ratings and not is_missing(error) and error else None,
                "model": None if is_missing(model) else model}

    # -- answers --
    def _resume(self, on_mismatch: str) -> None:
        saved = self.file.load()
        values = {s.value for s in self.scale}
        changed = []
        for position, (rid, print_) in enumerate(zip(self._ids, self._prints)):
            record = saved.pop(rid, None)
            if record is None:
                continue
            if record.get("fingerprint") != print_:
                changed.append((position, record))
                continue
            off_scale = [r for r in (record.get("human_rating") or []) if r is not None and r not in values]
            if off_scale:
                raise ValueError(f"{self.path} holds ratings {off_scale} that are not on this scale "
                                 f"{[s.value for s in self.scale]}; open it with the scale it was made with.")
            self._answers[position] = record
        self.not_in_df = len(saved)
        if changed and on_mismatch == "raise":
            examples = "; ".join(
                f"row {_plain(self.df.index[p])}: answered for {record.get('instruction', '?')!r}, "
                f"now {_preview(self.cell('instruction', p))!r}" for p, record in changed[:3])
            raise ReviewFileMismatch(
                f"{self.path} was made for a different DataFrame: {len(changed)} answered row(s) now hold a "
                f"different instruction or different generations ({examples}). Use a new save_to file for this "
                "DataFrame, restore the original DataFrame (and its index), or pass on_mismatch='ignore' to start "
                "those rows afresh (the old answers stay in the file).")
        self.changed = len(changed)

    def answer(self, position: int) -> dict[str, Any]:
        """The latest record of a row (``{}`` if it has none)."""
        return self._answers.get(position, {})

    def status(self, position: int) -> str | None:
        """``reviewed``, ``partial``, ``skipped``, or ``None`` for a row never answered."""
        return self.answer(position).get("status")

    def counts(self) -> dict[str, int]:
        """How many rows are ``reviewed``, ``skipped``, ``partial`` (begun) and in ``total``."""
        statuses = [self.status(p) for p in range(len(self.df))]
        return {"reviewed": statuses.count("reviewed"), "skipped": statuses.count("skipped"),
                "partial": statuses.count("partial"), "total": len(self.df)}

    def first_open_position(self) -> int:
        """The first row not answered or begun, else the first skipped one, else 0."""
        statuses = [self.status(p) for p in range(len(self.df))]
        for wanted in ((None, "partial"), ("skipped",)):
            for position, status in enumerate(statuses):
                if status in wanted:
                    return position
        return 0

    def opening_notes(self) -> list[str]:
        """What the reviewer should know on opening: unreadable lines, answers that were not used."""
        notes = []
        if self.file.unreadable_lines:
            notes.append(f"{len(self.file.unreadable_lines)} unreadable line(s) in the file were ignored "
                         f"(line {', '.join(map(str, self.file.unreadable_lines[:5]))})")
        if self.changed:
            notes.append(f"{self.changed} saved answer(s) were for rows that have changed since and were not used")
        if self.not_in_df:
            notes.append(f"the file also holds answers for {self.not_in_df} row(s) not in this DataFrame")
        return notes

    def save(self, position: int, *, complete: bool, mode: str, skipped: bool = False, rating: list[Any] | None = None,
             best: int | None = None, note: str = "", reviewer: str = "") -> dict[str, Any]:
        """Append a row's answer to the file and return its record.

        The row is ``reviewed`` when ``complete``, else ``skipped`` when ``skipped`` (or it was
        skipped before), else ``partial``.
        """
        if complete:
            status = "reviewed"
        elif skipped or self.status(position) == "skipped":
            status = "skipped"
        else:
            status = "partial"
        record = {
            "row": self._ids[position],
            "fingerprint": self._prints[position],
            "instruction": _preview(self.cell("instruction", position)),
            "status": status,
            "mode": mode,
            "human_rating": rating,
            "human_best": best,
            "human_note": note.strip() or None,
            "reviewer": reviewer.strip() or None,
            "reviewed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        self.file.append(record)
        self._answers[position] = record
        return record

    def to_dataframe(self) -> pd.DataFrame:
        """A copy of the DataFrame with the human columns added.

        ``human_rating`` (a list aligned with the generations, ``None`` for an unrated one),
        ``human_best`` (0-based position of the best generation, ``mode="best"``),
        ``human_note``, ``reviewer``, ``reviewed_at`` (UTC time of the row's last answer)
        and ``review_status`` (``reviewed``, ``partial``, ``skipped``, or ``None`` if never
        opened). Rows without an answer hold missing values.
        """
        out = self.df.copy()
        records = [self.answer(p) for p in range(len(self.df))]
        ratings = [r.get("human_rating") for r in records]
        ratings = [None if not rs or all(v is None for v in rs) else rs for rs in ratings]
        out["human_rating"] = pd.Series(ratings, index=out.index, dtype=object)
        out["human_best"] = pd.array([r.get("human_best") for r in records], dtype="Int64")
        out["human_note"] = pd.Series([r.get("human_note") for r in records], index=out.index, dtype=object)
        out["reviewer"] = pd.Series([r.get("reviewer") for r in records], index=out.index, dtype=object)
        out["reviewed_at"] = pd.to_datetime(pd.Series([r.get("reviewed_at") for r in records], index=out.index,
                                                      dtype=object), utc=True)
        out["review_status"] = pd.Series([r.get("status") for r in records], index=out.index, dtype=object)
        return out
