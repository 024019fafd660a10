"""A card as a notebook output: :func:`render` picks the card, :func:`to_html` adds the stylesheet.

``render(obj)`` dispatches on the object's type and returns a card fragment; each card
module registers its renderers beside them (``@render.register(Prompt)``), and importing
:mod:`distilabel_nb.display` imports every card module. :func:`to_html` wraps a fragment
with the stylesheet (``cards.css``); the core's ``_repr_html_`` and ``_repr_mimebundle_``
(:class:`~distilabel_nb.rich_repr.HTMLRepr`) call :func:`to_html` and :func:`mimebundle`.
Cards use plain structure (divs, tables, ``<details>``) so they stay readable where the
stylesheet is stripped.

Example:
    >>> from distilabel_nb import Prompt
    >>> to_html(Prompt("Be brief.", "Hi")).startswith('<div class="dnb mathjax_ignore"><style>')
    True
"""

from __future__ import annotations

import re
from functools import lru_cache, singledispatch
from importlib.resources import files
from typing import Any

from distilabel_nb.display.markup import ROOT_CLASS, badge, card, error_box, pre
from distilabel_nb.display.plaintext import describe


@lru_cache(maxsize=None)
def stylesheet(*names: str) -> str:
    """``cards.css`` (the palette and the cards), then the files ``names``; comments and indentation removed."""
    folder = files("distilabel_nb.display")
    css = "\n".join(folder.joinpath(name).read_text(encoding="utf-8") for name in ("cards.css", *names))
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    return re.sub(r"\s*\n\s*", "\n", css).strip()


@singledispatch
def render(obj: Any) -> str:
    """HTML card fragment for ``obj``; the fallback shows its plain repr, escaped."""
    return pre(repr(obj))


def to_html(obj: Any) -> str:
    """A complete, self-styled HTML snippet for ``obj`` (what ``_repr_html_`` returns).

    A renderer that fails shows its error and the object's text instead of breaking the
    notebook output.
    """
    try:
        body = render(obj)
    except Exception as exc:  # a preview must never break a cell's output
        body = card("Preview", type(obj).__name__, badges=[badge("preview failed", "err")],
                    body=error_box(f"{type(exc).__name__}: {exc}") + pre(_safe_text(obj)))
    # mathjax_ignore: JupyterLab typesets $…$ in HTML outputs; "$1.12 (95% $0.90 – $1.30)" is money, not maths
    return f'<div class="{ROOT_CLASS} mathjax_ignore"><style>{stylesheet()}</style>{body}</div>'


def mimebundle(obj: Any) -> dict[str, str]:
    """The HTML card and its text twin (what ``_repr_mimebundle_`` returns)."""
    return {"text/plain": _safe_text(obj), "text/html": to_html(obj)}


def _safe_text(obj: Any) -> str:
    try:
        return describe(obj)
    except Exception:
        return object.__repr__(obj)
