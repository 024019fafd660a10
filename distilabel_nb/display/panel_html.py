"""HTML fragments of the run panel: header, data preview, prompt preview, live table, notes.

Pure functions from plain values to HTML strings; every value from a user, a dataset or a
model goes through :func:`~distilabel_nb.display.markup.escape`. The panel puts these
strings into ``ipywidgets.HTML`` widgets, and :func:`style` once, first. Its rules are in
``panel.css``, its colours the palette of ``cards.css`` (JupyterLab's theme variables), so
the panel follows the light and dark themes; ratings are the cards' rating badge.

Example:
    >>> note("warning", "A run is already going")
    '<div class="dnb-note dnb-warning"><div class="dnb-note-title">A run is already going</div></div>'
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from distilabel_nb.cells import duration, is_missing
from distilabel_nb.cells import plain as scalar_text
from distilabel_nb.display.html import stylesheet
from distilabel_nb.display.markup import escape, rating

#: Longest text shown in one table cell before it is cut (full text is in ``panel.result``).
CELL_CHARS = 160
#: Longest text of a cell in the Data tab's preview of the first rows.
PREVIEW_CHARS = 90


def style() -> str:
    """The panel's stylesheet as a ``<style>`` element (the palette, the rating badge, ``panel.css``)."""
    return f"<style>{stylesheet('panel.css')}</style>"


