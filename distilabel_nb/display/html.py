"""All HTML of the package is built here, and every value is escaped.

``render(obj)`` dispatches on the object's type and returns a card fragment;
:func:`to_html` wraps it with the stylesheet (``cards.css``), and objects'
``_repr_html_`` call that. Cards are registered lazily on first use, because the core
modules import this one.

Rules kept by every builder below: text from users, datasets and models goes through
:func:`escape` (or a helper that calls it) exactly once; the only markup is written here
as literals; attribute values are escaped too; the only inline style is a width computed
from numbers. Cards use plain structure (divs, tables, ``<details>``) so they stay
readable where the stylesheet is stripped.
"""

from __future__ import annotations

import html as _html
import re
import threading
from functools import lru_cache, singledispatch
from importlib.resources import files
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from distilabel_nb import schema
from distilabel_nb.cells import duration, plain

if TYPE_CHECKING:
    from distilabel_nb.display.facts import FormatPreview
    from distilabel_nb.display.results import ResultsView
    from distilabel_nb.display.views import PromptView
    from distilabel_nb.llms.base import LLM, LLMOutput
    from distilabel_nb.pipeline import Pipeline
    from distilabel_nb.prompt import Prompt
    from distilabel_nb.run import Run, RunState
    from distilabel_nb.tasks.base import Task

ROOT_CLASS = "dnb"


def escape(value: Any) -> str:
    """Escape any value for HTML text or attribute context."""
    return _html.escape(str(value), quote=True)


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The cards' CSS (``display/cards.css``), comments and indentation removed."""
    css = files("distilabel_nb.display").joinpath("cards.css").read_text(encoding="utf-8")
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    return re.sub(r"\s*\n\s*", "\n", css).strip()


def to_html(obj: Any) -> str:
    """A complete, self-styled HTML snippet for ``obj`` (what ``_repr_html_`` returns).

    A renderer that fails shows its error and the object's text instead of breaking the
    notebook output.
    """
    try:
        body = render(obj)
    except Exception as exc:  # a preview must never break a cell's output
        body = _card("Preview", type(obj).__name__, badges=[_badge("preview failed", "err")],
                     body=_error_box(f"{type(exc).__name__}: {exc}") + _pre(_safe_text(obj)))
    return f'<div class="{ROOT_CLASS}"><style>{stylesheet()}</style>{body}</div>'


def _safe_text(obj: Any) -> str:
    from distilabel_nb.display.text import describe

    try:
        return describe(obj)
    except Exception:
        return object.__repr__(obj)


