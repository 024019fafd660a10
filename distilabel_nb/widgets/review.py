"""Human review of labelled rows, one row at a time, saved as you go.

``Review(df, save_to="review.jsonl")`` shows each row's instruction, its generations and the
AI's rating and rationale, and takes a person's own rating per generation (or their pick
of the best one) and a note. Every answer is appended to the JSONL file the moment it is
given (:class:`~distilabel_nb.review_store.ReviewStore`); a new ``Review`` on the same
DataFrame and file (after a kernel restart, say) continues where the last one stopped.
``review.to_dataframe()`` returns the DataFrame with the human columns added, ready for
:func:`distilabel_nb.agreement.agreement`. This module only wires the ipywidgets; the HTML
is :mod:`distilabel_nb.display.review_html`'s.

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

import os
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from distilabel_nb.display import review_html
from distilabel_nb.review_store import (  # noqa: F401  (HUMAN_COLUMNS, ReviewFileMismatch: this module's names too)
    HUMAN_COLUMNS, MODES, ReviewFileMismatch, ReviewStore, label_text,
)


def _ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError as exc:
        raise ImportError("Review is an ipywidgets widget; install it with: pip install ipywidgets") from exc
    return ipywidgets


def _stack(gap: str, **layout: Any) -> Any:
    """A column layout with ``gap`` between children (a one-column CSS grid)."""
    return _ipywidgets().Layout(display="grid", grid_gap=gap, grid_template_columns="minmax(0, 1fr)", **layout)


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
    ``note_input``, ``back_button``, ``skip_button``, ``next_button``, ``progress``, ``widget``;
    ``keys``: the keyboard shortcuts (:class:`~distilabel_nb.widgets.review_keys.ReviewKeys`;
    :meth:`press` does what a key does), ``active``: the answer a digit rates;
    ``store``: the rows and the answers (:class:`~distilabel_nb.review_store.ReviewStore`).
    """

    def __init__(self, df: pd.DataFrame, save_to: str | os.PathLike[str] = "review.jsonl", *,
                 reviewer: str = "", mode: str = "rate", scale: Iterable[Any] | None = None,
                 show_ai: bool = True, instruction_column: str = "input",
                 generations_column: str = "generations", rating_column: str | None = None,
                 rationale_column: str = "rationale", on_mismatch: str = "raise", order: Any = None):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, not {mode!r}.")
        columns = {"instruction": instruction_column, "generations": generations_column,
                   "rating": rating_column, "rationale": rationale_column}
        self.store = ReviewStore(df, save_to, columns=columns, scale=scale, on_mismatch=on_mismatch, order=order)
        self.df, self.scale = self.store.df, self.store.scale
        self.mode = mode
        self.show_ai = show_ai
        self._loading = False
        self.position = 0
        self.active = 0  # the answer a digit key rates
        self._answer_boxes: list[Any] = []
        self._build(reviewer)
        self.go_to(self.store.first_open_position())

    # -- data --
    @property
    def path(self) -> Path:
        """Where the answers are saved."""
        return self.store.path

    def counts(self) -> dict[str, int]:
        """How many rows are ``reviewed``, ``skipped``, ``partial`` (begun) and in ``total``."""
        return self.store.counts()

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
        from distilabel_nb.widgets.review_keys import ReviewKeys  # anywidget, loaded with ipywidgets

        self.keys = ReviewKeys(self.press)
        low, high = self._key_range()
        self.keys_hint = w.HTML(review_html.keys_hint(low, high, self.mode))
        top = w.HBox([self.title, w.HBox([self.progress, self.progress_text], layout=w.Layout(align_items="center"))],
                     layout=w.Layout(justify_content="space-between", align_items="center", width="100%"))
        buttons = w.HBox([self.back_button, self.skip_button, self.next_button])
        style = w.HTML(review_html.style())
        style.add_class("dnb-hidden")  # its CSS applies though it is not shown
        self.widget = w.VBox(
            [style, top, self.reviewer_input, self.instruction_view, self.generations_box, self.note_input, buttons,
             self.keys_hint, self.status, self.keys],
            layout=_stack("10px"))
        self.widget.add_class("dnb-review")

    def _row_widgets(self, position: int) -> list[Any]:
        w = _ipywidgets()
        for old in self.rating_inputs + ([self.best_input] if self.best_input is not None else []):
            old.close()
        self.rating_inputs, self.best_input, self._answer_boxes = [], None, []
        generations = self.store.generations(position)
        low, high = self.store.ai_range or (self.scale[0].value, self.scale[-1].value)
        children: list[Any] = []
        for number, text in enumerate(generations):
            ai = self.store.ai(position, number) if self.show_ai else None
            card = w.HTML(review_html.generation(number + 1, text, ai, (low, high)))
            if self.mode == "rate":
                toggle = w.ToggleButtons(options=[(s.button_text, s.value) for s in self.scale], value=None,
                                         tooltips=[s.tooltip for s in self.scale], description="Your rating",
                                         style={"button_width": "auto", "description_width": "80px"})
                toggle.add_class("dnb-review-rating")
                toggle.observe(self._on_answer, names="value")
                self.rating_inputs.append(toggle)
                self._answer_boxes.append(w.VBox([card, toggle], layout=_stack("4px")))
                children.append(self._answer_boxes[-1])
            else:
                children.append(card)
        if not generations:
            children.append(w.HTML(review_html.no_generations(self.store.cell("generation_error", position))))
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
            self.title.value = review_html.header(-1, 0, "—")
            self._refresh("The DataFrame has no rows to review.", "warn")
            return
        if not 0 <= position < len(self.df):
            raise IndexError(f"position {position} is outside 0-{len(self.df) - 1}.")
        self.position = position
        self._loading = True
        try:
            self.title.value = review_html.header(position, len(self.df), label_text(self.df.index[position]))
            self.instruction_view.value = review_html.instruction(self.store.cell("instruction", position))
            self.generations_box.children = self._row_widgets(position)
            record = self.store.answer(position)
            for toggle, value in zip(self.rating_inputs, record.get("human_rating") or []):
                toggle.value = value
            if self.best_input is not None and record.get("human_best") is not None:
                self.best_input.value = record["human_best"]
            self.note_input.value = record.get("human_note") or ""
        finally:
            self._loading = False
        unrated = [i for i, toggle in enumerate(self.rating_inputs) if toggle.value is None]
        self._mark(unrated[0] if unrated else 0)
        self._refresh(*self._opening_message(position))

    def _opening_message(self, position: int) -> tuple[str, str]:
        notes = self.store.opening_notes()
        if notes:
            return "; ".join(notes) + ".", "warn"
        status = self.store.status(position)
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

    def forward(self) -> None:
        """Go to the next row without answering this one (answers given so far are saved)."""
        if self.position + 1 < len(self.df):
            self.go_to(self.position + 1)
        elif len(self.df):
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

    # -- keys --
    def press(self, key: str) -> None:
        """Do what a key does in the browser (the keyboard shortcuts, :mod:`.review_keys`).

        A digit rates the marked answer (``mode="rate"``; ``0`` is 10 on a scale without 0)
        and marks the next one without a rating, or picks that answer as the best
        (``mode="best"``); ``"Enter"`` is :meth:`next`; ``"ArrowLeft"`` is :meth:`back`,
        ``"ArrowRight"`` :meth:`forward`.
        """
        if key == "Enter":
            self.next()
        elif key == "ArrowLeft":
            self.back()
        elif key == "ArrowRight":
            self.forward()
        elif len(key) == 1 and key.isdigit() and len(self.df):
            self._digit(int(key))

    def _digit(self, digit: int) -> None:
        if self.mode == "best":
            number = 10 if digit == 0 else digit
            if self.best_input is not None and number <= len(self.best_input.options):
                self.best_input.value = number - 1
            elif self.best_input is not None:
                count = len(self.best_input.options)
                self._refresh(f"This row has {count} answer{'s' if count != 1 else ''}: press 1–{min(count, 9)}.", "warn")
            return
        if not self.rating_inputs:
            return
        values = [step.value for step in self.scale]
        wanted = next((v for v in values if v in ((digit, 10) if digit == 0 else (digit,))), None)
        if wanted is None and all(float(v).is_integer() for v in values):
            low, high = self._key_range()
            self._refresh(f"{digit} is not on the scale: press {low}–{high}.", "warn")
            return
        if wanted is None:  # a scale of other numbers: the digit picks the n-th step
            number = 10 if digit == 0 else digit
            if not number <= len(values):
                return
            wanted = values[number - 1]
        self.rating_inputs[self.active].value = wanted

    def _key_range(self) -> tuple[str, str]:
        """The keys of the lowest and the highest rating (or answer, ``mode="best"``)."""
        values = [step.value for step in self.scale]
        if self.mode == "best":  # a digit picks an answer: up to the most answers a row has
            most = max((len(self.store.generations(p)) for p in range(len(self.df))), default=1)
            return "1", str(min(max(most, 1), 9))
        if all(float(v).is_integer() and 0 <= v <= 10 for v in values):
            return tuple("0" if v == 10 else f"{v:g}" for v in (values[0], values[-1]))  # type: ignore[return-value]
        return "1", str(min(len(values), 9))

    def _mark(self, number: int) -> None:
        """Mark answer ``number`` (from 0) as the one a digit rates."""
        self.active = number
        for i, box in enumerate(self._answer_boxes):
            (box.add_class if i == number else box.remove_class)("dnb-review-active")

    def _on_answer(self, change: dict[str, Any]) -> None:
        if self._loading:
            return
        if change.get("owner") in self.rating_inputs:  # mark the next answer without a rating
            number = self.rating_inputs.index(change["owner"])
            unrated = [i for i, toggle in enumerate(self.rating_inputs) if toggle.value is None]
            self._mark(next((i for i in unrated if i > number), unrated[0] if unrated else number))
        self._save()
        what = "Note saved" if change.get("owner") is self.note_input else "Saved"
        if self._complete():
            self._refresh(f"{what}.", "ok")
        else:
            todo = "pick the best answer" if self.mode == "best" else "rate the other answers too"
            self._refresh(f"{what}; {todo}.", "muted")

    def _save(self, skipped: bool = False) -> None:
        self.store.save(self.position, complete=self._complete(), skipped=skipped, mode=self.mode,
                        rating=[t.value for t in self.rating_inputs] if self.mode == "rate" else None,
                        best=self.best_input.value if self.best_input is not None else None,
                        note=self.note_input.value, reviewer=self.reviewer_input.value)

    def _refresh(self, message: str, tone: str = "muted") -> None:
        counts = self.counts()
        self.progress.value = counts["reviewed"]
        self.progress_text.value = review_html.progress(counts["reviewed"], counts["skipped"], counts["total"])
        at_end = not len(self.df) or self.position + 1 >= len(self.df)
        self.back_button.disabled = not len(self.df) or self.position == 0
        self.next_button.disabled = not self._complete()
        self.skip_button.disabled = not len(self.df) or (at_end and self.store.status(self.position) == "skipped")
        self.status.value = review_html.status(message, self.path, tone)

    # -- results --
    def to_dataframe(self) -> pd.DataFrame:
        """A copy of the DataFrame with the human columns added (:meth:`ReviewStore.to_dataframe`)."""
        return self.store.to_dataframe()

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
