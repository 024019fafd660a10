"""The card of a results page: answers beside their ratings, errors in red under their row.

Example:
    >>> import pandas as pd
    >>> from distilabel_nb.display.results import ResultsView
    >>> "2 rows" in render(ResultsView(pd.DataFrame({"input": ["a", "b"]})))
    True
"""

from __future__ import annotations

from typing import Any

from distilabel_nb.cells import is_missing, number
from distilabel_nb.display.cost_cards import frame_cost
from distilabel_nb.display.html import render
from distilabel_nb.display.markup import badge, card, cls, error_box, escape, folded_text, muted, rating, span, value
from distilabel_nb.display.results import Column, ResultsView


def _cell(view: ResultsView, row: Any, column: Column) -> str:
    item = view.cell(row, column.name)
    if column.kind == "error":
        return muted("—") if is_missing(item) else error_box(item)
    if column.kind == "rating":
        return value(item, view.scale_of(column.name))
    if column.kind == "generations":
        return _answers(view, row, column)
    if isinstance(item, str):
        return folded_text(item, view.fold_chars) if item else muted("(empty)")
    return value(item)


def _answers(view: ResultsView, row: Any, column: Column) -> str:
    answers = view.cell(row, column.name)
    if not isinstance(answers, (list, tuple)):
        return muted("—") if is_missing(answers) else folded_text(str(answers), view.fold_chars)
    aligned = {name: view.cell(row, name) for name in column.aligned}
    items = []
    for i, answer in enumerate(answers):
        head = [span(f"#{i + 1}", "answer-no")]
        notes = []
        for name, values in aligned.items():
            if not isinstance(values, (list, tuple)):
                continue  # not labelled: no badge rather than a "?"
            item = values[i] if i < len(values) else None
            if view.is_rating(name):
                head.append(rating(item, view.scale_of(name)))
            elif not is_missing(item):
                notes.append(f'<div class="{cls("answer-note")}">{span(name, "note-label")} '
                             f'{folded_text(str(item), view.fold_chars)}</div>')
        if view.was_cut(row, i):
            head.append(badge("cut at max_new_tokens", "warn", title="finish_reason 'length': the answer is not whole"))
        text = folded_text(answer, view.fold_chars) if isinstance(answer, str) and answer else muted("no answer")
        items.append(f'<li class="{cls("answer")}"><div class="{cls("answer-head")}">{" ".join(head)}</div>'
                     f'{text}{"".join(notes)}</li>')
    return f'<ol class="{cls("answers")}">{"".join(items)}</ol>' if items else muted("(no answers)")


@render.register(ResultsView)
def results_card(view: ResultsView) -> str:
    summary = view.summary()
    badges = []
    if summary.answers_per_row:
        badges.append(badge(f"{summary.answers_per_row} answer{'s' if summary.answers_per_row > 1 else ''} per row"))
    if summary.rating_mean is not None:
        low, high = view.scale_of(summary.rating_column)
        badges.append(badge(f"mean {summary.rating_column} {summary.rating_mean:.2f}", "accent",
                            title=f"over {summary.rating_count} ratings, on {number(low)}–{number(high)}"))
    if summary.ratings_unread:
        badges.append(badge(f"{summary.ratings_unread} ratings unread", "warn"))
    for name, count in summary.failures:
        badges.append(badge(f"{count} {name.replace('_', ' ')}{'s' if count != 1 else ''}", "err" if count else "ok"))
    sub = " · ".join(f"{escape(role)} {span(models, 'strong')}" for role, models in summary.models)
    cost = frame_cost(view.df)
    if cost is not None:
        sub = f"{sub} · {escape(cost)}" if sub else escape(cost)
    # Errors get a full-width line under their row; as columns they would be narrow and mostly empty.
    errors = [c for c in view.columns if c.kind == "error"]
    main = [c for c in view.columns if c.kind != "error"] or view.columns
    errors = [c for c in errors if c not in main]
    head = f'<th class="{cls("idx")}">#</th>' + "".join(
        f'<th class="{cls("col-" + c.kind)}">{escape(c.name)}</th>' for c in main)
    body_rows = []
    for label, row in view.rows().iterrows():
        cells = "".join(f'<td class="{cls("col-" + c.kind)}">{_cell(view, row, c)}</td>' for c in main)
        found = [(c.name, view.cell(row, c.name)) for c in errors if not is_missing(view.cell(row, c.name))]
        rowspan = ' rowspan="2"' if found else ""
        index = f'<th class="{cls("idx")}"{rowspan}>{escape(label)}</th>'
        if not found:
            body_rows.append(f"<tr>{index}{cells}</tr>")
            continue
        boxes = "".join(error_box(message, name) for name, message in found)
        body_rows.append(f'<tr class="{cls("row-error", "row-has-errors")}">{index}{cells}</tr>'
                         f'<tr class="{cls("row-error", "row-errors")}"><td colspan="{len(main)}">{boxes}</td></tr>')
    if not body_rows:
        body_rows.append(f'<tr><td colspan="{len(main) + 1}">{muted("no rows")}</td></tr>')
    table = (f'<div class="{cls("scroll")}"><table class="{cls("table")}"><thead><tr>{head}</tr></thead>'
             f'<tbody>{"".join(body_rows)}</tbody></table></div>')
    foot = [f"rows {number(view.first_row)}–{number(view.last_row)} of {number(len(view.df))}",
            f"page {view.page} of {view.pages}"]
    if view.page < view.pages:
        foot.append(f"next: show_results(df, page={view.page + 1})")
    foot_html = " · ".join(escape(part) for part in foot)
    if view.hidden:
        foot_html += f'<br>{muted("hidden: " + ", ".join(view.hidden) + " (columns=… to show)")}'
    return card("Results", f"{number(summary.rows)} row{'s' if summary.rows != 1 else ''}", badges=badges, sub=sub,
                body=table + f'<div class="{cls("foot")}">{foot_html}</div>', variant="results")
