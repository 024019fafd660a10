"""Human review of labelled rows, one row at a time, saved as you go.

``Review(df, save_to="review.jsonl")`` shows each row's instruction, its generations and the
AI's rating and rationale, and takes a person's own rating per generation (or their pick
of the best one) and a note. Every answer is appended to the JSONL file the moment it is
given; a new ``Review`` on the same DataFrame and file (after a kernel restart, say)
continues where the last one stopped. ``review.to_dataframe()`` returns the DataFrame
with the human columns added, ready for :func:`distilabel_nb.agreement.agreement`.

Example:
    >>> import pandas as pd, tempfile, os
    >>> df = pd.DataFrame({"input": ["2 + 2?"], "generations": [["4", "5"]], "rating": [[5, 1]]})
    >>> path = os.path.join(tempfile.mkdtemp(), "review.jsonl")
    >>> review = Review(df, save_to=path, reviewer="ana")
    >>> review.rating_inputs[0].value = 5
    >>> review.rating_inputs[1].value = 2
    >>> review.to_dataframe()[["human_rating", "reviewer", "review_status"]]
      human_rating reviewer review_status
    0       [5, 2]      ana      reviewed
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
from distilabel_nb.display.html import escape
from distilabel_nb.triage import ordered

#: Columns that :meth:`Review.to_dataframe` adds.
HUMAN_COLUMNS = ("human_rating", "human_best", "human_note", "reviewer", "reviewed_at", "review_status")
MODES = ("rate", "best")
STATUSES = ("reviewed", "partial", "skipped")


def _stack(gap: str, **layout: Any) -> Any:
    """A column layout with ``gap`` between children (a one-column CSS grid)."""
    return _ipywidgets().Layout(display="grid", grid_gap=gap, grid_template_columns="minmax(0, 1fr)", **layout)


def _ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError as exc:
        raise ImportError("Review is an ipywidgets widget; install it with: pip install ipywidgets") from exc
    return ipywidgets


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


def _scale(scale: Iterable[Any]) -> list[ScaleStep]:
    """Numbers, ``(value, label)`` pairs, or objects with ``value``/``label``/``description``
    (such as an UltraFeedback task's ``ratings``)."""
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


# -- HTML of one row --------------------------------------------------------------

_FONT = ("font-family: var(--jp-ui-font-family, system-ui, sans-serif); color: var(--jp-ui-font-color1, #1f2328); "
         "line-height: 1.5;")
_MUTED = "color: var(--jp-ui-font-color2, #59636e);"
_BOX = ("border: 1px solid var(--jp-border-color2, #d0d7de); border-radius: 8px; padding: 10px 12px; "
        "background: var(--jp-layout-color1, #fff);")
_TEXT = ("white-space: pre-wrap; word-break: break-word; max-height: 240px; overflow-y: auto; "
         "font-size: 13px; line-height: 1.45; margin-top: 4px;")


def _rating_badge(value: Any, low: float, high: float) -> str:
    if is_missing(value):
        return f'<span style="{_MUTED} font-weight: 600;">none</span>'
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f"<b>{escape(value)}</b>"
    share = 0.5 if high <= low else min(max((number - low) / (high - low), 0.0), 1.0)
    return (f'<span title="{escape(f"{number:g} on {low:g}–{high:g}")}" style="display: inline-block; min-width: 22px; '
            f'text-align: center; padding: 0 7px; line-height: 20px; '
            f'border-radius: 10px; color: #fff; font-weight: 600; background: hsl({120 * share:.0f}, 55%, 38%);">'
            f"{escape(f'{number:g}')}</span>")


#: Scoped to the widget: answer controls on one line, the chosen rating clearly marked.
_STYLE = """<style>
.dnb-review .dnb-review-rating, .dnb-review .dnb-review-best { display: flex; align-items: center; flex-wrap: wrap; }
.dnb-review .dnb-review-rating > .widget-label, .dnb-review .dnb-review-best > .widget-label {
  color: var(--jp-ui-font-color2, #59636e); font-size: 12px; }
.dnb-review .widget-toggle-button { min-width: 38px; border-radius: 4px; }
.dnb-review .widget-toggle-button.mod-active {
  background-color: var(--jp-brand-color1, #1976d2); color: #fff; box-shadow: none; font-weight: 600; }
</style>"""


def _header_html(position: int, total: int, label: Any) -> str:
    return (f'{_STYLE}<div style="{_FONT} font-size: 15px; font-weight: 600;">Review '
            f'<span style="font-weight: 400; {_MUTED}">· row {escape(position + 1)} of {escape(total)} '
            f"· index {escape(_plain(label))}</span></div>")


def _instruction_html(instruction: Any) -> str:
    return (f'<div class="dnb-review-instruction" style="{_FONT} {_BOX} border-left: 4px solid #4C72B0;">'
            f'<div style="{_MUTED} font-size: 11px; text-transform: uppercase; letter-spacing: .04em;">Instruction</div>'
            f'<div style="{_TEXT}">{escape(instruction)}</div></div>')


def _generation_html(number: int, text: Any, ai: dict[str, Any] | None, low: float, high: float) -> str:
    ai_html = ""
    if ai is not None:
        model = f' <span style="{_MUTED}">({escape(ai["model"])})</span>' if ai.get("model") else ""
        rationale = ai.get("rationale")
        why = (f'<div style="{_MUTED} font-style: italic; margin-top: 3px; white-space: pre-wrap;">{escape(rationale)}</div>'
               if not is_missing(rationale) and rationale else "")
        error = (f'<div style="color: #b42318; margin-top: 3px;">{escape(ai["error"])}</div>' if ai.get("error") else "")
        ai_html = (f'<div style="margin-top: 8px; padding-top: 6px; border-top: 1px dashed var(--jp-border-color2, #d0d7de); font-size: 12px;">'
                   f'AI rating {_rating_badge(ai.get("rating"), low, high)}{model}{why}{error}</div>')
    return (f'<div class="dnb-review-generation" style="{_FONT} {_BOX}">'
            f'<div style="{_MUTED} font-size: 11px; text-transform: uppercase; letter-spacing: .04em;">Answer {escape(number)}</div>'
            f'<div style="{_TEXT}">{escape(text)}</div>{ai_html}</div>')


def _progress_html(reviewed: int, skipped: int, total: int) -> str:
    extra = f' <span style="{_MUTED}">· {escape(skipped)} skipped</span>' if skipped else ""
    return f'<span class="dnb-review-progress" style="{_FONT} font-size: 13px;"><b>{escape(reviewed)} / {escape(total)}</b> reviewed{extra}</span>'


def _status_html(message: str, path: Path, tone: str = "muted") -> str:
    colour = {"ok": "#1a7f37", "warn": "#b35900", "muted": "var(--jp-ui-font-color2, #59636e)"}[tone]
    return (f'<div style="{_FONT} font-size: 12px;"><span class="dnb-review-message" style="color: {colour};">{escape(message)}</span>'
            f'<br><span style="{_MUTED}">Every answer is saved at once to </span>'
            f'<code class="dnb-review-path" style="font-size: 11px;">{escape(path)}</code></div>')


# -- the widget ---------------------------------------------------------------------

class Review:
    """Walk through labelled rows and record a person's ratings, saved as they are given.

    Args:
        df: Labelled rows, e.g. a pipeline's result: an instruction column and a list of
            generations per row; the AI's ``rating``/``rationale`` lists are shown when present.
        save_to: The JSONL file every answer is appended to (created if needed). Reopen the
            same DataFrame with the same file to continue; use one file per reviewer.
        reviewer: The reviewer's name, stored with each answer (editable in the widget).
        mode: ``"rate"``: a rating for every generation; ``"best"``: pick the best generation.
        scale: The ratings a reviewer can give, lowest first: numbers, ``(value, label)``
            pairs, or rating levels such as ``UltraFeedbackTask().ratings``. By default the
            whole numbers of the AI rating column's scale (the labeller's, from ``df.attrs``),
            else 1 to 5.
        show_ai: Show the AI's ratings and rationales; ``False`` for a blind review.
        instruction_column: The column with the instruction.
        generations_column: The column with the list of generations.
        rating_column: The column with the AI's ratings (shown when present). By default the
            result schema's score column (``score`` for critiques), else ``rating``.
        rationale_column: The column with the AI's rationales (shown when present).
        on_mismatch: When a saved answer belongs to a row whose instruction or generations
            have changed since: ``"raise"`` (default) or ``"ignore"`` (start those rows afresh;
            the old answers stay in the file).
        order: The order of the rows: as given (``None``), ``"doubtful"`` (ties and near-ties
            first), a position audit (its flipped rows first, then ties and near-ties; see
            :func:`distilabel_nb.triage.review_order`) or a list of index labels.
            :meth:`to_dataframe` keeps that order.

    Raises:
        ValueError: for missing columns, a duplicated index, a bad mode or scale.
        ReviewFileMismatch: when ``save_to`` holds answers for rows that now read differently.

    Attributes (the controls, for scripting and tests): ``reviewer_input``,
    ``rating_inputs`` (one per generation, ``mode="rate"``), ``best_input`` (``mode="best"``),
    ``note_input``, ``back_button``, ``skip_button``, ``next_button``, ``progress``, ``widget``.
    """

    def __init__(self, df: pd.DataFrame, save_to: str | os.PathLike[str] = "review.jsonl", *,
                 reviewer: str = "", mode: str = "rate", scale: Iterable[Any] | None = None,
                 show_ai: bool = True, instruction_column: str = "input",
                 generations_column: str = "generations", rating_column: str | None = None,
                 rationale_column: str = "rationale", on_mismatch: str = "raise", order: Any = None):
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"Review takes a pandas DataFrame, not {type(df).__name__}.")
        missing = [c for c in (instruction_column, generations_column) if c not in df.columns]
        if missing:
            raise ValueError(f"the DataFrame has no column(s) {missing}; available columns: "
                             f"{[str(c) for c in df.columns]}. Pass instruction_column=/generations_column= to name yours.")
        if not df.index.is_unique:
            raise ValueError("the DataFrame's index has repeated labels, so answers cannot be matched to rows; "
                             "use df.reset_index(drop=True) (and keep that index for later sessions).")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, not {mode!r}.")
        if on_mismatch not in ("raise", "ignore"):
            raise ValueError(f"on_mismatch must be 'raise' or 'ignore', not {on_mismatch!r}.")
        self.mode = mode
        found = schema.of(df)
        rating_column = rating_column or found.score_column or "rating"
        self.df = ordered(df, order, column=rating_column)
        ai_scale = found.scale(rating_column)
        #: The AI ratings' ``(low, high)``, for their badges.
        self.ai_range = ai_scale.bounds if ai_scale is not None else None
        if scale is None:
            scale = _steps(ai_scale) or (1, 2, 3, 4, 5)
        self.scale = _scale(scale)
        self.show_ai = show_ai
        self.columns = {"instruction": instruction_column, "generations": generations_column,
                        "rating": rating_column, "rationale": rationale_column}
        self.file = ReviewFile(save_to)
        self._ids = [row_id(label) for label in self.df.index]
        self._prints = [fingerprint(self.df[instruction_column].iat[i], self._generations(i)) for i in range(len(self.df))]
        self._answers: dict[int, dict[str, Any]] = {}
        self._loading = False
        self.position = 0
        self._resume(on_mismatch)
        self._build(reviewer)
        self.go_to(self._first_open_position())

    # -- data --
    @property
    def path(self) -> Path:
        """Where the answers are saved."""
        return self.file.path

    def _generations(self, position: int) -> list[Any]:
        return as_list(self.df[self.columns["generations"]].iat[position])

    def _cell(self, column_key: str, position: int) -> Any:
        column = self.columns.get(column_key, column_key)
        return self.df[column].iat[position] if column in self.df.columns else None

    def _ai(self, position: int, generation: int) -> dict[str, Any] | None:
        if not self.show_ai or self.columns["rating"] not in self.df.columns:
            return None
        ratings = as_list(self._cell("rating", position))
        rationales = as_list(self._cell("rationale", position))
        error = self._cell("labelling_error", position)
        model = self._cell("labelling_model", position)
        return {"rating": ratings[generation] if generation < len(ratings) else None,
                "rationale": rationales[generation] if generation < len(rationales) else None,
                "error": f"labelling_error: {error}" if not ratings and not is_missing(error) and error else None,
                "model": None if is_missing(model) else model}

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
        self._not_in_df = len(saved)
        if changed and on_mismatch == "raise":
            examples = "; ".join(
                f"row {_plain(self.df.index[p])}: answered for {record.get('instruction', '?')!r}, "
                f"now {_preview(self._cell('instruction', p))!r}" for p, record in changed[:3])
            raise ReviewFileMismatch(
                f"{self.path} was made for a different DataFrame: {len(changed)} answered row(s) now hold a "
                f"different instruction or different generations ({examples}). Use a new save_to file for this "
                "DataFrame, restore the original DataFrame (and its index), or pass on_mismatch='ignore' to start "
                "those rows afresh (the old answers stay in the file).")
        self._changed = len(changed)

    def _status_of(self, position: int) -> str | None:
        record = self._answers.get(position)
        return record.get("status") if record else None

    def counts(self) -> dict[str, int]:
        """How many rows are ``reviewed``, ``skipped``, ``partial`` (begun) and in ``total``."""
        statuses = [self._status_of(p) for p in range(len(self.df))]
        return {"reviewed": statuses.count("reviewed"), "skipped": statuses.count("skipped"),
                "partial": statuses.count("partial"), "total": len(self.df)}

    def _first_open_position(self) -> int:
        statuses = [self._status_of(p) for p in range(len(self.df))]
        for wanted in ((None, "partial"), ("skipped",)):
            for position, status in enumerate(statuses):
                if status in wanted:
                    return position
        return 0

    # -- widgets --
    def _build(self, reviewer: str) -> None:
        w = _ipywidgets()
        self.title = w.HTML()
        self.title.add_class("dnb-review-title")
        self.progress = w.IntProgress(min=0, max=max(len(self.df), 1), value=0, bar_style="success",
                                      layout=w.Layout(width="220px"))
        self.progress_text = w.HTML(layout=w.Layout(margin="0 0 0 8px"))
        self.reviewer_input = w.Text(value=reviewer, description="Reviewer", placeholder="your name",
                                     layout=w.Layout(width="280px"), continuous_update=False)
        self.reviewer_input.add_class("dnb-review-reviewer")
        self.instruction_view = w.HTML()
        self.generations_box = w.VBox(layout=_stack("12px"))
        self.rating_inputs: list[Any] = []
        self.best_input: Any = None
        self.note_input = w.Textarea(placeholder="Note on this row (optional): why, doubts, problems…",
                                     continuous_update=False, layout=w.Layout(width="100%", height="56px"))
        self.note_input.add_class("dnb-review-note")
        self.note_input.observe(self._on_answer, names="value")
        self.back_button = w.Button(description="Back", icon="arrow-left", tooltip="Previous row",
                                    layout=w.Layout(width="100px"))
        self.skip_button = w.Button(description="Skip", icon="forward", tooltip="Skip this row for now",
                                    layout=w.Layout(width="100px"))
        self.next_button = w.Button(description="Next", icon="arrow-right", button_style="primary",
                                    tooltip="Next row (rate every answer first)", layout=w.Layout(width="100px"))
        for button, name in ((self.back_button, "back"), (self.skip_button, "skip"), (self.next_button, "next")):
            button.add_class(f"dnb-review-{name}")
        self.back_button.on_click(lambda _: self.back())
        self.skip_button.on_click(lambda _: self.skip())
        self.next_button.on_click(lambda _: self.next())
        self.status = w.HTML()
        top = w.HBox([self.title, w.HBox([self.progress, self.progress_text], layout=w.Layout(align_items="center"))],
                     layout=w.Layout(justify_content="space-between", align_items="center", width="100%"))
        buttons = w.HBox([self.back_button, self.skip_button, self.next_button])
        self.widget = w.VBox(
            [top, self.reviewer_input, self.instruction_view, self.generations_box, self.note_input, buttons, self.status],
            layout=_stack("10px", max_width="920px", padding="12px 14px",
                          border="1px solid var(--jp-border-color2, #d0d7de)"))
        self.widget.add_class("dnb-review")

    def _row_widgets(self, position: int) -> list[Any]:
        w = _ipywidgets()
        for old in self.rating_inputs + ([self.best_input] if self.best_input is not None else []):
            old.close()
        self.rating_inputs, self.best_input = [], None
        generations = self._generations(position)
        low, high = self.ai_range or (self.scale[0].value, self.scale[-1].value)
        children: list[Any] = []
        for number, text in enumerate(generations):
            card = w.HTML(_generation_html(number + 1, text, self._ai(position, number), low, high))
            if self.mode == "rate":
                toggle = w.ToggleButtons(options=[(s.button_text, s.value) for s in self.scale], value=None,
                                         tooltips=[s.tooltip for s in self.scale], description="Your rating",
                                         style={"button_width": "auto", "description_width": "80px"})
                toggle.add_class("dnb-review-rating")
                toggle.observe(self._on_answer, names="value")
                self.rating_inputs.append(toggle)
                children.append(w.VBox([card, toggle], layout=_stack("4px")))
            else:
                children.append(card)
        if not generations:
            error = self._cell("generation_error", position)
            reason = f" ({error})" if not is_missing(error) and error else ""
            children.append(w.HTML(f'<div style="{_FONT} {_BOX} color: #b42318;">This row has no generations'
                                   f"{escape(reason)}. Skip it.</div>"))
        elif self.mode == "best":
            self.best_input = w.ToggleButtons(options=[(f"Answer {i + 1}", i) for i in range(len(generations))],
                                              value=None, description="Best answer",
                                              style={"button_width": "auto", "description_width": "80px"})
            self.best_input.add_class("dnb-review-best")
            self.best_input.observe(self._on_answer, names="value")
            children.append(self.best_input)
        return children

    # -- navigation --
    def go_to(self, position: int) -> None:
        """Show the row at ``position`` (0-based, in DataFrame order)."""
        if not len(self.df):
            self.title.value = _header_html(-1, 0, "—")
            self._refresh("The DataFrame has no rows to review.", "warn")
            return
        if not 0 <= position < len(self.df):
            raise IndexError(f"position {position} is outside 0-{len(self.df) - 1}.")
        self.position = position
        self._loading = True
        try:
            self.title.value = _header_html(position, len(self.df), self.df.index[position])
            self.instruction_view.value = _instruction_html(self._cell("instruction", position))
            self.generations_box.children = self._row_widgets(position)
            record = self._answers.get(position, {})
            for toggle, value in zip(self.rating_inputs, record.get("human_rating") or []):
                toggle.value = value
            if self.best_input is not None and record.get("human_best") is not None:
                self.best_input.value = record["human_best"]
            self.note_input.value = record.get("human_note") or ""
        finally:
            self._loading = False
        self._refresh(*self._opening_message(position))

    def _opening_message(self, position: int) -> tuple[str, str]:
        notes = []
        if self.file.unreadable_lines:
            notes.append(f"{len(self.file.unreadable_lines)} unreadable line(s) in the file were ignored "
                         f"(line {', '.join(map(str, self.file.unreadable_lines[:5]))})")
        if self._changed:
            notes.append(f"{self._changed} saved answer(s) were for rows that have changed since and were not used")
        if self._not_in_df:
            notes.append(f"the file also holds answers for {self._not_in_df} row(s) not in this DataFrame")
        if notes:
            return "; ".join(notes) + ".", "warn"
        status = self._status_of(position)
        earlier = {"reviewed": "You reviewed this row earlier; change anything and it is saved again.",
                   "partial": "You began this row earlier.", "skipped": "You skipped this row earlier."}
        first = "Pick the best answer, then Next." if self.mode == "best" else "Rate every answer, then Next."
        return earlier.get(status or "", first), "muted"

    def next(self) -> None:
        """Go to the next row (the current one must be complete; otherwise use :meth:`skip`)."""
        if not self._complete():
            self._refresh("Rate every answer first, or Skip this row.", "warn")
            return
        if self.position + 1 < len(self.df):
            self.go_to(self.position + 1)
        else:
            self._refresh(self._done_message(), "ok")

    def back(self) -> None:
        """Go to the previous row."""
        if self.position > 0:
            self.go_to(self.position - 1)

    def skip(self) -> None:
        """Mark the current row skipped (keeping any answers given) and go to the next one."""
        if not len(self.df):
            return
        if not self._complete():
            self._save(skipped=True)
        if self.position + 1 < len(self.df):
            self.go_to(self.position + 1)
        else:
            self._refresh(self._done_message(), "ok")

    def _done_message(self) -> str:
        counts = self.counts()
        left = counts["total"] - counts["reviewed"]
        if not left:
            return f"All {counts['total']} rows reviewed."
        return (f"That was the last row. {left} row(s) not reviewed yet "
                f"({counts['skipped']} skipped); Back to return to them.")

    # -- answers --
    def _complete(self) -> bool:
        if self.mode == "best":
            return self.best_input is not None and self.best_input.value is not None
        return bool(self.rating_inputs) and all(t.value is not None for t in self.rating_inputs)

    def _on_answer(self, change: dict[str, Any]) -> None:
        if self._loading:
            return
        self._save()
        what = "Note saved" if change.get("owner") is self.note_input else "Saved"
        if self._complete():
            self._refresh(f"{what}.", "ok")
        else:
            todo = "pick the best answer" if self.mode == "best" else "rate the other answers too"
            self._refresh(f"{what}; {todo}.", "muted")

    def _save(self, skipped: bool = False) -> None:
        position = self.position
        previous = self._answers.get(position, {})
        if self._complete():
            status = "reviewed"
        elif skipped or previous.get("status") == "skipped":
            status = "skipped"
        else:
            status = "partial"
        ratings = [t.value for t in self.rating_inputs] if self.mode == "rate" else None
        record = {
            "row": self._ids[position],
            "fingerprint": self._prints[position],
            "instruction": _preview(self._cell("instruction", position)),
            "status": status,
            "mode": self.mode,
            "human_rating": ratings,
            "human_best": self.best_input.value if self.best_input is not None else None,
            "human_note": self.note_input.value.strip() or None,
            "reviewer": self.reviewer_input.value.strip() or None,
            "reviewed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        self.file.append(record)
        self._answers[position] = record

    def _refresh(self, message: str, tone: str = "muted") -> None:
        counts = self.counts()
        self.progress.value = counts["reviewed"]
        self.progress_text.value = _progress_html(counts["reviewed"], counts["skipped"], counts["total"])
        at_end = not len(self.df) or self.position + 1 >= len(self.df)
        self.back_button.disabled = not len(self.df) or self.position == 0
        self.next_button.disabled = not self._complete()
        self.skip_button.disabled = not len(self.df) or (at_end and self._status_of(self.position) == "skipped")
        self.status.value = _status_html(message, self.path, tone)

    # -- results --
    def to_dataframe(self) -> pd.DataFrame:
        """A copy of the DataFrame with the human columns added.

        ``human_rating`` (a list aligned with the generations, ``None`` for an unrated one),
        ``human_best`` (0-based position of the best generation, ``mode="best"``),
        ``human_note``, ``reviewer``, ``reviewed_at`` (UTC time of the row's last answer)
        and ``review_status`` (``reviewed``, ``partial``, ``skipped``, or ``None`` if never
        opened). Rows without an answer hold missing values.
        """
        out = self.df.copy()
        records = [self._answers.get(p, {}) for p in range(len(self.df))]
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

    @property
    def result(self) -> pd.DataFrame:
        """Same as :meth:`to_dataframe`."""
        return self.to_dataframe()

    # -- display --
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        counts = self.counts()
        return (f"Review({counts['reviewed']} / {counts['total']} reviewed, {counts['skipped']} skipped; "
                f"saving to {self.path})")
