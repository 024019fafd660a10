"""The Task base class: how a model is asked (a jinja2 template) and how its answer is read.

A task declares the input columns it needs and the output columns it produces.
``generate_prompt`` renders the template into a :class:`~distilabel_nb.prompt.Prompt`;
``parse_output`` reads the model's text back into a dict of output columns, and raises
:class:`OutputParseError` (carrying whatever it could read) when something is missing.

Templates render in jinja2's sandbox, so a template cannot reach Python internals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from jinja2 import PackageLoader, StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from distilabel_nb.display.html import HTMLRepr
from distilabel_nb.prompt import Prompt

TaskKind = Literal["generator", "labeller"]

_JINJA_OPTIONS = dict(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False)
# auto_reload=False: each packaged template is read and compiled once per process.
_PACKAGED = ImmutableSandboxedEnvironment(
    loader=PackageLoader("distilabel_nb.tasks", "templates"), auto_reload=False, **_JINJA_OPTIONS
)
_USER = ImmutableSandboxedEnvironment(**_JINJA_OPTIONS)


class OutputParseError(ValueError):
    """A model's answer could not be read completely.

    Attributes:
        partial: The output columns that could be read (missing ones are ``None``).
    """

    def __init__(self, message: str, partial: dict[str, Any] | None = None):
        super().__init__(message)
        self.partial = partial


def missing_value(value: Any) -> bool:
    """True for ``None`` and NaN (how pandas marks an empty cell)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass
class Task(HTMLRepr):
    """Base class for every task.

    Subclasses set ``kind``, ``template_name`` (a file in ``tasks/templates``),
    ``input_args_names`` and ``output_args_names``, and implement :meth:`parse_output`.
    Dataclass fields of the subclass are available to its template.

    Args:
        system_prompt: The system prompt sent with every request.
    """

    system_prompt: str = ""

    kind: ClassVar[TaskKind] = "generator"
    template_name: ClassVar[str] = ""
    input_args_names: ClassVar[list[str]] = []
    output_args_names: ClassVar[list[str]] = []

    @property
    def name(self) -> str:
        return type(self).__name__

    def _template(self):
        return _PACKAGED.get_template(self.template_name)

    def template_source(self) -> str:
        """The jinja2 source this task renders (for previews)."""
        loader = _PACKAGED.loader
        assert loader is not None
        return loader.get_source(_PACKAGED, self.template_name)[0]

    def template_variables(self) -> dict[str, Any]:
        """Values besides the inputs that the template may use (the task's own fields)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def bind_inputs(self, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Match positional and keyword inputs to ``input_args_names``.

        Raises:
            ValueError: on a missing, unknown or empty input.
        """
        names = self.input_args_names
        if len(args) > len(names):
            raise ValueError(f"{self.name} takes {len(names)} inputs ({', '.join(names)}), got {len(args)} positional values")
        inputs = dict(zip(names, args))
        for key, value in kwargs.items():
            if key in inputs:
                raise ValueError(f"{self.name}: input {key!r} given both by position and by keyword")
            inputs[key] = value
        missing = [n for n in names if n not in inputs]
        if missing:
            raise ValueError(f"{self.name} needs the inputs {names}; missing: {missing}")
        empty = [n for n in names if missing_value(inputs[n])]
        if empty:
            raise ValueError(f"{self.name}: input {', '.join(map(repr, empty))} is empty (None/NaN); fill or drop those rows")
        return {n: inputs[n] for n in names}

    def generate_prompt(self, *args: Any, **kwargs: Any) -> Prompt:
        """Render the prompt for one row.

        Inputs go by keyword, or by position in ``input_args_names`` order.

        Example:
            >>> TextGenerationTask(system_prompt="").generate_prompt("Say hi").formatted_prompt
            'Say hi'
        """
        inputs = self.bind_inputs(args, kwargs)
        try:
            text = self._template().render(**self.template_variables(), **inputs)
        except (UndefinedError, TemplateError) as exc:
            raise ValueError(f"{self.name}: its template failed to render: {exc}") from exc
        return Prompt(system_prompt=self.system_prompt, formatted_prompt=text.strip())

    def parse_output(self, text: str) -> dict[str, Any]:
        """Read the model's answer into the output columns.

        Raises:
            OutputParseError: when part of the answer cannot be read.
        """
        raise NotImplementedError

    def response_schema(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """A JSON schema the answer must follow, or ``None`` for free text.

        Backends that support it constrain decoding to the schema (llama.cpp grammars,
        OpenAI's ``response_format``); the task's parser still validates the answer.
        """
        return None

    def parse_output_for(self, text: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Parse an answer knowing the row's inputs (e.g. how many texts were rated).

        Defaults to :meth:`parse_output`; labellers override it to check alignment.
        """
        return self.parse_output(text)
