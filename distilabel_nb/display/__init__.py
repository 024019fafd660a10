"""Notebook display: every object shows itself as an HTML card, with a text twin; the widgets' HTML.

All the package's markup and CSS is written in this package, and every value in it is
escaped (:func:`escape`, through the pieces of ``markup.py``). Colours come from one
palette of CSS variables in ``cards.css``; one rating badge (``markup.rating``) serves the
cards, the run panel and the review widget.

- ``html.py``: :func:`render` (one renderer per type) and :func:`to_html` (a card with its
  stylesheet); ``plaintext.py``: :func:`describe`, the same facts as text.
- ``cards.py``, ``run_cards.py``, ``results_card.py``, ``agreement_card.py``: the cards,
  each registered for its type beside its renderer; ``text.py``: their text twins.
- ``cost_cards.py``: the forecast's card and text, and the cost part of the run and results cards.
- ``facts.py``, ``run_facts.py``, ``readable.py``: what the cards show, as plain data and text.
- ``panel_html.py`` and ``review_html.py`` (with ``panel.css`` and ``review.css``): the
  fragments the run panel and the review widget put into their ``ipywidgets.HTML``.

The core imports none of this: its objects' ``_repr_html_`` comes from
:class:`~distilabel_nb.rich_repr.HTMLRepr`, which imports this package when it is called.
Modules here import the core at their top.
"""

from distilabel_nb.display import (  # noqa: F401  (register)
    agreement_card, audit_cards, cards, cost_cards, results_card, run_cards, text, win_rate_cards,
)
from distilabel_nb.display.html import mimebundle, render, to_html
from distilabel_nb.display.markup import escape
from distilabel_nb.display.plaintext import describe
from distilabel_nb.display.results import ResultsView, show_results
from distilabel_nb.display.views import PromptView, show_prompt

__all__ = ["PromptView", "ResultsView", "describe", "escape", "mimebundle", "render", "show_prompt", "show_results",
           "to_html"]
