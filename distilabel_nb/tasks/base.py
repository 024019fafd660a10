"""The Task base class: how a model is asked (a jinja2 template) and how its answer is read.

A task declares the input columns it needs and the output columns it produces.
``generate_prompt`` renders the template into a :class:`~distilabel_nb.prompt.Prompt`;
``parse_output`` reads the model's text back into a dict of output columns, and raises
:class:`OutputParseError` (carrying whatever it could read) when something is missing.

Templates render in jinja2's sandbox, so a template cannot reach Python internals.
A task may declare a pydantic model for its answer (structured output): backends then
constrain decoding to its JSON schema, and the answer is validated against it.
A task for one notebook cell is one call: :meth:`Task.from_template`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Literal, Sequence

from jinja2 import PackageLoader, StrictUndefined, Template, TemplateError, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.runtime import new_context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from pydantic import BaseModel, ValidationError

from distilabel_nb.rich_repr import HTMLRepr
from distilabel_nb.prompt import Prompt

TaskKind = Literal["generator", "labeller"]

_JINJA_OPTIONS = dict(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False)
# auto_reload=False: each packaged template is read and compiled once per process.
_PACKAGED = ImmutableSandboxedEnvironment(
    loader=PackageLoader("distilabel_nb.tasks", "templates"), auto_reload=False, **_JINJA_OPTIONS
)
_USER = ImmutableSandboxedEnvironment(**_JINJA_OPTIONS)


@functools.lru_cache(maxsize=None)
def _packaged_template(name: str) -> Template:
    """A packaged template, read and compiled once per process."""
    return _PACKAGED.get_template(name)


@functools.lru_cache(maxsize=512)
def _globals_of(template: Template) -> dict[str, Any]:
    """A template's globals as a plain dict, made once (jinja2 rebuilds it on every render)."""
    return dict(template.globals)


def _render(template: Template, variables: dict[str, Any]) -> str:
    """``template.render(**variables)`` without the per-call copy of the globals.

    The context is built on one fresh dict (globals, then the variables over them, as
    ``render`` does); the sandbox is unchanged: it lives in the compiled code.
    """
    template_globals = _globals_of(template)
    context = new_context(template.environment, template.name, template.blocks, {**template_globals, **variables},
                          shared=True, globals=template_globals)
    return template.environment.concat(template.root_render_func(context))  # type: ignore[attr-defined]


class OutputParseError(ValueError):
    """A model's answer could not be read completely.

    Attributes:
        partial: The output columns that could be read (missing ones are ``None``).
    """

    def __init__(self, message: str, partial: dict[str, Any] | None = None):
        super().__init__(message)
        self.partial = partial


def _is_empty(value: Any) -> bool:
    """None, NaN, or a text with nothing but spaces."""
    if isinstance(value, str):
        return not value or value.isspace()
    return missing_value(value)


def missing_value(value: Any) -> bool:
    """True for ``None`` and NaN (how pandas marks an empty cell)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of ``model`` in the strict form structured-output APIs require.

    Every object lists all its properties as required and allows no others (OpenAI's
    ``strict: true``); llama.cpp turns the same schema into a grammar.

    Example:
        >>> class Verdict(BaseModel):
        ...     score: int
        >>> strict_json_schema(Verdict)["required"], strict_json_schema(Verdict)["additionalProperties"]
        (['score'], False)
    """

    def tighten(node: Any) -> None:
        if not isinstance(node, dict):
            return
        if isinstance(node.get("properties"), dict):
            node["additionalProperties"] = False
            node["required"] = list(node["properties"])
            for child in node["properties"].values():
                tighten(child)
        for key in ("items", "additionalProperties", "not"):
            tighten(node.get(key))
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            for child in node.get(key) or []:
                tighten(child)
        for child in (node.get("$defs") or {}).values():
            tighten(child)

    schema = model.model_json_schema()
    tighten(schema)
    return schema


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    """``"ratings.1.rating: Input should be 1, 2, 3, 4 or 5; …"`` from a pydantic error."""
    lines = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(part) for part in err["loc"]) or "answer"
        lines.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(lines) + (f"; and {more} more" if more > 0 else "")


