"""What the cards of prompts, tasks and LLMs show, as plain data.

The HTML cards and their text twins both render these facts, so a notebook shows the
same things whether or not it can display HTML. Nothing here builds markup, and nothing
here reads a secret: an LLM describes itself (:meth:`~distilabel_nb.llms.base.LLM.facts`),
never through ``vars()`` or probes of a backend's attributes.

Example:
    >>> from distilabel_nb import UltraFeedbackTask
    >>> example_inputs(UltraFeedbackTask())["generations"]
    ['‹generations 1›', '‹generations 2›']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from jinja2 import Environment, nodes

from distilabel_nb.display.readable import first_doc_line, human_bytes, safe_url, short_path
from distilabel_nb.llms.base import LLM
from distilabel_nb.pricing import price_of
from distilabel_nb.prompt import FormattedPrompt, Prompt
from distilabel_nb.tasks.base import Task

#: Formats a prompt preview compares when none are named.
DEFAULT_FORMATS = ("default", "chatml", "llama2", "openai")


# -- prompts ---------------------------------------------------------------------------------

@dataclass
class FormatPreview:
    """One format of a prompt: its rendering (text or chat messages) or why it failed."""

    name: str
    result: FormattedPrompt | None
    error: str | None = None
    chosen: bool = False


def format_prompt_safely(fn: Any, prompt: Prompt) -> tuple[Any, str | None]:
    try:
        return fn(prompt), None
    except Exception as exc:  # a broken user format must not break the preview
        return None, f"{type(exc).__name__}: {exc}"


def prompt_formats(prompt: Prompt, formats: Sequence[str] | None = None, chosen: str | None = None) -> list[FormatPreview]:
    """The prompt rendered in each of ``formats`` (default: :data:`DEFAULT_FORMATS`).

    ``chosen`` is listed first and marked; unknown names show their error instead of raising.
    """
    names = list(formats) if formats is not None else list(DEFAULT_FORMATS)
    if chosen is not None:
        names = [chosen] + [n for n in names if n != chosen]
    previews = []
    for name in dict.fromkeys(names):
        result, error = format_prompt_safely(lambda p, n=name: p.format_as(n), prompt)
        previews.append(FormatPreview(name, result, error, chosen=name == chosen))
    return previews


def is_messages(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(m, dict) for m in value)


def messages_as_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(f"[{m.get('role', '?')}] {m.get('content', '')}" for m in messages)


def formatted_as_text(value: Any) -> str:
    """A formatted prompt (a string or chat messages) as plain text."""
    if value is None:
        return "—"
    if is_messages(value):
        return messages_as_text(value)
    return str(value)


# -- tasks -----------------------------------------------------------------------------------

_PLURAL_INPUTS = {"generations", "responses", "answers", "completions", "outputs", "texts", "candidates"}


def _iterated_names(source: str) -> set[str]:
    """Template variables used as lists: ``{% for x in NAME %}``, ``NAME | length``, ``NAME[0]``."""
    try:
        tree = Environment().parse(source)
    except Exception:
        return set()
    names: set[str] = set()
    for node in tree.find_all((nodes.For, nodes.Filter, nodes.Getitem)):
        target = node.iter if isinstance(node, nodes.For) else node.node
        if isinstance(node, nodes.Filter) and node.name not in ("length", "count", "first", "last", "join"):
            continue
        if isinstance(target, nodes.Name):
            names.add(target.name)
    return names


def template_source(task: Task) -> tuple[str | None, str | None]:
    """The task's jinja2 source, or ``(None, reason)``."""
    try:
        return task.template_source(), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def example_inputs(task: Task) -> dict[str, Any]:
    """Placeholder inputs for a preview prompt: ``‹input›``, or a two-item list for list inputs.

    A task may provide its own with an ``example_inputs`` dict (or method returning one).
    """
    custom = getattr(task, "example_inputs", None)
    if callable(custom):
        try:
            custom = custom()
        except Exception:
            custom = None
    if isinstance(custom, dict):
        return dict(custom)
    source, _ = template_source(task)
    listed = _iterated_names(source) if source else set()
    inputs: dict[str, Any] = {}
    for name in task.input_args_names:
        if name in listed or (not source and name in _PLURAL_INPUTS):
            inputs[name] = [f"‹{name} {i}›" for i in (1, 2)]
        else:
            inputs[name] = f"‹{name}›"
    return inputs


