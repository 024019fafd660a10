"""The Task base class: how a model is asked (a jinja2 template) and how its answer is read.

A task declares the input columns it needs and the output columns it produces.
``generate_prompt`` renders the template into a :class:`~distilabel_nb.prompt.Prompt`;
``parse_output`` reads the model's text back into a dict of output columns, and raises
:class:`OutputParseError` (carrying whatever it could read) when something is missing.
A labeller names its score column and declares its :class:`~distilabel_nb.schema.Scale`.

The pieces a task is made of live beside it: the sandboxed jinja2 environments in
:mod:`~distilabel_nb.tasks.jinja`, structured output (a pydantic model for the answer)
in :mod:`~distilabel_nb.tasks.structured`, and a task for one notebook cell
(:meth:`Task.from_template`) in :mod:`~distilabel_nb.tasks.custom`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Literal, Sequence

from jinja2 import TemplateError, UndefinedError
from pydantic import BaseModel

from distilabel_nb.cells import is_blank
from distilabel_nb.rich_repr import HTMLRepr
from distilabel_nb.prompt import Prompt
from distilabel_nb.schema import Scale
from distilabel_nb.tasks import jinja
from distilabel_nb.tasks.jinja import SecurityError
from distilabel_nb.tasks.parsing import OutputParseError
from distilabel_nb.tasks.settings import check_keywords
from distilabel_nb.tasks.structured import read_structured, strict_json_schema, validate_answer

if TYPE_CHECKING:
    from distilabel_nb.tasks.custom import TemplateTask

__all__ = ["OutputParseError", "SecurityError", "Task", "TaskKind", "TemplateTask", "read_structured",
           "strict_json_schema", "validate_answer"]

TaskKind = Literal["generator", "labeller"]


def __getattr__(name: str) -> Any:
    # ``from distilabel_nb.tasks.base import TemplateTask`` keeps working; the class lives in tasks.custom.
    if name == "TemplateTask":
        from distilabel_nb.tasks.custom import TemplateTask

        return TemplateTask
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    #: A pydantic model the answer must follow (structured output), or ``None`` for free text.
    output_model: ClassVar[type[BaseModel] | None] = None
    #: For labellers: the output column holding one number per rated text (for rankings
    #: and preference pairs), or ``None``.
    score_column: ClassVar[str | None] = None

    def __new__(cls, *args: Any, **kwargs: Any) -> "Task":
        # A misspelt keyword names the close matches, before the dataclass's own bare TypeError.
        check_keywords(cls, kwargs)
        return super().__new__(cls)

    def with_backend(self, can_constrain_output: bool) -> "Task":
        """The task as an LLM runs it: ``structured="auto"`` made ``True`` or ``False``.

        An LLM calls this on construction with its backend's
        :attr:`~distilabel_nb.llms.base.LLM.can_constrain_output`, so a labeller whose
        ``structured`` is ``"auto"`` (the default where a task has the setting) asks for
        schema-constrained JSON where the backend can enforce it, and for free text
        elsewhere. A task without the setting, or with it set, is returned as it is.

        Example:
            >>> UltraFeedbackTask().with_backend(True).structured
            True
        """
        if getattr(self, "structured", None) == "auto":
            return dataclasses.replace(self, structured=bool(can_constrain_output))  # type: ignore[call-arg]
        return self

    @property
    def scale(self) -> Scale | None:
        """The scale of :attr:`score_column`, which every labeller declares (``None`` for generators).

        Example:
            >>> str(JudgeLMTask().scale), JudgeLMTask().scale.whole
            ('1–10', False)
        """
        return None

    @property
    def name(self) -> str:
        return type(self).__name__

    def _template(self):
        return jinja.packaged_template(self.template_name)

    def template_source(self) -> str:
        """The jinja2 source this task renders (for previews)."""
        return jinja.packaged_source(self.template_name)

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
        empty = [n for n in names if is_blank(inputs[n])]
        if empty:
            raise ValueError(f"{self.name}: input {', '.join(map(repr, empty))} is empty (None/NaN or blank); fill or drop those rows")
        for name in self.text_input_names():
            value = inputs[name]
            if not isinstance(value, str):
                shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
                raise ValueError(
                    f"{self.name}: input {name!r} must be a text, got {type(value).__name__} {shown}; "
                    f"map a text column to it, or convert this one with df[{name!r}].astype(str)"
                )
        return {n: inputs[n] for n in names}

    @property
    def needs_whole_answer(self) -> bool:
        """Whether the answer is read as a whole (a labeller's ratings, a JSON answer): one cut at
        ``max_new_tokens`` is then a parse error. A generator's free text cut short is kept as it is.
        """
        return self.kind == "labeller" or self.output_model is not None or getattr(self, "structured", False) is True

    def text_input_names(self) -> list[str]:
        """The inputs that must each be one text (all of them, unless a subclass says otherwise)."""
        return list(self.input_args_names)

    def generate_prompt(self, *args: Any, **kwargs: Any) -> Prompt:
        """Render the prompt for one row.

        Inputs go by keyword, or by position in ``input_args_names`` order.

        Example:
            >>> TextGenerationTask(system_prompt="").generate_prompt("Say hi").formatted_prompt
            'Say hi'
        """
        inputs = self.bind_inputs(args, kwargs)
        return Prompt(system_prompt=self.system_prompt, formatted_prompt=self.render(inputs))

    def render(self, inputs: dict[str, Any]) -> str:
        """Render the template with the task's fields and one row's ``inputs``.

        Raises:
            ValueError: when the template fails, or reaches for Python internals.
        """
        try:
            text = jinja.render(self._template(), {**self.template_variables(), **inputs})
        except SecurityError as exc:
            raise ValueError(
                f"{self.name}: the sandbox stopped its template: templates may not reach Python "
                f"internals or change objects ({exc})"
            ) from exc
        except (UndefinedError, TemplateError) as exc:
            if isinstance(exc, UndefinedError) and "attribute '_" in str(exc):
                # A blocked '_' attribute came back undefined, and the next step tripped on it.
                raise ValueError(
                    f"{self.name}: the sandbox stopped its template: templates may not reach Python internals ({exc})"
                ) from SecurityError(str(exc))
            raise ValueError(f"{self.name}: its template failed to render: {exc}") from exc
        return text.strip()

    def parse_output(self, text: str) -> dict[str, Any]:
        """Read the model's answer into the output columns.

        The base implementation reads a JSON answer against :attr:`output_model`.

        Raises:
            OutputParseError: when part of the answer cannot be read.
        """
        if self.output_model is None:
            raise NotImplementedError(f"{self.name} must implement parse_output (or declare an output_model)")
        return self.columns_from_answer(read_structured(text, self.output_model, self.output_args_names), {})

    def response_model(self, inputs: dict[str, Any]) -> type[BaseModel] | None:
        """The pydantic model the answer for these inputs must follow, or ``None``.

        Defaults to :attr:`output_model`; a task overrides it when the shape depends
        on the row (e.g. one rating per generation).
        """
        return self.output_model

    def response_schema(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """A JSON schema the answer must follow, or ``None`` for free text.

        Backends that support it constrain decoding to the schema (llama.cpp grammars,
        OpenAI's ``response_format``); the task's parser still validates the answer.
        """
        model = self.response_model(inputs)
        return None if model is None else strict_json_schema(model)

    def columns_from_answer(self, answer: BaseModel, inputs: dict[str, Any]) -> dict[str, Any]:
        """Turn a validated structured answer into output columns (default: its fields)."""
        return answer.model_dump()

    def parse_output_for(self, text: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Parse an answer knowing the row's inputs (e.g. how many texts were rated).

        With a :meth:`response_model` the answer is read as JSON and validated against
        it; otherwise this is :meth:`parse_output`. Labellers override it to check
        alignment with the row's generations.
        """
        model = self.response_model(inputs)
        if model is not None:
            return self.columns_from_answer(read_structured(text, model, self.output_args_names), inputs)
        return self.parse_output(text)

    @classmethod
    def from_template(
        cls,
        template: str,
        *,
        inputs: Sequence[str],
        outputs: Sequence[str] | None = None,
        parse: Callable[[str], Any] | None = None,
        system_prompt: str = "",
        kind: TaskKind = "generator",
        name: str = "CustomTask",
        output_model: type[BaseModel] | None = None,
        score_column: str | None = None,
        scale: tuple[float, float] | Scale | None = None,
        **variables: Any,
    ) -> "TemplateTask":
        """A task from a template string, for a notebook cell.

        The template renders in jinja2's sandbox: it sees the row's ``inputs`` and the
        extra ``variables``, and cannot reach Python internals.

        Args:
            template: jinja2 source of the user prompt, e.g. ``"Summarize: {{ text }}"``.
            inputs: The dataset columns the template uses.
            outputs: The output columns. Defaults to ``output_model``'s fields, or
                ``["generations"]``.
            parse: ``text -> dict`` of outputs (a bare value is fine with one output).
                It may raise :class:`OutputParseError`; any other exception it raises
                becomes one. Without it, one output receives the stripped answer.
            system_prompt: The system prompt.
            kind: ``"generator"`` or ``"labeller"``.
            name: The task's name in reprs and the output.
            output_model: A pydantic model for structured output: backends constrain
                decoding to its JSON schema, and the answer (or ``parse``'s result) is
                validated against it.
            score_column: For a labeller: the output holding its scores (a number, or a
                list of numbers aligned with the rated texts).
            scale: The scores' range, ``(low, high)``: whole numbers when both ends are
                ``int`` (the scores are then read as ``int``), or a
                :class:`~distilabel_nb.schema.Scale`. Given with ``score_column``.
            **variables: Fixed values the template may use besides the inputs.

        Raises:
            ValueError: on a template syntax error, a variable that is neither an
                input nor given, access to Python internals, or outputs that need a
                ``parse`` function.

        Example:
            >>> task = Task.from_template("Translate to {{ language }}: {{ text }}", inputs=["text"], language="French")
            >>> task.generate_prompt("Good morning").formatted_prompt
            'Translate to French: Good morning'
            >>> task.parse_output(" Bonjour ")
            {'generations': 'Bonjour'}
        """
        from distilabel_nb.tasks.custom import template_task  # custom tasks subclass Task

        return template_task(template, inputs=inputs, outputs=outputs, parse=parse, system_prompt=system_prompt,
                             kind=kind, name=name, output_model=output_model, score_column=score_column,
                             scale=scale, variables=variables)
