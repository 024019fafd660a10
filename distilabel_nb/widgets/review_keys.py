"""The review widget's keyboard shortcuts: a tiny anywidget that forwards key presses.

ipywidgets has no key events; :class:`ReviewKeys` is an ``anywidget.AnyWidget`` whose
front end (``display/review_keys.js``) listens on the review's root element and sends each
key it takes — a digit, Enter, the left or right arrow — to Python, where ``on_key(key)``
(:meth:`Review.press <distilabel_nb.widgets.review.Review.press>`) acts on it. It shows
nothing itself.

Example:
    >>> pressed = []
    >>> keys = ReviewKeys(pressed.append)
    >>> keys.press("3"); pressed
    ['3']
"""

from __future__ import annotations

from typing import Any, Callable

import anywidget

from distilabel_nb.display import review_html


class ReviewKeys(anywidget.AnyWidget):
    """Calls ``on_key(key)`` for each key the review takes in the browser."""

    _esm = review_html.keys_script()

    def __init__(self, on_key: Callable[[str], None], **kwargs: Any):
        super().__init__(**kwargs)
        self._on_key = on_key
        self.layout.display = "none"  # in the page (it finds the review from there), not seen
        self.on_msg(self._message)

    def _message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and isinstance(content.get("key"), str):
            self.press(content["key"])

    def press(self, key: str) -> None:
        """What a key press in the browser does."""
        self._on_key(key)
