"""HTML fragments of the review widget: its title, the instruction, each answer with the AI's rating, the status line.

Pure functions from plain values to HTML strings, every value escaped; the widget
(:mod:`distilabel_nb.widgets.review`) puts them into ``ipywidgets.HTML`` and :func:`style`
once, first. The rules are in ``review.css``, the colours the palette of ``cards.css``;
the AI's ratings are the cards' rating badge.

Example:
    >>> progress(1, 0, 3)
    '<span class="dnb-review-part dnb-review-progress"><b>1 / 3</b> reviewed</span>'
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from distilabel_nb.cells import is_missing
from distilabel_nb.display.html import stylesheet
from distilabel_nb.display.markup import escape, rating


def keys_script() -> str:
    """The front end of the keyboard shortcuts (``review_keys.js``, an anywidget ES module)."""
    return files("distilabel_nb.display").joinpath("review_keys.js").read_text(encoding="utf-8")


def keys_hint(low: str, high: str, mode: str) -> str:
    """The line that names the shortcuts (``low``/``high``: the keys of the scale's ends)."""
    action = "rate the marked answer" if mode == "rate" else "pick the best answer"
    return (f'<div class="dnb-review-part dnb-review-keys-hint">Keys, once you click the review: '
            f"<kbd>{escape(low)}</kbd>–<kbd>{escape(high)}</kbd>{' (0 is 10)' if high == '0' else ''} {action} · "
            "<kbd>Enter</kbd> next row · "
            f"<kbd>←</kbd> <kbd>→</kbd> move between rows</div>")


def style() -> str:
    """The widget's stylesheet as a ``<style>`` element (the palette, the rating badge, ``review.css``)."""
    return f"<style>{stylesheet('review.css')}</style>"


def header(position: int, total: int, label: str) -> str:
    """"Review · row 2 of 10 · index 7" (``position`` from 0; -1 for a frame without rows)."""
    return (f'<div class="dnb-review-part dnb-review-head">Review '
            f'<span class="dnb-review-head-sub">· row {escape(position + 1)} of {escape(total)} '
            f"· index {escape(label)}</span></div>")


def instruction(text: Any) -> str:
    return (f'<div class="dnb-review-part dnb-review-box dnb-review-instruction">'
            f'<div class="dnb-review-label">Instruction</div><div class="dnb-review-text">{escape(text)}</div></div>')


def generation(number: int, text: Any, ai: dict[str, Any] | None, scale: tuple[float, float] | None) -> str:
    """Answer ``number`` (from 1) and, when ``ai`` is given, the AI's rating on ``scale``, its model and rationale."""
    ai_html = ""
    if ai is not None:
        model = f' <span class="dnb-review-muted">({escape(ai["model"])})</span>' if ai.get("model") else ""
        rationale = ai.get("rationale")
        why = (f'<div class="dnb-review-rationale">{escape(rationale)}</div>'
               if not is_missing(rationale) and rationale else "")
        error = f'<div class="dnb-review-error">{escape(ai["error"])}</div>' if ai.get("error") else ""
        ai_html = f'<div class="dnb-review-ai">AI rating {rating(ai.get("rating"), scale)}{model}{why}{error}</div>'
    return (f'<div class="dnb-review-part dnb-review-box dnb-review-generation">'
            f'<div class="dnb-review-label">Answer {escape(number)}</div>'
            f'<div class="dnb-review-text">{escape(text)}</div>{ai_html}</div>')


def no_generations(error: Any) -> str:
    """The box of a row without generations (``error``: why, when known)."""
    reason = f" ({error})" if not is_missing(error) and error else ""
    return (f'<div class="dnb-review-part dnb-review-box dnb-review-error">This row has no generations'
            f"{escape(reason)}. Skip it.</div>")


def progress(reviewed: int, skipped: int, total: int) -> str:
    extra = f' <span class="dnb-review-muted">· {escape(skipped)} skipped</span>' if skipped else ""
    return (f'<span class="dnb-review-part dnb-review-progress"><b>{escape(reviewed)} / {escape(total)}</b> '
            f"reviewed{extra}</span>")


def status(message: str, path: Path, tone: str = "muted") -> str:
    """The message (``tone``: ok, warn or muted) and where every answer is saved."""
    return (f'<div class="dnb-review-part dnb-review-status">'
            f'<span class="dnb-review-message dnb-review-{escape(tone)}">{escape(message)}</span>'
            f'<br><span class="dnb-review-muted">Every answer is saved at once to </span>'
            f'<code class="dnb-review-path">{escape(path)}</code></div>')
