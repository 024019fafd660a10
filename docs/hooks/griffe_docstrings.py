"""A griffe extension that lets the package's docstrings render well in the API reference.

The docstrings follow Google style with a singular ``Example:`` heading, and name other
objects with reST roles (``:class:`Prompt```). griffe reads ``Examples:`` as the section
whose ``>>>`` lines become code, and does not know reST roles; this extension rewrites
both, in memory, before the docstrings are parsed. The source is left untouched.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
_ROLE = re.compile(r":(?:class|func|meth|attr|data|mod|obj|exc):`~?([^`]+)`")


def _role_to_code(match: re.Match) -> str:
    target = match.group(1)
    if match.group(0).split("`", 1)[1].startswith("~"):
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


class DocstringStyle(griffe.Extension):
    """Rewrite ``Example:`` to ``Examples:`` and reST roles to inline code."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is None:
            return
        value = _EXAMPLE_HEADING.sub(r"\1Examples:", docstring.value)
        docstring.value = _ROLE.sub(_role_to_code, value)
