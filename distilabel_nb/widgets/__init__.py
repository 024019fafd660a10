"""Notebook widgets: the run panel, live run progress and human review.

Names are imported on first use, and ipywidgets only when a widget is built (with an
install hint if it is missing).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Panel": "distilabel_nb.widgets.panel",
    "RunProgress": "distilabel_nb.widgets.progress",
    "follow": "distilabel_nb.widgets.progress",
    "Review": "distilabel_nb.widgets.review",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'distilabel_nb.widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
