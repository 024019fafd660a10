"""The pieces every card and widget fragment is built from, each value escaped once.

Rules kept by every builder here and by the modules that use them: text from users,
datasets and models goes through :func:`escape` (or a piece that calls it) exactly once;
the only markup is written in ``display/`` as literals; attribute values are escaped too;
the only inline style is a width computed from numbers. Class names carry the ``dnb-``
prefix (:func:`cls`) and are styled by the package's stylesheets (``*.css`` beside this
module), which take their colours from one palette in ``cards.css``.

Example:
    >>> badge("2 failed", "err")
    '<span class="dnb-badge dnb-tone-err">2 failed</span>'
    >>> rating(4, (1, 5)).split('"')[1:4]
    ['dnb-rating dnb-rating-high', ' title=', '4 on 1–5']
"""

from __future__ import annotations

import html as _html
import numbers
import re
from typing import Any, Iterable, Sequence

from distilabel_nb.cells import is_missing, number
from distilabel_nb.display.facts import dataclass_rows, is_messages

ROOT_CLASS = "dnb"


def escape(value: Any) -> str:
    """Escape any value for HTML text or attribute context."""
    return _html.escape(str(value), quote=True)


def cls(*names: str) -> str:
    """``dnb-`` class names: ``cls("card", "card-llm")`` is ``"dnb-card dnb-card-llm"``."""
    return " ".join(f"{ROOT_CLASS}-{n}" for n in names if n)


def span(text: Any, *classes: str, title: str | None = None) -> str:
    title_attr = f' title="{escape(title)}"' if title else ""
    return f'<span class="{cls(*classes)}"{title_attr}>{escape(text)}</span>'


def badge(text: Any, tone: str = "muted", title: str | None = None) -> str:
    """A small rounded label; ``tone`` is muted, accent, ok, err, warn or purple."""
    return span(text, "badge", f"tone-{tone}", title=title)


def muted(text: Any) -> str:
    return span(text, "muted")


def chips(names: Iterable[Any], empty: str = "none") -> str:
    items = [span(n, "chip") for n in names]
    return f'<span class="{cls("chips")}">{" ".join(items)}</span>' if items else muted(empty)


_SPECIAL_TOKENS = re.compile(
    r"<\|[A-Za-z_]+\|>|</?s>|\[/?INST\]|<</?SYS>>|<bos>|<eos>|<start_of_turn>|<end_of_turn>")
_JINJA_TAGS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def _marked(text: str, pattern: re.Pattern[str], css: str) -> str:
    """Escape ``text``, wrapping each match of ``pattern`` in a span (matches escaped too)."""
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(span(match.group(0), css))
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def pre(text: Any, highlight: str | None = None, tall: bool = False) -> str:
    """Preformatted text; ``highlight`` "tokens" marks chat-format tokens, "jinja" template tags."""
    text = str(text)
    if highlight == "tokens":
        inner = _marked(text, _SPECIAL_TOKENS, "tok")
    elif highlight == "jinja":
        inner = _marked(text, _JINJA_TAGS, "jinja")
    else:
        inner = escape(text)
    return f'<pre class="{cls("pre", "tall" if tall else "")}">{inner}</pre>'


def preview_line(text: str, chars: int = 140) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[:chars].rstrip() + "…"


#: The most characters of one text a card embeds: a 5 MB answer would make a 5 MB page.
EMBED_CHARS = 20_000


def folded_text(value: str, fold_chars: int = 400, fold_lines: int = 8) -> str:
    """Readable text that keeps line breaks; folded behind its first line when long, cut at :data:`EMBED_CHARS`."""
    if len(value) <= fold_chars and value.count("\n") < fold_lines:
        return f'<div class="{cls("text")}">{escape(value)}</div>'
    summary = f'{escape(preview_line(value))} {muted(f"({len(value):,} chars)")}'
    shown, note = value, ""
    if len(value) > EMBED_CHARS:
        shown = value[:EMBED_CHARS]
        note = muted(f"… the first {EMBED_CHARS:,} of {len(value):,} characters are shown; the whole text is in the DataFrame")
    return (f'<details class="{cls("fold", "fold-text")}"><summary>{summary}</summary>'
            f'<div class="{cls("text")}">{escape(shown)}</div>{note}</details>')


def details(summary_html: str, body: str, open_: bool = False, css: str = "fold") -> str:
    return f'<details class="{cls(css)}"{" open" if open_ else ""}><summary>{summary_html}</summary>{body}</details>'


def error_box(message: Any, label: str = "error") -> str:
    return (f'<div class="{cls("error")}" role="alert"><strong class="{cls("error-label")}">{escape(label)}</strong> '
            f'<span class="{cls("error-text")}">{escape(message)}</span></div>')


