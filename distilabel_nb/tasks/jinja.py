"""The jinja2 environments tasks render in, both sandboxed.

Packaged templates (``tasks/templates/*.jinja2``) are read and compiled once per
process; a user's template string (:meth:`~distilabel_nb.tasks.Task.from_template`)
is checked for names that reach Python internals before it is compiled. Both render
in jinja2's immutable sandbox, so a template cannot reach Python internals or change
the objects it is given.
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import PackageLoader, StrictUndefined, Template, nodes
from jinja2.runtime import new_context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

__all__ = ["PACKAGED", "SANDBOX_NAMES", "USER", "SecurityError", "packaged_source", "packaged_template", "reaches_internals", "render"]

_JINJA_OPTIONS = dict(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False)
# auto_reload=False: each packaged template is read and compiled once per process.
PACKAGED = ImmutableSandboxedEnvironment(
    loader=PackageLoader("distilabel_nb.tasks", "templates"), auto_reload=False, **_JINJA_OPTIONS
)
USER = ImmutableSandboxedEnvironment(**_JINJA_OPTIONS)
#: Names every template may use without declaring them (jinja2's globals: range, dict, ...).
SANDBOX_NAMES = frozenset(USER.globals)


@functools.lru_cache(maxsize=None)
def packaged_template(name: str) -> Template:
    """A packaged template, read and compiled once per process."""
    return PACKAGED.get_template(name)


def packaged_source(name: str) -> str:
    """The jinja2 source of a packaged template."""
    loader = PACKAGED.loader
    assert loader is not None
    return loader.get_source(PACKAGED, name)[0]


@functools.lru_cache(maxsize=512)
def _globals_of(template: Template) -> dict[str, Any]:
    """A template's globals as a plain dict, made once (jinja2 rebuilds it on every render)."""
    return dict(template.globals)


def render(template: Template, variables: dict[str, Any]) -> str:
    """``template.render(**variables)`` without the per-call copy of the globals.

    The context is built on one fresh dict (globals, then the variables over them, as
    ``render`` does); the sandbox is unchanged: it lives in the compiled code.

    Example:
        >>> render(USER.from_string("Hi {{ name }}"), {"name": "Ada"})
        'Hi Ada'
    """
    template_globals = _globals_of(template)
    context = new_context(template.environment, template.name, template.blocks, {**template_globals, **variables},
                          shared=True, globals=template_globals)
    return template.environment.concat(template.root_render_func(context))  # type: ignore[attr-defined]


def reaches_internals(ast: nodes.Template) -> str | None:
    """The first ``_private`` attribute or key a template names literally, if any.

    Example:
        >>> reaches_internals(USER.parse("{{ x.__class__ }}")), reaches_internals(USER.parse("{{ x.name }}"))
        ('__class__', None)
    """
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        if isinstance(node, nodes.Getattr):
            key = node.attr
        elif isinstance(node, nodes.Getitem):
            key = getattr(node.arg, "value", None)
        else:  # the attr filter: {{ x | attr('__class__') }}
            key = getattr(node.args[0], "value", None) if node.name == "attr" and node.args else None
        if isinstance(key, str) and key.startswith("_"):
            return key
    return None
