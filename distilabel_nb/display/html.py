"""All HTML of the package is built here, and every value is escaped.

``render(obj)`` dispatches on the object's type; objects' ``_repr_html_`` call it.
"""

from __future__ import annotations

import html as _html
from functools import singledispatch
from typing import Any


def escape(value: Any) -> str:
    """Escape any value for HTML text or attribute context."""
    return _html.escape(str(value), quote=True)


@singledispatch
def render(obj: Any) -> str:
    """HTML for ``obj``; the fallback shows its plain repr, escaped."""
    return f"<pre>{escape(repr(obj))}</pre>"


class HTMLRepr:
    """Mixin: ``_repr_html_`` through :func:`render`."""

    def _repr_html_(self) -> str:
        return render(self)