def grid(rows: Sequence[tuple[str, str]]) -> str:
    """A label/value grid; values are HTML already built from these pieces."""
    cells = "".join(f'<div class="{cls("label")}">{escape(label)}</div><div class="{cls("value")}">{value}</div>'
                    for label, value in rows)
    return f'<div class="{cls("facts")}">{cells}</div>'


def section(title: str, body: str, note: str | None = None) -> str:
    note_html = f" {span(note, 'note')}" if note else ""
    return (f'<div class="{cls("section")}"><div class="{cls("section-title")}">{escape(title)}{note_html}</div>'
            f"{body}</div>")


def card(kind: str, title: str, *, badges: Sequence[str] = (), sub: str = "", body: str = "", variant: str = "") -> str:
    """A card: kind and title, badges on the right, an optional sub line, the body."""
    sub_html = f'<div class="{cls("sub")}">{sub}</div>' if sub else ""
    return (f'<div class="{cls("card", f"card-{variant}" if variant else "")}">'
            f'<div class="{cls("head")}">{span(kind, "kind")} <strong class="{cls("title")}">{escape(title)}</strong> '
            f'<span class="{cls("badges")}">{" ".join(badges)}</span></div>'
            f'{sub_html}<div class="{cls("body")}">{body}</div></div>')


def bar(fraction: float, css: str = "fill") -> str:
    width = max(0.0, min(100.0, 100.0 * fraction))
    return f'<span class="{cls(css)}" style="width:{width:.1f}%"></span>'


def rating_tone(value: float, low: float, high: float) -> str:
    """'low', 'mid' or 'high' third of the scale."""
    share = 0.0 if high <= low else (value - low) / (high - low)
    return "low" if share < 1 / 3 else "mid" if share < 2 / 3 else "high"


def rating(value: Any, scale: tuple[float, float] | None) -> str:
    """The package's one rating badge: its value, coloured by its third of ``scale``, and a bar.

    ``?`` (dashed) for a rating that could not be read; without a known ``(low, high)``
    scale the badge is neutral and has no bar; a value that is no number shows as text.
    """
    if is_missing(value):
        return (f'<span class="{cls("rating", "rating-none")}" title="rating not read">'
                f'<span class="{cls("rating-value")}">?</span></span>')
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return span(value, "rating-text")
    shown = number(value if isinstance(value, int) else float(value))
    if scale is None:
        return f'<span class="{cls("rating")}" title="{escape(shown)}">{span(shown, "rating-value")}</span>'
    low, high = scale
    share = 0.0 if high <= low else (float(value) - low) / (high - low)
    title = f"{shown} on {number(low)}–{number(high)}"
    return (f'<span class="{cls("rating", "rating-" + rating_tone(float(value), low, high))}" title="{escape(title)}">'
            f'{span(shown, "rating-value")} '
            f'<span class="{cls("rating-bar")}">{bar(max(share, 0.04))}</span></span>')


def _role_class(role: Any) -> str:
    return role if role in ("system", "user", "assistant") else "other"


def messages(items: list[dict[str, Any]]) -> str:
    """Chat messages, each with its role."""
    out = "".join(
        f'<div class="{cls("msg")}">{span(m.get("role", "?"), "role", "role-" + _role_class(m.get("role")))}'
        f'{pre(m.get("content", ""))}</div>'
        for m in items)
    return f'<div class="{cls("msgs")}">{out}</div>'


def formatted(value: Any) -> str:
    """A prompt as sent: chat messages as a list, raw text with its format tokens marked."""
    if value is None:
        return muted("—")
    if is_messages(value):
        return messages(value)
    return pre(value, highlight="tokens")


def value(item: Any, rating_range: tuple[float, float] | None = None) -> str:
    """Any setting or parsed value: text, numbers, lists, dicts, lists of dataclasses.

    With ``rating_range``, numbers (and lists of them) show as rating badges on that scale.
    """
    if rating_range is not None and (is_missing(item) or isinstance(item, (int, float)) and not isinstance(item, bool)):
        return rating(item, rating_range)
    if is_missing(item):
        return muted("—")
    if isinstance(item, str):
        return folded_text(item) if item else muted("(empty)")
    if isinstance(item, (bool, int, float)):
        return span(number(item), "num")
    table = dataclass_rows(item)
    if table is not None:
        names, rows = table
        head = "".join(f"<th>{escape(n)}</th>" for n in names)
        body = "".join("<tr>" + "".join(f"<td>{value(v)}</td>" for v in row) + "</tr>" for row in rows)
        return f'<table class="{cls("mini")}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    if isinstance(item, (list, tuple)):
        if not item:
            return muted("(empty list)")
        if rating_range is not None:
            return f'<span class="{cls("ratings")}">{" ".join(value(v, rating_range) for v in item)}</span>'
        items = "".join(f"<li>{value(v)}</li>" for v in item)
        return f'<ol class="{cls("list")}">{items}</ol>'
    if isinstance(item, dict):
        return grid([(str(k), value(v)) for k, v in item.items()])
    return pre(repr(item))
