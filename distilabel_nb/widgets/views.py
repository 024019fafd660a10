"""HTML fragments of the run panel: header, data preview, prompt preview, live table, notes.

Pure functions from plain values to HTML strings; every value from a user, a dataset or a
model goes through :func:`distilabel_nb.display.html.escape`. The panel puts these strings
into ``ipywidgets.HTML`` widgets. Colours come from JupyterLab's CSS variables (with
fallbacks), so the panel follows the light and dark themes.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from distilabel_nb.cells import is_missing, number
from distilabel_nb.cells import plain as scalar_text
from distilabel_nb.display.html import escape

#: Longest text shown in one table cell before it is cut (full text is in ``panel.result``).
CELL_CHARS = 160

STYLE = """
<style>
.dnb-panel { --dnb-fg: var(--jp-ui-font-color1, #1f2328); --dnb-muted: var(--jp-ui-font-color2, #59636e);
  --dnb-faint: var(--jp-ui-font-color3, #8c959f); --dnb-bg: var(--jp-layout-color1, #fff);
  --dnb-bg2: var(--jp-layout-color2, #f6f8fa); --dnb-border: var(--jp-border-color2, #d0d7de);
  --dnb-accent: var(--jp-brand-color1, #1976d2); --dnb-ok: var(--jp-success-color1, #2e7d32);
  --dnb-warn: var(--jp-warn-color1, #e65100); --dnb-bad: var(--jp-error-color1, #d32f2f);
  border: 1px solid var(--dnb-border); border-radius: 8px; padding: 12px 16px 14px 16px;
  background: var(--dnb-bg); max-width: 1080px; color: var(--dnb-fg); }
.dnb-panel .dnb-header { display: flex; align-items: flex-start; justify-content: space-between; gap: 16px; }
.dnb-panel .dnb-title { font-size: 15px; font-weight: 600; line-height: 22px; }
.dnb-panel .dnb-title .dnb-sub { font-weight: 400; color: var(--dnb-muted); margin-left: 6px; }
.dnb-panel .dnb-flow { color: var(--dnb-muted); font-size: 12px; line-height: 18px; margin-top: 2px; }
.dnb-panel .dnb-flow b { color: var(--dnb-fg); font-weight: 600; }
.dnb-panel .dnb-flow .dnb-arrow { color: var(--dnb-faint); margin: 0 6px; }
.dnb-panel .dnb-status { display: inline-flex; align-items: center; gap: 6px; white-space: nowrap;
  padding: 2px 10px; border-radius: 12px; font-size: 12px; font-weight: 600; line-height: 20px;
  background: var(--dnb-bg2); color: var(--dnb-muted); border: 1px solid var(--dnb-border); }
.dnb-panel .dnb-status .dnb-dot { width: 8px; height: 8px; border-radius: 50%; background: currentColor; }
.dnb-panel .dnb-status[data-status="running"], .dnb-panel .dnb-status[data-status="stopping"] { color: var(--dnb-accent); }
.dnb-panel .dnb-status[data-status="running"] .dnb-dot { animation: dnb-pulse 1.2s ease-in-out infinite; }
.dnb-panel .dnb-status[data-status="finished"] { color: var(--dnb-ok); }
.dnb-panel .dnb-status[data-status="cancelled"], .dnb-panel .dnb-status[data-status="stopping"] { color: var(--dnb-warn); }
.dnb-panel .dnb-status[data-status="failed"] { color: var(--dnb-bad); }
@keyframes dnb-pulse { 0%, 100% { opacity: 1; } 50% { opacity: .25; } }
.dnb-panel .dnb-section-title { font-size: 11px; font-weight: 600; letter-spacing: .04em; text-transform: uppercase;
  color: var(--dnb-muted); margin: 10px 0 4px 0; }
.dnb-panel .dnb-hint { color: var(--dnb-muted); font-size: 12px; line-height: 18px; }
.dnb-panel .dnb-hint code, .dnb-panel .dnb-note code { font-size: 11.5px; background: var(--dnb-bg2); padding: 0 3px; border-radius: 3px; }
.dnb-panel .dnb-chips { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; font-size: 12px; }
.dnb-panel .dnb-chip { border: 1px solid var(--dnb-border); border-radius: 10px; padding: 0 8px; line-height: 18px;
  background: var(--dnb-bg2); font-family: var(--jp-code-font-family, monospace); font-size: 11.5px; }
.dnb-panel table.dnb-table { border-collapse: collapse; width: 100%; font-size: 12px; table-layout: fixed; margin-top: 4px; }
.dnb-panel table.dnb-table th { text-align: left; font-weight: 600; color: var(--dnb-muted); padding: 4px 8px;
  border-bottom: 1px solid var(--dnb-border); background: var(--dnb-bg2); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.dnb-panel table.dnb-table td { padding: 4px 8px; border-bottom: 1px solid var(--dnb-border); vertical-align: top;
  overflow-wrap: anywhere; white-space: pre-wrap; line-height: 17px; }
.dnb-panel table.dnb-table td.dnb-num, .dnb-panel table.dnb-table th.dnb-num { width: 36px; color: var(--dnb-faint); text-align: right; }
.dnb-panel table.dnb-table td.dnb-err { color: var(--dnb-bad); }
.dnb-panel table.dnb-table td.dnb-none { color: var(--dnb-faint); }
.dnb-panel .dnb-empty { color: var(--dnb-faint); font-size: 12px; padding: 10px 8px; border: 1px dashed var(--dnb-border);
  border-radius: 6px; text-align: center; margin-top: 4px; }
.dnb-panel .dnb-rating { display: inline-block; min-width: 18px; text-align: center; border-radius: 9px; padding: 0 6px;
  margin-right: 3px; font-weight: 600; background: var(--dnb-bg2); border: 1px solid var(--dnb-border); }
.dnb-panel .dnb-prompt { border: 1px solid var(--dnb-border); border-radius: 6px; margin: 4px 0 10px 0; overflow: hidden; }
.dnb-panel .dnb-prompt-head { background: var(--dnb-bg2); padding: 4px 10px; font-size: 12px; color: var(--dnb-muted);
  border-bottom: 1px solid var(--dnb-border); }
.dnb-panel .dnb-prompt-head b { color: var(--dnb-fg); }
.dnb-panel .dnb-msg { display: flex; gap: 10px; padding: 4px 10px 6px 10px; border-bottom: 1px dashed var(--dnb-border); }
.dnb-panel .dnb-msg:last-child { border-bottom: none; }
.dnb-panel .dnb-role { flex: 0 0 64px; font-size: 10.5px; font-weight: 700; letter-spacing: .05em; text-transform: uppercase;
  color: var(--dnb-accent); line-height: 17px; }
.dnb-panel .dnb-text { flex: 1; margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font-family: var(--jp-code-font-family, monospace);
  font-size: 12px; line-height: 17px; max-height: 260px; overflow-y: auto; }
.dnb-panel .dnb-note { border-radius: 6px; padding: 6px 10px; font-size: 12.5px; line-height: 18px; }
.dnb-panel .dnb-note.dnb-info { color: var(--dnb-muted); }
.dnb-panel .dnb-note.dnb-success { background: color-mix(in srgb, var(--dnb-ok) 10%, transparent); color: var(--dnb-fg);
  border-left: 3px solid var(--dnb-ok); }
.dnb-panel .dnb-note.dnb-warning { background: color-mix(in srgb, var(--dnb-warn) 10%, transparent); color: var(--dnb-fg);
  border-left: 3px solid var(--dnb-warn); }
.dnb-panel .dnb-note.dnb-error { background: color-mix(in srgb, var(--dnb-bad) 10%, transparent); color: var(--dnb-fg);
  border-left: 3px solid var(--dnb-bad); }
.dnb-panel .dnb-note .dnb-note-title { font-weight: 600; }
.dnb-panel .dnb-note .dnb-note-detail { white-space: pre-wrap; overflow-wrap: anywhere; margin-top: 2px; }
.dnb-panel .dnb-stats { display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 12px; color: var(--dnb-muted); margin: 4px 0 2px 0; }
.dnb-panel .dnb-stats b { color: var(--dnb-fg); font-weight: 600; font-variant-numeric: tabular-nums; }
.dnb-panel .dnb-stats .dnb-bad b, .dnb-panel .dnb-stats .dnb-bad { color: var(--dnb-bad); }
.dnb-panel .dnb-count { font-size: 12px; color: var(--dnb-muted); font-variant-numeric: tabular-nums; white-space: nowrap; }
.dnb-panel .dnb-count b { color: var(--dnb-fg); }
.dnb-panel .dnb-rule { border-top: 1px solid var(--dnb-border); margin: 12px 0 6px 0; }
.dnb-panel .widget-tab > .p-TabBar, .dnb-panel .widget-tab > .lm-TabBar { font-size: 12.5px; }
.dnb-panel .dnb-tabs { margin-top: 8px; }
.dnb-panel .dnb-tabs > .widget-tab-contents, .dnb-panel .dnb-tabs .widget-tab-contents { padding: 10px 12px; }
.dnb-panel .dnb-bar .progress { height: 14px; border-radius: 7px; }
.dnb-panel .dnb-bar .progress-bar { border-radius: 7px; transition: width .2s linear; }
.dnb-panel .dnb-hidden { display: none !important; }
</style>
"""


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


def status_pill(status: str, run_number: int = 0, detail: str = "") -> str:
    """The coloured status pill; ``data-status`` and ``data-run`` let tests wait on it."""
    label = STATUS_LABELS.get(status, status)
    text = f"{label} · {detail}" if detail else label
    return (
        f'<span class="dnb-status" data-status="{escape(status)}" data-run="{int(run_number)}">'
        f'<span class="dnb-dot"></span>{escape(text)}</span>'
    )


def header(flow: Sequence[tuple[str, str]], status_html: str) -> str:
    """Title, the data flow (``(label, detail)`` steps) and the status pill."""
    steps = '<span class="dnb-arrow">→</span>'.join(
        f"<b>{escape(label)}</b> {escape(detail)}" if detail else f"<b>{escape(label)}</b>" for label, detail in flow
    )
    return (
        STYLE
        + '<div class="dnb-header"><div>'
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

def data_summary(frame: pd.DataFrame, origin: str) -> str:
    """"10 rows · from the bundled sample" and the column names as chips."""
    rows = len(frame)
    chips = "".join(f'<span class="dnb-chip">{escape(c)}</span>' for c in frame.columns)
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


def data_head(frame: pd.DataFrame, rows: int = 5) -> str:
    """The first rows of a dataset, every cell escaped and cut."""
    if frame.empty:
        return '<div class="dnb-empty">This dataset has no rows.</div>'
    head = frame.head(rows)
    body = []
    for position, (_, record) in enumerate(head.iterrows()):
        cells = [("dnb-num", str(position + 1))]
        for column in head.columns:
            text = plain(record[column])
            cells.append(("dnb-none", "—") if not text else ("", escape(shorten(text, 120))))
        body.append(cells)
    more = len(frame) - len(head)
    footer = f'<div class="dnb-hint">… and {more:,} more row{"s" if more != 1 else ""}</div>' if more > 0 else ""
    return table(["#", *map(str, head.columns)], body) + footer


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
    """Ratings as small badges (titled "4 on 1–10" when the ``(low, high)`` scale is known); anything else as escaped text."""
    values = value if isinstance(value, (list, tuple)) else [value]
    on = f" on {number(scale[0])}–{number(scale[1])}" if scale is not None else ""
    if values and all(is_missing(v) or isinstance(v, (int, float)) for v in values):
        return "".join(
            f'<span class="dnb-rating" title="not read{escape(on)}">?</span>' if is_missing(v)
            else f'<span class="dnb-rating" title="{escape(number(v) + on)}">{escape(number(v))}</span>'
            for v in values
        )
    return escape(shorten(plain(value)))


def live_table(frame: pd.DataFrame, positions: Sequence[int], columns: Sequence[tuple[str, str]],
               error_columns: Sequence[str], scales: Mapping[str, tuple[float, float]] | None = None) -> str:
    """The latest finished rows (``positions``: their input positions, newest first).

    ``columns`` are ``(name, kind)`` pairs, kind ``"text"`` or ``"rating"`` (shown as badges,
    on the column's ``(low, high)`` from ``scales``).
    """
    if not len(frame):
        return '<div class="dnb-empty">Finished rows appear here as they complete.</div>'
    headers = ["#", *(name for name, _ in columns), "error"]
    widths = ["40px"] + ["96px" if kind == "rating" else "" for _, kind in columns] + ["22%"]
    body = []
    for position, (_, record) in zip(positions, frame.iterrows()):
        cells = [("dnb-num", str(position + 1))]
        for name, kind in columns:
            value = record.get(name)
            if kind == "rating":
                cells.append(("", ratings_html(value, (scales or {}).get(name))))
                continue
            if isinstance(value, (list, tuple)) and len(value) > 1:
                text = plain(value[0]) + f"  (+{len(value) - 1} more)"
            else:
                text = plain(value[0] if isinstance(value, (list, tuple)) and value else value)
            cells.append(("dnb-none", "—") if not text else ("", escape(shorten(text))))
        errors = [plain(record.get(c)) for c in error_columns if not is_missing(record.get(c))]
        errors = [e for e in errors if e]
        cells.append(("dnb-err", escape(shorten("; ".join(errors), 200))) if errors else ("dnb-none", "—"))
        body.append(cells)
    return table(headers, body, widths, css_class="dnb-table dnb-live")


def stats(items: Sequence[tuple[str, str, bool]]) -> str:
    """The stats line: ``(value, label, is_bad)`` items."""
    return '<div class="dnb-stats">' + "".join(
        f'<span class="{"dnb-bad" if bad else ""}"><b>{escape(value)}</b> {escape(label)}</span>' for value, label, bad in items
    ) + "</div>"


def count(done: int, total: int) -> str:
    return f'<span class="dnb-count"><b>{done:,}</b> / {total:,}</span>'
