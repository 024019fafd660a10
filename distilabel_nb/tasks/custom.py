"""Custom tasks for one notebook cell: a template string, the inputs it uses, and how to read the answer.

:meth:`Task.from_template <distilabel_nb.tasks.Task.from_template>` checks its arguments
here and builds a :class:`TemplateTask` of a fresh subclass named after the task. The
template is checked (syntax, undeclared names, names that reach Python internals) and
compiled once, in jinja2's sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

from jinja2 import TemplateSyntaxError, meta
from pydantic import BaseModel

from distilabel_nb.cells import is_missing
from distilabel_nb.schema import Scale
from distilabel_nb.tasks import jinja
from distilabel_nb.tasks.base import Task, TaskKind
from distilabel_nb.tasks.jinja import SecurityError
from distilabel_nb.tasks.parsing import OutputParseError, to_number
from distilabel_nb.tasks.structured import validate_answer


def _scale(score_column: str | None, scale: Any, kind: str, outputs: Sequence[str]) -> Scale | None:
    """The declared scale of a custom labeller, checked against its outputs."""
    if score_column is None and scale is None:
        return None
    if kind != "labeller":
        raise ValueError("score_column= and scale= describe a labeller's scores; pass kind='labeller'")
    if score_column is None or scale is None:
        raise ValueError("give score_column= and scale= together, e.g. score_column='score', scale=(1, 5)")
    if score_column not in outputs:
        raise ValueError(f"score_column={score_column!r} is not one of the outputs {list(outputs)}")
    if isinstance(scale, Scale):
        return scale
    if not (isinstance(scale, (tuple, list)) and len(scale) == 2):
        raise ValueError(f"scale must be (low, high), e.g. (1, 5) for whole numbers or (0.0, 1.0); got {scale!r}")
    low, high = scale
    return Scale(low, high, whole=isinstance(low, int) and isinstance(high, int))


def template_task(
    template: str, *, inputs: Sequence[str], outputs: Sequence[str] | None, parse: Callable[[str], Any] | None,
    system_prompt: str, kind: TaskKind, name: str, output_model: type[BaseModel] | None,
    score_column: str | None, scale: Any, variables: dict[str, Any],
) -> "TemplateTask":
    """Check the arguments of :meth:`Task.from_template` and build the task (see there)."""
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
    spec = {"kind": kind, "inputs": list(inputs), "outputs": list(outputs), "name": name, "output_model": output_model,
            "score_column": score_column, "scale": _scale(score_column, scale, kind, outputs)}
    return _make_template_task(spec, system_prompt, template, parse, dict(variables))


def _make_template_task(spec: dict[str, Any], system_prompt: str, template: str, parse: Any, variables: dict[str, Any]) -> "TemplateTask":
    """Build a :class:`TemplateTask` of a fresh subclass named ``spec["name"]`` (also used to unpickle one)."""
    task_class = type(spec["name"], (TemplateTask,), {
        "kind": spec["kind"],
        "input_args_names": list(spec["inputs"]),
        "output_args_names": list(spec["outputs"]),
        "output_model": spec["output_model"],
        "score_column": spec.get("score_column"),
        "declared_scale": spec.get("scale"),
        "__doc__": f"A task made with Task.from_template: inputs {spec['inputs']}, outputs {spec['outputs']}.",
    })
    return task_class(system_prompt=system_prompt, template=template, parse=parse, variables=variables)


@dataclass
class TemplateTask(Task):
    """A task defined by a template string; made by :meth:`Task.from_template`.

    The template is checked and compiled once, on construction.
    """

    template: str = ""
    parse: Callable[[str], Any] | None = field(default=None, repr=False)
    variables: dict[str, Any] = field(default_factory=dict)

    declared_scale: ClassVar[Scale | None] = None
    _compiled: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.template, str) or not self.template.strip():
            raise ValueError("the template is empty; write the prompt, e.g. 'Summarize: {{ text }}'")
        try:
            ast = jinja.USER.parse(self.template)
        except TemplateSyntaxError as exc:
            raise ValueError(f"{self.name}: template syntax error on line {exc.lineno}: {exc.message}") from exc
        private = jinja.reaches_internals(ast)
        if private is not None:
            error = SecurityError(f"access to {private!r} is unsafe")
            raise ValueError(
                f"{self.name}: the template names {private!r}; templates may not reach Python internals "
                "(names starting with '_')"
            ) from error
        clash = set(self.variables) & set(self.input_args_names)
        if clash:
            raise ValueError(f"{self.name}: {sorted(clash)} is both an input and a variable; keep one")
        unknown = meta.find_undeclared_variables(ast) - set(self.input_args_names) - set(self.variables) - jinja.SANDBOX_NAMES
        if unknown:
            raise ValueError(
                f"{self.name}: the template uses {sorted(unknown)}, which is neither an input "
                f"({self.input_args_names}) nor a variable; add it to inputs=[...] or pass it as name=value"
            )
        self._compiled = jinja.USER.from_string(self.template)

    def _template(self):
        return self._compiled

    def __reduce__(self):
        # The class is made on the fly and the compiled template holds code objects:
        # pickle the recipe instead (workers rebuild and recompile it).
        spec = {"kind": self.kind, "inputs": self.input_args_names, "outputs": self.output_args_names,
                "name": self.name, "output_model": self.output_model, "score_column": self.score_column,
                "scale": self.declared_scale}
        return _make_template_task, (spec, self.system_prompt, self.template, self.parse, self.variables)

    @property
    def scale(self) -> Scale | None:
        return self.declared_scale

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
                return self._on_scale(super().parse_output(text))
            answer = text.strip()
            if not answer:
                raise OutputParseError("the model returned an empty answer", partial=empty)
            return self._on_scale({outputs[0]: answer})
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
            return self._on_scale(self.columns_from_answer(answer, {}))
        missing = [name for name, value in columns.items() if is_missing(value)]
        if missing:
            raise OutputParseError(f"parse function gave no value for {missing}", partial=columns)
        return self._on_scale(columns)

    def _on_scale(self, columns: dict[str, Any]) -> dict[str, Any]:
        """The score column read on the declared scale (``int`` on a whole-number one).

        Raises:
            OutputParseError: naming each score that is not a number on the scale.
        """
        scale, name = self.declared_scale, self.score_column
        if scale is None or name is None or name not in columns:
            return columns
        problems: list[str] = []

        def read(value: Any, where: str) -> Any:
            if is_missing(value):
                return None
            if isinstance(value, str):
                value = to_number(value) if to_number(value) is not None else value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{where}: {value!r} is not a number")
                return None
            return scale.read(value, where, problems, noun="score")

        value = columns[name]
        if isinstance(value, (list, tuple)):
            columns[name] = [read(v, f"{name} {i + 1}") for i, v in enumerate(value)]
        else:
            columns[name] = read(value, name)
        if problems:
            raise OutputParseError("; ".join(problems), partial=columns)
        return columns

    def parse_output_for(self, text: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return self.parse_output(text)