def shorten(text: str, limit: int = CELL_CHARS) -> str:
    """Cut ``text`` to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plain(value: Any) -> str:
    """A table cell as short text: lists joined with ``|``, dicts as JSON, a missing value as ``""``."""
    if isinstance(value, (list, tuple)):
        return " | ".join(plain(v) or "—" for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return scalar_text(value, missing="")


# -- header --

STATUS_LABELS = {
    "ready": "Ready",
    "running": "Running",
    "stopping": "Stopping…",
    "finished": "Finished",
    "cancelled": "Stopped",
    "failed": "Failed",
}


def status_pill(status: str, detail: str = "", run_number: int = 0, failed: int = 0) -> str:
    """The coloured status pill; ``data-status`` and ``data-run`` let tests wait on it.

    A finished run with ``failed`` rows says so, in amber (``data-failed``), not in green.
    """
    label = "Finished with failures" if status == "finished" and failed else STATUS_LABELS.get(status, status)
    text = f"{label} · {detail}" if detail else label
    failed_attr = f' data-failed="{int(failed)}"' if failed else ""
    return (
        f'<span class="dnb-status" data-status="{escape(status)}" data-run="{int(run_number)}"{failed_attr}>'
        f'<span class="dnb-dot"></span>{escape(text)}</span>'
    )


def header(flow: Sequence[tuple[str, str]], status_html: str) -> str:
    """Title, the data flow (``(label, detail)`` steps) and the status pill."""
    steps = '<span class="dnb-arrow">→</span>'.join(
        f"<b>{escape(label)}</b> {escape(detail)}" if detail else f"<b>{escape(label)}</b>" for label, detail in flow
    )
    return (
        '<div class="dnb-header"><div>'
        + '<div class="dnb-title">distilabel_nb<span class="dnb-sub">run panel</span></div>'
        + f'<div class="dnb-flow">{steps}</div></div>'
        + f"<div>{status_html}</div></div>"
    )


# -- notes --

def note(kind: str, title: str, detail: str = "") -> str:
    """A message box: ``kind`` is "info", "success", "warning" or "error"."""
    if not title and not detail:
        return ""
    body = f'<div class="dnb-note-title">{escape(title)}</div>' if title else ""
    if detail:
        body += f'<div class="dnb-note-detail">{escape(detail)}</div>'
    return f'<div class="dnb-note dnb-{escape(kind)}">{body}</div>'


def hint(text: str, code: Iterable[str] = ()) -> str:
    """A muted line of help; each ``{}`` in ``text`` takes the next ``code`` item as ``<code>``."""
    pieces = [f"<code>{escape(c)}</code>" for c in code]
    body = escape(text).format(*pieces) if pieces else escape(text)  # user text may hold braces
    return f'<div class="dnb-hint">{body}</div>'


def section_title(text: str) -> str:
    return f'<div class="dnb-section-title">{escape(text)}</div>'


# -- data --

def data_summary(frame: pd.DataFrame, origin: str, chips_limit: int = 12) -> str:
    """"10 rows · from the bundled sample" and the column names as chips (the first
    ``chips_limit``, then how many more)."""
    rows = len(frame)
    names = list(frame.columns)
    chips = "".join(f'<span class="dnb-chip">{escape(c)}</span>' for c in names[:chips_limit])
    if len(names) > chips_limit:
        chips += f'<span class="dnb-hint">+{len(names) - chips_limit} more</span>'
    return (
        f'<div class="dnb-chips"><span class="dnb-hint"><b>{rows:,}</b> row{"s" if rows != 1 else ""} · '
        f"{escape(origin)} · columns:</span>{chips}</div>"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[tuple[str, str]]], widths: Sequence[str] | None = None,
          css_class: str = "dnb-table") -> str:
    """A table from already-built cell HTML: each cell is ``(css class, inner html)``."""
    cols = ""
    if widths:
        cols = "<colgroup>" + "".join(f'<col style="width:{escape(w)}">' if w else "<col>" for w in widths) + "</colgroup>"
    head = "".join(
        f'<th class="dnb-num">{escape(h)}</th>' if h == "#" else f"<th>{escape(h)}</th>" for h in headers
    )
    body = "".join(
        "<tr>" + "".join(f'<td class="{escape(cls)}">{inner}</td>' if cls else f"<td>{inner}</td>" for cls, inner in row) + "</tr>"
        for row in rows
    )
    return f'<table class="{escape(css_class)}">{cols}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def data_head(frame: pd.DataFrame, rows: int = 5, columns: Sequence[str] | None = None,
              cell_chars: int = PREVIEW_CHARS) -> str:
    """The first rows of a dataset, numbered by their index labels, every cell escaped and cut.

    Args:
        frame: The dataset.
        rows: How many of its first rows.
        columns: The columns to show (default: all); the others are named under the table.
        cell_chars: Longest text of a cell.
    """
    if frame.empty:
        return '<div class="dnb-empty">This dataset has no rows.</div>'
    shown = list(frame.columns) if columns is None else [c for c in columns if c in frame.columns]
    head = frame.head(rows)
    body = []
    for label, record in head.iterrows():
        cells = [("dnb-num", escape(label))]
        for column in shown:
            text = plain(record[column])
            cells.append(("dnb-none", "—") if not text else ("", escape(shorten(text, cell_chars))))
        body.append(cells)
    notes = []
    more = len(frame) - len(head)
    if more > 0:
        notes.append(f"… and {more:,} more row{'s' if more != 1 else ''}")
    hidden = [str(c) for c in frame.columns if c not in shown]
    if hidden:
        listed = ", ".join(hidden[:6]) + (f" and {len(hidden) - 6} more" if len(hidden) > 6 else "")
        notes.append(f"{len(hidden)} more column{'s' if len(hidden) != 1 else ''} not shown: {listed}")
    footer = f'<div class="dnb-hint">{escape(" · ".join(notes))}</div>' if notes else ""
    return table(["#", *map(str, shown)], body, css_class="dnb-table dnb-data-head") + footer


# -- prompt preview --

def prompt_block(title: str, detail: str, prompt: Any) -> str:
    """One formatted prompt as it is sent: chat messages as role blocks, or one text."""
    if isinstance(prompt, list):
        messages = "".join(
            f'<div class="dnb-msg"><div class="dnb-role">{escape(m.get("role", "?"))}</div>'
            f'<pre class="dnb-text">{escape(m.get("content", ""))}</pre></div>'
            for m in prompt
            if isinstance(m, dict)
        )
    else:
        messages = f'<div class="dnb-msg"><div class="dnb-role">text</div><pre class="dnb-text">{escape(prompt)}</pre></div>'
    return (
        f'<div class="dnb-prompt"><div class="dnb-prompt-head"><b>{escape(title)}</b> · {escape(detail)}</div>'
        f"{messages}</div>"
    )


def prompt_error(title: str, message: str) -> str:
    return note("warning", f"{title}: no preview", message)


# -- live table --

def ratings_html(value: Any, scale: tuple[float, float] | None = None) -> str:
    """Ratings as the cards' rating badges (on ``scale``, ``(low, high)``, when known); anything else as text."""
    values = value if isinstance(value, (list, tuple)) else [value]
    if values and all(is_missing(v) or isinstance(v, (int, float)) for v in values):
        return "".join(rating(v, scale) for v in values)
    return escape(shorten(plain(value)))


