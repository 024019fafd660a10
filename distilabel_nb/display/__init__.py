"""Notebook display: every object shows itself as an HTML card, with a text twin.

Every HTML string of the package is built in ``html.py`` and every value in it is
escaped; ``text.py`` writes the same facts as plain text. Modules here import the core
lazily, because the core imports this package.
"""

from distilabel_nb.display.html import HTMLRepr, escape, render, to_html
from distilabel_nb.display.results import ResultsView, show_results
from distilabel_nb.display.text import describe
from distilabel_nb.display.views import PromptView, show_prompt

__all__ = ["HTMLRepr", "PromptView", "ResultsView", "describe", "escape", "render", "show_prompt", "show_results", "to_html"]