def example_prompt(task: Task) -> tuple[Prompt | None, str | None]:
    """The task's prompt for placeholder inputs, or ``(None, why it could not render)``."""
    try:
        return task.generate_prompt(**example_inputs(task)), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


@dataclass
class TaskFacts:
    name: str
    kind: str
    description: str
    inputs: list[str]
    outputs: list[str]
    system_prompt: str
    template_name: str
    template_source: str | None
    template_error: str | None
    settings: list[tuple[str, Any]]
    example: Prompt | None
    example_error: str | None


def task_facts(task: Task) -> TaskFacts:
    settings: list[tuple[str, Any]] = []
    if dataclasses.is_dataclass(task):
        settings = [(f.name, getattr(task, f.name, None)) for f in dataclasses.fields(task)
                    if f.name != "system_prompt" and not f.name.startswith("_") and f.repr]
    source, source_error = template_source(task)
    example, example_error = example_prompt(task)
    return TaskFacts(
        name=str(task.name),
        kind=str(task.kind),
        description=first_doc_line(task),
        inputs=[str(n) for n in task.input_args_names],
        outputs=[str(n) for n in task.output_args_names],
        system_prompt=str(task.system_prompt or ""),
        template_name=str(task.template_name or "template"),
        template_source=source,
        template_error=source_error,
        settings=settings,
        example=example,
        example_error=example_error,
    )


def dataclass_rows(values: Any) -> tuple[list[str], list[list[Any]]] | None:
    """A list of dataclass instances as (field names, rows), else ``None``."""
    if not isinstance(values, (list, tuple)) or not values:
        return None
    if not all(dataclasses.is_dataclass(v) and not isinstance(v, type) for v in values):
        return None
    names = [f.name for f in dataclasses.fields(values[0])]
    return names, [[getattr(v, n, None) for n in names] for v in values]


# -- LLMs ------------------------------------------------------------------------------------

@dataclass
class LLMFacts:
    model_name: str
    class_name: str
    backend: str
    location_kind: str  # "local file", "server" or "in process"
    location: str
    location_detail: str
    full_location: str  # the unshortened path or URL, for tooltips
    prompt_format: str
    max_concurrency: int
    params: list[tuple[str, Any, bool]]  # name, value, differs from the default
    extras: list[tuple[str, str]]
    task: Task
    example_sent: Any = None
    example_error: str | None = None


def _param_rows(llm: LLM) -> list[tuple[str, Any, bool]]:
    fields = type(llm.params).model_fields
    return [(name, value, value != fields[name].default) for name, value in llm.params.model_dump().items()]


def _file_size(path: str) -> str:
    try:
        return human_bytes(Path(path).stat().st_size)
    except OSError:
        return "file not found"


def llm_facts(llm: LLM) -> LLMFacts:
    """The LLM card's facts: what the backend says of itself, and the base LLM's settings."""
    own = llm.facts()
    location, detail, full = own.location, "", own.location
    if own.where == "server":
        location = full = safe_url(own.location)
    elif own.where == "local file":
        location, detail = short_path(own.location), _file_size(own.location)
    cache = "off" if llm.cache is None else f"{'refresh' if llm.cache_refresh else 'on'} · {short_path(llm.cache.path)}"
    fn = llm.prompt_formatting_fn
    fmt = f"custom function {getattr(fn, '__qualname__', type(fn).__name__)}()" if fn else str(llm.prompt_format)
    facts = LLMFacts(
        model_name=str(llm.model_name),
        class_name=type(llm).__name__,
        backend=own.backend,
        location_kind=own.where,
        location=location,
        location_detail=detail,
        full_location=full,
        prompt_format=fmt,
        max_concurrency=int(llm.max_concurrency),
        params=_param_rows(llm),
        extras=[*own.settings, ("cache", cache), ("price", str(price_of(llm)))],
        task=llm.task,
    )
    prompt, error = example_prompt(llm.task)
    if prompt is not None:
        facts.example_sent, facts.example_error = format_prompt_safely(llm.format_prompt, prompt)
    else:
        facts.example_error = error
    return facts
