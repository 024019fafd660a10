"""The card of an :class:`~distilabel_nb.agreement.Agreement`: its numbers as tiles, the confusion table.

Example:
    >>> import pandas as pd
    >>> from distilabel_nb.agreement import agreement
    >>> result = agreement(pd.DataFrame({"ai": [1, 2, 3], "person": [1, 2, 2]}), "ai", "person")
    >>> "Confusion" in render(result)
    True
"""

from __future__ import annotations

from distilabel_nb.agreement import Agreement, label_text
from distilabel_nb.display.html import render
from distilabel_nb.display.markup import cls, escape, span
from distilabel_nb.display.readable import plural


def _confusion_table(result: Agreement) -> str:
    """Counts with ``a``'s ratings as rows; a cell is shaded by its share of the largest count."""
    matrix = result.confusion.to_numpy()
    peak = max(int(matrix.max(initial=0)), 1)
    head = "".join(f"<th>{escape(label_text(v))}</th>" for v in result.labels)
    body = []
    for i, label in enumerate(result.labels):
        cells = []
        for j in range(len(result.labels)):
            count = int(matrix[i, j])
            shade = f' style="background: rgba(31, 119, 180, {0.08 + 0.72 * count / peak:.2f})"' if count else ""
            diagonal = f' class="{cls("diagonal")}"' if i == j else ""
            cells.append(f"<td{diagonal}{shade}>{escape(count if count else '·')}</td>")
        body.append(f'<tr><th>{escape(label_text(label))}</th>{"".join(cells)}</tr>')
    corner = (f'<th class="{cls("muted")}" title="rows: {escape(result.a)}; columns: {escape(result.b)}">'
              f"{escape(result.a)} ↓ / {escape(result.b)} →</th>")
    return f'<table class="{cls("confusion")}"><tr>{corner}{head}</tr>{"".join(body)}</table>'


def _tile(name: str, number: str, note: str) -> str:
    note_html = span(note, "tile-note") if note else f'<span class="{cls("tile-note")}">&nbsp;</span>'
    return f'<div class="{cls("tile")}">{span(name, "tile-name")}{span(number, "tile-value")}{note_html}</div>'


@render.register(Agreement)
def agreement_card(result: Agreement) -> str:
    """The HTML card of an :class:`Agreement`; every value is escaped."""
    groups = "".join(
        f'<div class="{cls("metric-group")}">{span(group, "metric-group-name")}'
        f'<div class="{cls("tiles")}">{"".join(_tile(*metric) for metric in metrics)}</div></div>'
        for group, metrics in result.metric_groups())
    scale = ", ".join(label_text(v) for v in result.labels) or "—"
    dropped = span(result.dropped_text(), "warn-text" if result.n_dropped else "muted")
    return (
        f'<div class="{cls("agreement")}">'
        f'<div class="{cls("agreement-title")}">Agreement: {escape(result.a)} {span("vs", "muted")} {escape(result.b)}</div>'
        f'<div class="{cls("agreement-sub")}">{escape(plural(result.n, "pair"))} from '
        f'{escape(plural(result.n_rows, "row"))} · {dropped}</div>'
        f"<div>{groups}</div>"
        f'<div class="{cls("agreement-heading")}">Confusion</div>'
        f'<div class="{cls("scroll")}">{_confusion_table(result)}</div>'
        f'<div class="{cls("agreement-foot")}">Scale: {escape(scale)} · κ weights use positions on this scale · '
        f"kappa words after Landis &amp; Koch · <code>.plot()</code> draws the distributions.</div>"
        f"</div>"
    )
