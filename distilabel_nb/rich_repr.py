"""How core objects show themselves in a notebook, without the core importing the display.

The core's objects (prompts, tasks, LLMs, runs, pipelines, results) inherit
:class:`HTMLRepr`; its methods import :mod:`distilabel_nb.display` only when a front asks
for a rich output, so ``import distilabel_nb`` and the core modules never load the
display code, and the display is free to import the core at its top.

Example:
    >>> from distilabel_nb import Prompt
    >>> "Prompt" in Prompt("Be brief.", "Hi")._repr_html_()
    True
"""

from __future__ import annotations

from typing import Any


class HTMLRepr:
    """Mixin: an HTML card in notebooks, and its text twin where HTML is not shown.

    ``_repr_mimebundle_`` sends both the card and the same facts as plain text
    (:func:`distilabel_nb.display.describe`), so a front that cannot show HTML (a
    terminal console, a text export) still shows them.
    """

    def _repr_html_(self) -> str:
        from distilabel_nb import display

        return display.to_html(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from distilabel_nb import display

        return display.mimebundle(self)