def validate_answer(data: Any, model: type[BaseModel], partial: dict[str, Any] | None = None) -> BaseModel:
    """Validate already-read ``data`` against ``model``.

    Raises:
        OutputParseError: naming each field that does not match (``partial`` is attached).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise OutputParseError(f"the answer does not match the schema: {describe_validation_error(exc)}", partial=partial) from None


def read_structured(text: str, model: type[BaseModel], output_names: Sequence[str] = ()) -> BaseModel:
    """Read a JSON answer and validate it against ``model``.

    Code fences and chatter around the JSON are tolerated.

    Raises:
        OutputParseError: when there is no complete JSON, or it does not match the schema.
            ``partial`` holds the ``output_names`` that the JSON did have.
    """
    from distilabel_nb.tasks.parsing import JSONNotFound, extract_json

    empty = {name: None for name in output_names}
    try:
        data = extract_json(text)
    except JSONNotFound as exc:
        raise OutputParseError(str(exc), partial=empty) from None
    partial = {name: data.get(name) for name in output_names} if isinstance(data, dict) else empty
    return validate_answer(data, model, partial)


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

    @property
    def name(self) -> str:
        return type(self).__name__

    def _template(self):
        return _packaged_template(self.template_name)

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
        empty = [n for n in names if _is_empty(inputs[n])]
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
            text = _render(self._template(), {**self.template_variables(), **inputs})
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
        if output_model is not None and not (isinstance(output_model, type) and issubclass(output_model, BaseModel)):
            raise TypeError(f"output_model must be a pydantic BaseModel subclass, got {output_model!r}")
        if output_model is not None and outputs is not None and list(outputs) != list(output_model.model_fields):
            raise ValueError(f"outputs must be the fields of output_model ({list(output_model.model_fields)}); leave outputs out")
        if outputs is None:
            outputs = list(output_model.model_fields) if output_model is not None else ["generations"]
        if kind not in ("generator", "labeller"):
            raise ValueError(f"kind must be 'generator' or 'labeller', got {kind!r}")
        if not name.isidentifier():
            raise ValueError(f"name must be a Python identifier such as 'Summarize', got {name!r}")
        for what, names in (("inputs", inputs), ("outputs", outputs)):
            if isinstance(names, str) or not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
                raise ValueError(f"{what} must be a non-empty list of column names (identifiers), got {names!r}")
        if parse is not None and not callable(parse):
            raise TypeError(f"parse must be a function text -> dict, got {type(parse).__name__}")
        if parse is None and output_model is None and len(outputs) > 1:
            raise ValueError(f"several outputs {list(outputs)} need a parse= function (text -> dict) or an output_model")
        spec = {"kind": kind, "inputs": list(inputs), "outputs": list(outputs), "name": name, "output_model": output_model}
        return _make_template_task(spec, system_prompt, template, parse, dict(variables))


_SANDBOX_NAMES = frozenset(_USER.globals)


def _make_template_task(spec: dict[str, Any], system_prompt: str, template: str, parse: Any, variables: dict[str, Any]) -> "TemplateTask":
    """Build a :class:`TemplateTask` of a fresh subclass named ``spec["name"]`` (also used to unpickle one)."""
    task_class = type(spec["name"], (TemplateTask,), {
        "kind": spec["kind"],
        "input_args_names": list(spec["inputs"]),
        "output_args_names": list(spec["outputs"]),
        "output_model": spec["output_model"],
        "__doc__": f"A task made with Task.from_template: inputs {spec['inputs']}, outputs {spec['outputs']}.",
    })
    return task_class(system_prompt=system_prompt, template=template, parse=parse, variables=variables)


def _reaches_internals(ast: nodes.Template) -> str | None:
    """The first ``_private`` attribute or key a template names literally, if any."""
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


@dataclass
class TemplateTask(Task):
    """A task defined by a template string; made by :meth:`Task.from_template`.

    The template is checked and compiled once, on construction.
    """

    template: str = ""
    parse: Callable[[str], Any] | None = field(default=None, repr=False)
    variables: dict[str, Any] = field(default_factory=dict)
    _compiled: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.template, str) or not self.template.strip():
            raise ValueError("the template is empty; write the prompt, e.g. 'Summarize: {{ text }}'")
        try:
            ast = _USER.parse(self.template)
        except TemplateSyntaxError as exc:
            raise ValueError(f"{self.name}: template syntax error on line {exc.lineno}: {exc.message}") from exc
        private = _reaches_internals(ast)
        if private is not None:
            error = SecurityError(f"access to {private!r} is unsafe")
            raise ValueError(
                f"{self.name}: the template names {private!r}; templates may not reach Python internals "
                "(names starting with '_')"
            ) from error
        clash = set(self.variables) & set(self.input_args_names)
        if clash:
            raise ValueError(f"{self.name}: {sorted(clash)} is both an input and a variable; keep one")
        unknown = meta.find_undeclared_variables(ast) - set(self.input_args_names) - set(self.variables) - _SANDBOX_NAMES
        if unknown:
            raise ValueError(
                f"{self.name}: the template uses {sorted(unknown)}, which is neither an input "
                f"({self.input_args_names}) nor a variable; add it to inputs=[...] or pass it as name=value"
            )
        self._compiled = _USER.from_string(self.template)

    def _template(self):
        return self._compiled

    def __reduce__(self):
        # The class is made on the fly and the compiled template holds code objects:
        # pickle the recipe instead (workers rebuild and recompile it).
        spec = {"kind": self.kind, "inputs": self.input_args_names, "outputs": self.output_args_names,
                "name": self.name, "output_model": self.output_model}
        return _make_template_task, (spec, self.system_prompt, self.template, self.parse, self.variables)

    def text_input_names(self) -> list[str]:
        """None: a user's template decides what its inputs are (a number of items, a list...)."""
        return []

    def template_source(self) -> str:
        return self.template

    def template_variables(self) -> dict[str, Any]:
        return dict(self.variables)

    def parse_output(self, text: str) -> dict[str, Any]:
        """Read the answer with ``parse`` (or as JSON for ``output_model``, or as plain text).

        Raises:
            OutputParseError: when ``parse`` fails or leaves an output out, or the
                answer does not match ``output_model``.
        """
        outputs = self.output_args_names
        empty = {name: None for name in outputs}
        if self.parse is None:
            if self.output_model is not None:
                return super().parse_output(text)
            answer = text.strip()
            if not answer:
                raise OutputParseError("the model returned an empty answer", partial=empty)
            return {outputs[0]: answer}
        try:
            result = self.parse(text)
        except OutputParseError:
            raise
        except Exception as exc:  # the user's parser: any failure is this row's parse error
            raise OutputParseError(f"parse function failed: {type(exc).__name__}: {exc}", partial=empty) from exc
        if not isinstance(result, dict):
            if len(outputs) != 1:
                raise OutputParseError(f"parse function returned a {type(result).__name__}; it must return a dict with keys {outputs}", partial=empty)
            result = {outputs[0]: result}
        columns = {name: result.get(name) for name in outputs}
        if self.output_model is not None:
            answer = validate_answer(result, self.output_model, columns)
            return self.columns_from_answer(answer, {})
        missing = [name for name, value in columns.items() if missing_value(value)]
        if missing:
            raise OutputParseError(f"parse function gave no value for {missing}", partial=columns)
        return columns

    def parse_output_for(self, text: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return self.parse_output(text)