def live_table(frame: pd.DataFrame, row_labels: Sequence[Any], columns: Sequence[tuple[str, str]],
               error_columns: Sequence[str], scales: Mapping[str, tuple[float, float]] | None = None) -> str:
    """The latest finished rows, newest first, numbered by ``row_labels`` (their labels in
    ``panel.result``'s index, which are the dataset's).

    ``columns`` are ``(name, kind)`` pairs, kind ``"text"``, ``"rating"`` (shown as rating
    badges, on the column's ``(low, high)`` from ``scales`` when it is known) or ``"answers"``
    (every answer of the row, each beside its model from ``generation_model``).
    """
    if not len(frame):
        return '<div class="dnb-empty">Finished rows appear here as they complete.</div>'
    headers = ["#", *(name for name, _ in columns), "error"]
    widths = ["40px"] + ["96px" if kind == "rating" else "" for _, kind in columns] + ["22%"]
    body = []
    for label, (_, record) in zip(row_labels, frame.iterrows()):
        cells = [("dnb-num", escape(label))]
        for name, kind in columns:
            value = record.get(name)
            if kind == "rating":
                cells.append(("", ratings_html(value, (scales or {}).get(name))))
                continue
            if kind == "answers":
                cells.append(("", answers_html(value, record.get("generation_model"))))
                continue
            if isinstance(value, (list, tuple)) and len(value) > 1:
                first = plain(value[0])
                more = f"  (+{len(value) - 1} more)"
                text = shorten(first, CELL_CHARS - len(more)) + more if first else ""  # the count is never cut
            else:
                text = plain(value[0] if isinstance(value, (list, tuple)) and value else value)
            cells.append(("dnb-none", "—") if not text else ("", escape(shorten(text))))
        errors = [plain(record.get(c)) for c in error_columns if not is_missing(record.get(c))]
        errors = [e for e in errors if e]
        cells.append(("dnb-err", escape(shorten("; ".join(errors), 200))) if errors else ("dnb-none", "—"))
        body.append(cells)
    return table(headers, body, widths, css_class="dnb-table dnb-live")


def answers_html(answers: Any, models: Any) -> str:
    """A row's answers, one line each, the model that wrote it first."""
    texts = list(answers) if isinstance(answers, (list, tuple)) else [answers]
    names = list(models) if isinstance(models, (list, tuple)) else []
    lines = []
    for position, text in enumerate(texts):
        model = plain(names[position]) if position < len(names) else ""
        shown = escape(shorten(plain(text), CELL_CHARS // 2)) if plain(text) else '<span class="dnb-none">—</span>'
        lines.append(f'<div class="dnb-answer"><span class="dnb-model">{escape(model)}</span> {shown}</div>')
    return "".join(lines) or '<span class="dnb-none">—</span>'


def generator_count(name: str, done: int, total: int, failed: int = 0, seconds: float | None = None) -> str:
    """:func:`count` beside one generator's bar, its model's name first (a run with several generators)."""
    return f'<span class="dnb-model">{escape(name)}</span> {count(done, total, failed, seconds)}'


def stats(items: Sequence[tuple[str, str, bool]]) -> str:
    """The stats line: ``(value, label, is_bad)`` items."""
    return '<div class="dnb-stats">' + "".join(
        f'<span class="{"dnb-bad" if bad else ""}"><b>{escape(value)}</b> {escape(label)}</span>' for value, label, bad in items
    ) + "</div>"


def count(done: int, total: int, failed: int = 0, seconds: float | None = None) -> str:
    """"3 / 4" beside a step's bar, then "· 1 failed" (amber) and, once the step is over, "· in 0:04"."""
    parts = [f"<b>{done:,}</b> / {total:,}"]
    if failed:
        parts.append(f'<span class="dnb-count-failed">{failed:,} failed</span>')
    if seconds is not None:
        parts.append(f"in {escape(duration(seconds, clock=True))}")
    return f'<span class="dnb-count">{" · ".join(parts)}</span>'