class HTMLRepr:
    """Mixin: rich HTML in notebooks through :func:`render`, readable text elsewhere.

    ``_repr_mimebundle_`` sends both the HTML card and its text twin
    (:func:`distilabel_nb.display.text.describe`), so a front that cannot show HTML
    (a terminal console, a text export) still shows the same facts.
    """

    def _repr_html_(self) -> str:
        return to_html(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": _safe_text(self), "text/html": to_html(self)}


# -- dispatch --------------------------------------------------------------------------------

@singledispatch
def render(obj: Any) -> str:
    """HTML card fragment for ``obj``; the fallback shows its plain repr, escaped."""
    if _register_cards():
        return render(obj)
    return _pre(repr(obj))


_registration_lock = threading.Lock()
_registered = False


def _register_cards() -> bool:
    """Register the package's cards once; True if this call registered them."""
    global _registered
    with _registration_lock:
        if _registered:
            return False
        from distilabel_nb.display.audit_cards import CARDS as LABEL_CHECK_CARDS
        from distilabel_nb.display.results import ResultsView
        from distilabel_nb.display.views import PromptView
        from distilabel_nb.llms.base import LLM, LLMOutput
        from distilabel_nb.pipeline import Pipeline
        from distilabel_nb.prompt import Prompt
        from distilabel_nb.run import Run, RunState
        from distilabel_nb.tasks.base import Task

        for cls, fn in ((Prompt, prompt_card), (PromptView, prompt_view_card), (Task, task_card), (LLM, llm_card),
                        (LLMOutput, output_card), (Pipeline, pipeline_card), (Run, run_card),
                        (RunState, run_state_card), (ResultsView, results_card), *LABEL_CHECK_CARDS):
            render.register(cls, fn)
        _registered = True
        return True


# -- building blocks -------------------------------------------------------------------------

def _cls(*names: str) -> str:
    return " ".join(f"{ROOT_CLASS}-{n}" for n in names if n)


def _span(text: Any, *classes: str, title: str | None = None) -> str:
    title_attr = f' title="{escape(title)}"' if title else ""
    return f'<span class="{_cls(*classes)}"{title_attr}>{escape(text)}</span>'


def _badge(text: Any, tone: str = "muted", title: str | None = None) -> str:
    return _span(text, "badge", f"tone-{tone}", title=title)


def _muted(text: Any) -> str:
    return _span(text, "muted")


def _chips(names: Iterable[Any], empty: str = "none") -> str:
    chips = [_span(n, "chip") for n in names]
    return f'<span class="{_cls("chips")}">{" ".join(chips)}</span>' if chips else _muted(empty)


_SPECIAL_TOKENS = re.compile(
    r"<\|[A-Za-z_]+\|>|</?s>|\[/?INST\]|<</?SYS>>|<bos>|<eos>|<start_of_turn>|<end_of_turn>")
_JINJA_TAGS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def _marked(text: str, pattern: re.Pattern[str], cls: str) -> str:
    """Escape ``text``, wrapping each match of ``pattern`` in a span (matches escaped too)."""
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(_span(match.group(0), cls))
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def _pre(text: Any, highlight: str | None = None, tall: bool = False) -> str:
    """Preformatted text; ``highlight`` "tokens" marks chat-format tokens, "jinja" template tags."""
    text = str(text)
    if highlight == "tokens":
        inner = _marked(text, _SPECIAL_TOKENS, "tok")
    elif highlight == "jinja":
        inner = _marked(text, _JINJA_TAGS, "jinja")
    else:
        inner = escape(text)
    return f'<pre class="{_cls("pre", "tall" if tall else "")}">{inner}</pre>'


def _preview_line(text: str, chars: int = 140) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[:chars].rstrip() + "…"


def _text(value: str, fold_chars: int = 400, fold_lines: int = 8) -> str:
    """Readable text that keeps line breaks; folded behind its first line when long."""
    if len(value) <= fold_chars and value.count("\n") < fold_lines:
        return f'<div class="{_cls("text")}">{escape(value)}</div>'
    summary = f'{escape(_preview_line(value))} {_muted(f"({len(value):,} chars)")}'
    return (f'<details class="{_cls("fold", "fold-text")}"><summary>{summary}</summary>'
            f'<div class="{_cls("text")}">{escape(value)}</div></details>')


def _details(summary_html: str, body: str, open_: bool = False, cls: str = "fold") -> str:
    return f'<details class="{_cls(cls)}"{" open" if open_ else ""}><summary>{summary_html}</summary>{body}</details>'


def _error_box(message: Any, label: str = "error") -> str:
    return (f'<div class="{_cls("error")}" role="alert"><strong class="{_cls("error-label")}">{escape(label)}</strong> '
            f'<span class="{_cls("error-text")}">{escape(message)}</span></div>')


def _facts(rows: Sequence[tuple[str, str]]) -> str:
    """A label/value grid; values are HTML already built by this module."""
    cells = "".join(f'<div class="{_cls("label")}">{escape(label)}</div><div class="{_cls("value")}">{value}</div>'
                    for label, value in rows)
    return f'<div class="{_cls("facts")}">{cells}</div>'


def _section(title: str, body: str, note: str | None = None) -> str:
    note_html = f" {_span(note, 'note')}" if note else ""
    return (f'<div class="{_cls("section")}"><div class="{_cls("section-title")}">{escape(title)}{note_html}</div>'
            f"{body}</div>")


def _card(kind: str, title: str, *, badges: Sequence[str] = (), sub: str = "", body: str = "", variant: str = "") -> str:
    sub_html = f'<div class="{_cls("sub")}">{sub}</div>' if sub else ""
    return (f'<div class="{_cls("card", f"card-{variant}" if variant else "")}">'
            f'<div class="{_cls("head")}">{_span(kind, "kind")} <strong class="{_cls("title")}">{escape(title)}</strong> '
            f'<span class="{_cls("badges")}">{" ".join(badges)}</span></div>'
            f'{sub_html}<div class="{_cls("body")}">{body}</div></div>')


def _bar(fraction: float, cls: str = "fill") -> str:
    width = max(0.0, min(100.0, 100.0 * fraction))
    return f'<span class="{_cls(cls)}" style="width:{width:.1f}%"></span>'


def _rating(value: Any, low: float, high: float) -> str:
    """A rating as a coloured badge with a bar (``?`` for a rating that could not be read)."""
    from distilabel_nb.display.facts import is_missing, number, rating_tone

    if is_missing(value):
        return (f'<span class="{_cls("rating", "rating-none")}" title="rating not read">'
                f'<span class="{_cls("rating-value")}">?</span></span>')
    value = float(value)
    share = 0.0 if high <= low else (value - low) / (high - low)
    scale = f"{number(low)}–{number(high)}"
    return (f'<span class="{_cls("rating", "rating-" + rating_tone(value, low, high))}" title="{escape(number(value))} on {escape(scale)}">'
            f'<span class="{_cls("rating-value")}">{escape(number(value))}</span> '
            f'<span class="{_cls("rating-bar")}">{_bar(max(share, 0.04))}</span></span>')


def _messages(messages: list[dict[str, Any]]) -> str:
    items = "".join(
        f'<div class="{_cls("msg")}">{_span(m.get("role", "?"), "role", "role-" + _role_class(m.get("role")))}'
        f'{_pre(m.get("content", ""))}</div>'
        for m in messages)
    return f'<div class="{_cls("msgs")}">{items}</div>'


def _role_class(role: Any) -> str:
    return role if role in ("system", "user", "assistant") else "other"


def _formatted(value: Any) -> str:
    """A prompt as sent: chat messages as a list, raw text with its format tokens marked."""
    from distilabel_nb.display.facts import is_messages

    if value is None:
        return _muted("—")
    if is_messages(value):
        return _messages(value)
    return _pre(value, highlight="tokens")


def _value(value: Any, rating_range: tuple[float, float] | None = None) -> str:
    """Any setting or parsed value: text, numbers, lists, dicts, lists of dataclasses."""
    from distilabel_nb.display.facts import dataclass_rows, is_missing, number

    if rating_range is not None and (is_missing(value) or isinstance(value, (int, float)) and not isinstance(value, bool)):
        return _rating(value, *rating_range)
    if is_missing(value):
        return _muted("—")
    if isinstance(value, str):
        return _text(value) if value else _muted("(empty)")
    if isinstance(value, (bool, int, float)):
        return _span(number(value), "num")
    table = dataclass_rows(value)
    if table is not None:
        names, rows = table
        head = "".join(f"<th>{escape(n)}</th>" for n in names)
        body = "".join("<tr>" + "".join(f"<td>{_value(v)}</td>" for v in row) + "</tr>" for row in rows)
        return f'<table class="{_cls("mini")}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    if isinstance(value, (list, tuple)):
        if not value:
            return _muted("(empty list)")
        if rating_range is not None:
            return f'<span class="{_cls("ratings")}">{" ".join(_value(v, rating_range) for v in value)}</span>'
        items = "".join(f"<li>{_value(v)}</li>" for v in value)
        return f'<ol class="{_cls("list")}">{items}</ol>'
    if isinstance(value, dict):
        return _facts([(str(k), _value(v)) for k, v in value.items()])
    return _pre(repr(value))


# -- Prompt ----------------------------------------------------------------------------------

def _format_panels(previews: Sequence["FormatPreview"]) -> str:
    panels = []
    for preview in previews:
        badges = _badge("in use", "accent") if preview.chosen else ""
        body = _error_box(preview.error) if preview.error else _formatted(preview.result)
        kind = "chat messages" if preview.error is None and isinstance(preview.result, list) else "text"
        panels.append(
            f'<div class="{_cls("format", "format-chosen" if preview.chosen else "")}">'
            f'<div class="{_cls("format-head")}">{_span(preview.name, "format-name")} {_muted(kind)} {badges}</div>'
            f"{body}</div>")
    return f'<div class="{_cls("formats")}">{"".join(panels)}</div>'


def _prompt_body(prompt: "Prompt", previews: Sequence["FormatPreview"]) -> str:
    system = _pre(prompt.system_prompt) if prompt.system_prompt else _muted("none")
    parts = _facts([("system", system), ("user", _pre(prompt.formatted_prompt, tall=True))])
    return parts + _section("Formats", _format_panels(previews), "as each model family receives it")


def _prompt_card(prompt: "Prompt", previews: Sequence["FormatPreview"]) -> str:
    from distilabel_nb.display.facts import plural

    chars = len(prompt.system_prompt) + len(prompt.formatted_prompt)
    lines = prompt.formatted_prompt.count("\n") + 1
    badges = [_badge(f"{chars:,} chars"), _badge(plural(lines, "line"))]
    return _card("Prompt", _preview_line(prompt.formatted_prompt, 70) or "(empty)", badges=badges,
                 body=_prompt_body(prompt, previews), variant="prompt")


def prompt_card(prompt: "Prompt") -> str:
    from distilabel_nb.display.facts import prompt_formats

    return _prompt_card(prompt, prompt_formats(prompt, chosen="default"))


def prompt_view_card(view: "PromptView") -> str:
    return _prompt_card(view.prompt, view.previews())


# -- Task ------------------------------------------------------------------------------------

def _kind_badge(kind: str) -> str:
    return _badge(kind, "accent" if kind == "generator" else "purple")


def _io(inputs: Sequence[str], outputs: Sequence[str]) -> str:
    return f'{_chips(inputs)} {_span("→", "arrow-inline")} {_chips(outputs)}'


def task_card(task: "Task") -> str:
    from distilabel_nb.display.facts import task_facts

    facts = task_facts(task)
    rows = [("columns", _io(facts.inputs, facts.outputs)),
            ("system prompt", _pre(facts.system_prompt) if facts.system_prompt else _muted("none"))]
    rows += [(name, _value(value)) for name, value in facts.settings]
    if facts.template_source is not None:
        lines = facts.template_source.count("\n") + 1
        template = _section("Template", _pre(facts.template_source, highlight="jinja", tall=True),
                            f"{facts.template_name} · {lines} lines · jinja2")
    else:
        template = _section("Template", _error_box(facts.template_error or "no template", "template"))
    if facts.example is not None:
        example = _pre(facts.example.formatted_prompt, tall=True)
    else:
        example = _error_box(facts.example_error or "", "cannot render")
    example = _section("Example prompt", example, "placeholder inputs in ‹ ›")
    body = _facts(rows) + f'<div class="{_cls("pair")}">{template}{example}</div>'
    return _card("Task", facts.name, badges=[_kind_badge(facts.kind)], sub=escape(facts.description),
                 body=body, variant="task")


# -- LLM -------------------------------------------------------------------------------------

def _params(params: Sequence[tuple[str, Any, bool]]) -> str:
    items = "".join(
        f'<span class="{_cls("param", "param-set" if changed else "")}" title="{"set" if changed else "default"}">'
        f'{_span(name, "param-name")} {_span(plain(value), "param-value")}</span>'
        for name, value, changed in params)
    return f'<div class="{_cls("params")}">{items}</div>'


def llm_card(llm: "LLM") -> str:
    from distilabel_nb.display.facts import llm_facts

    facts = llm_facts(llm)
    where = _span(facts.location, "code", title=facts.full_location) if facts.location else _muted("in this Python process")
    if facts.location_detail:
        where += " " + _muted(facts.location_detail)
    fmt = _span(facts.prompt_format, "code")
    if facts.prompt_format == "chat_template":
        fmt += " " + _muted("the model's own chat template")
    rows = [(facts.location_kind, where), ("prompt format", fmt), ("concurrency", _span(facts.max_concurrency, "num"))]
    rows += [(label, _span(value, "code" if label == "cache" else "num")) for label, value in facts.extras]
    rows.append(("generation", _params(facts.params)))
    task = facts.task
    task_line = (f'{_span(task.name, "strong")} {_kind_badge(str(getattr(task, "kind", "task")))} '
                 f'{_io(task.input_args_names, task.output_args_names)}')
    rows.append(("task", task_line + _details(_muted("task card"), render(task))))
    example = _error_box(facts.example_error, "cannot render") if facts.example_error else _formatted(facts.example_sent)
    body = _facts(rows) + _section("Example request", _details(_muted("the task's example prompt, as this LLM sends it"), example))
    badges = [_badge(facts.backend, "accent"), _badge("local" if facts.location_kind == "local file" else facts.location_kind)]
    return _card("LLM", facts.model_name, badges=badges, sub=f"{escape(facts.class_name)} running {escape(task.name)}",
                 body=body, variant="llm")


# -- LLMOutput -------------------------------------------------------------------------------

def _output_scales(output: "LLMOutput") -> dict[str, tuple[float, float]]:
    """Each score's ``(low, high)``: the task's scale, else guessed from names and values (an output made by hand)."""
    if output.scales:
        return {name: scale.bounds for name, scale in output.scales.items()}
    parsed = {str(k): v for k, v in (output.parsed_output or {}).items() if schema.looks_like_score(str(k))}
    values = [v for value in parsed.values() for v in (value if isinstance(value, list) else [value])
              if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return dict.fromkeys(parsed, schema.guess_scale(values).bounds)


def output_card(output: "LLMOutput") -> str:
    from distilabel_nb.display.facts import formatted_as_text, number

    badges = [_badge("ok", "ok") if output.ok else _badge(f"{output.error_kind or 'error'} error", "err")]
    usage = output.usage or {}
    if usage:
        badges.append(_badge(f"{number(usage.get('prompt_tokens', 0))} + {number(usage.get('completion_tokens', 0))} tokens",
                             title="prompt + completion tokens"))
    body = _error_box(output.error, f"{output.error_kind or 'error'} error") if output.error else ""
    scales = _output_scales(output)
    if output.parsed_output:
        parsed = _facts([(str(k), _value(v, scales.get(str(k)))) for k, v in output.parsed_output.items()])
    else:
        parsed = _muted("nothing could be read")
    rows = [("parsed", parsed),
            ("raw output", _text(output.raw_output) if output.raw_output else _muted("no answer"))]
    prompt_text = formatted_as_text(output.prompt_used)
    rows.append(("prompt sent", _details(_muted(_preview_line(prompt_text, 90)), _formatted(output.prompt_used))
                 if output.prompt_used is not None else _muted("not sent")))
    return _card("Output", output.model_name, badges=badges, body=body + _facts(rows),
                 variant="output-error" if output.error else "output")


# -- Pipeline and runs -----------------------------------------------------------------------

def _flow(pipeline: "Pipeline") -> str:
    from distilabel_nb.display.facts import pipeline_flow

    parts = []
    for index, step in enumerate(pipeline_flow(pipeline)):
        if index:
            parts.append(f'<div class="{_cls("edge")}">{_span("→", "arrow")}{_chips(step.columns_in, "")}</div>')
        columns = _chips(step.columns_out)
        if step.more:
            columns += f'<span class="{_cls("node-detail")}">{escape(step.more)}</span>'
        parts.append(
            f'<div class="{_cls("node", "node-" + step.role)}">{_span(step.role, "node-role")} '
            f'{_span(step.title, "node-title")} {_span(step.detail, "node-detail")} {columns}</div>')
    return f'<div class="{_cls("flow")}">{" ".join(parts)}</div>'


_STATUS_TONE = {"finished": "ok", "running": "accent", "failed": "err", "cancelled": "warn", "pending": "muted"}


def _progress(label: str, count: int, total: int, failures: int) -> str:
    from distilabel_nb.display.facts import number

    share = count / total if total else 0.0
    failed = failures / total if total else 0.0
    note = f"{number(count)} / {number(total)}" + (f" · {number(failures)} failed" if failures else "")
    return (f'<div class="{_cls("progress")}">{_span(label, "progress-label")} '
            f'<span class="{_cls("bar")}">{_bar(share - failed)}{_bar(failed, "fill-err")}</span>'
            f' {_span(note, "progress-note", "err-text" if failures else "")}</div>')


def _run_body(state: "RunState") -> str:
    from distilabel_nb.display.facts import number, run_facts

    facts = run_facts(state)
    bars = []
    if facts.generated is not None:
        bars.append(_progress("generated", facts.generated, facts.total_rows, facts.generation_failures))
    if facts.labelled is not None:
        bars.append(_progress("labelled", facts.labelled, facts.total_rows, facts.labelling_failures))
    bars.append(_progress("rows done", facts.done, facts.total_rows, 0))
    stats = [("tokens", number(facts.tokens)), ("elapsed", duration(facts.elapsed)),
             ("speed", f"{facts.rows_per_second:.2f} rows/s")]
    if facts.remaining is not None:
        stats.append(("remaining", f"~{duration(facts.remaining)}"))
    stats_html = " ".join(f'<span class="{_cls("stat")}">{_span(v, "stat-value")} {_span(k, "stat-label")}</span>' for k, v in stats)
    error = _error_box(facts.error, "run failed") if facts.error else ""
    return f'{error}<div class="{_cls("bars")}">{"".join(bars)}</div><div class="{_cls("stats")}">{stats_html}</div>'


def _run_badges(state: "RunState") -> list[str]:
    badges = [_badge(state.status, _STATUS_TONE.get(state.status, "muted"))]
    for step, count in (("generation", state.generation_failures), ("labelling", state.labelling_failures)):
        if count:
            badges.append(_badge(f"{count} failed {step}", "err"))
    return badges


def run_state_card(state: "RunState") -> str:
    return _card("Run", f"{state.done} / {state.total_rows} rows", badges=_run_badges(state), body=_run_body(state), variant="run")


def _run_errors(run: "Run") -> str:
    from distilabel_nb.display.facts import run_errors

    errors = run_errors(run)
    if not errors:
        return ""
    boxes = "".join(_error_box(message, f"row {label} · {column}") for column, label, message in errors)
    return _section("Errors", boxes, "first distinct ones; all are in the result's *_error columns")


def run_card(run: "Run") -> str:
    state = run.state
    return _card("Run", f"{state.done} / {state.total_rows} rows", badges=_run_badges(state),
                 body=_run_body(state) + _run_errors(run), variant="run")


def pipeline_card(pipeline: "Pipeline") -> str:
    steps = [llm.task.name for llm in (pipeline.generator, pipeline.labeller) if llm is not None]
    run = pipeline.last_run
    badges = _run_badges(run.state) if run is not None else [_badge("not run yet")]
    if run is not None:
        state = run.state
        last = _section("Last run", _run_body(state), f"{state.done} / {state.total_rows} rows") + _run_errors(run)
    else:
        last = _section("Last run", _muted("not run yet: call pipeline.generate(dataset)"))
    llms = "".join(_details(f'{_span(role, "strong")} {_muted(llm.model_name)}', render(llm))
                   for role, llm in (("generator", pipeline.generator), ("labeller", pipeline.labeller)) if llm is not None)
    return _card("Pipeline", " → ".join(steps), badges=badges, body=_flow(pipeline) + last + _section("LLMs", llms),
                 variant="pipeline")


# -- Results ---------------------------------------------------------------------------------

def _cell(view: "ResultsView", row: Any, column: Any) -> str:
    value = view.cell(row, column.name)
    if column.kind == "error":
        return _muted("—") if _missing(value) else _error_box(value)
    if column.kind == "rating":
        return _value(value, view.scale_of(column.name))
    if column.kind == "generations":
        return _answers(view, row, column)
    if isinstance(value, str):
        return _text(value, view.fold_chars) if value else _muted("(empty)")
    return _value(value)


def _missing(value: Any) -> bool:
    from distilabel_nb.display.facts import is_missing

    return is_missing(value)


def _answers(view: "ResultsView", row: Any, column: Any) -> str:
    answers = view.cell(row, column.name)
    if not isinstance(answers, (list, tuple)):
        return _muted("—") if _missing(answers) else _text(str(answers), view.fold_chars)
    aligned = {name: view.cell(row, name) for name in column.aligned}
    items = []
    for i, answer in enumerate(answers):
        head = [_span(f"#{i + 1}", "answer-no")]
        notes = []
        for name, values in aligned.items():
            if not isinstance(values, (list, tuple)):
                continue  # not labelled: no badge rather than a "?"
            value = values[i] if i < len(values) else None
            if view.is_rating(name):
                head.append(_rating(value, *view.scale_of(name)))
            elif not _missing(value):
                notes.append(f'<div class="{_cls("answer-note")}">{_span(name, "note-label")} {_text(str(value), view.fold_chars)}</div>')
        text = _text(answer, view.fold_chars) if isinstance(answer, str) and answer else _muted("no answer")
        items.append(f'<li class="{_cls("answer")}"><div class="{_cls("answer-head")}">{" ".join(head)}</div>'
                     f'{text}{"".join(notes)}</li>')
    return f'<ol class="{_cls("answers")}">{"".join(items)}</ol>' if items else _muted("(no answers)")


def results_card(view: "ResultsView") -> str:
    from distilabel_nb.display.facts import number

    summary = view.summary()
    badges = []
    if summary.answers_per_row:
        badges.append(_badge(f"{summary.answers_per_row} answer{'s' if summary.answers_per_row > 1 else ''} per row"))
    if summary.rating_mean is not None:
        low, high = view.scale_of(summary.rating_column)
        badges.append(_badge(f"mean {summary.rating_column} {summary.rating_mean:.2f}", "accent",
                             title=f"over {summary.rating_count} ratings, on {number(low)}–{number(high)}"))
    if summary.ratings_unread:
        badges.append(_badge(f"{summary.ratings_unread} ratings unread", "warn"))
    for name, count in summary.failures:
        badges.append(_badge(f"{count} {name.replace('_', ' ')}{'s' if count != 1 else ''}", "err" if count else "ok"))
    sub = " · ".join(f"{escape(role)} {_span(models, 'strong')}" for role, models in summary.models)
    # Errors get a full-width line under their row; as columns they would be narrow and mostly empty.
    errors = [c for c in view.columns if c.kind == "error"]
    main = [c for c in view.columns if c.kind != "error"] or view.columns
    errors = [c for c in errors if c not in main]
    head = f'<th class="{_cls("idx")}">#</th>' + "".join(
        f'<th class="{_cls("col-" + c.kind)}">{escape(c.name)}</th>' for c in main)
    body_rows = []
    for label, row in view.rows().iterrows():
        cells = "".join(f'<td class="{_cls("col-" + c.kind)}">{_cell(view, row, c)}</td>' for c in main)
        found = [(c.name, view.cell(row, c.name)) for c in errors if not _missing(view.cell(row, c.name))]
        rowspan = ' rowspan="2"' if found else ""
        index = f'<th class="{_cls("idx")}"{rowspan}>{escape(label)}</th>'
        if not found:
            body_rows.append(f"<tr>{index}{cells}</tr>")
            continue
        boxes = "".join(_error_box(message, name) for name, message in found)
        body_rows.append(f'<tr class="{_cls("row-error", "row-has-errors")}">{index}{cells}</tr>'
                         f'<tr class="{_cls("row-error", "row-errors")}"><td colspan="{len(main)}">{boxes}</td></tr>')
    if not body_rows:
        body_rows.append(f'<tr><td colspan="{len(main) + 1}">{_muted("no rows")}</td></tr>')
    table = (f'<div class="{_cls("scroll")}"><table class="{_cls("table")}"><thead><tr>{head}</tr></thead>'
             f'<tbody>{"".join(body_rows)}</tbody></table></div>')
    foot = [f"rows {number(view.first_row)}–{number(view.last_row)} of {number(len(view.df))}",
            f"page {view.page} of {view.pages}"]
    if view.page < view.pages:
        foot.append(f"next: show_results(df, page={view.page + 1})")
    foot_html = " · ".join(escape(part) for part in foot)
    if view.hidden:
        foot_html += f'<br>{_muted("hidden: " + ", ".join(view.hidden) + " (columns=… to show)")}'
    return _card("Results", f"{number(summary.rows)} rows", badges=badges, sub=sub,
                 body=table + f'<div class="{_cls("foot")}">{foot_html}</div>', variant="results")
