"""The cards of the core's objects: a prompt (and a prompt compared across formats), a task, an LLM and one output.

Each renderer is registered for its type beside it; every value goes through the pieces
of :mod:`~distilabel_nb.display.markup`, which escape it.

Example:
    >>> from distilabel_nb import Prompt
    >>> "Formats" in render(Prompt("Be brief.", "Hi"))
    True
"""

from __future__ import annotations

from typing import Any, Sequence

from distilabel_nb import schema
from distilabel_nb.schema import TRUNCATED
from distilabel_nb.cells import number, plain
from distilabel_nb.display.facts import FormatPreview, formatted_as_text, llm_facts, prompt_formats, task_facts
from distilabel_nb.display.html import render
from distilabel_nb.display.markup import (
    badge, card, chips, cls, details, error_box, escape, folded_text, formatted, grid, muted, pre, preview_line,
    section, span, value,
)
from distilabel_nb.display.readable import plural
from distilabel_nb.display.views import PromptView
from distilabel_nb.llms.base import LLM, LLMOutput
from distilabel_nb.prompt import Prompt
from distilabel_nb.tasks.base import Task


# -- Prompt ----------------------------------------------------------------------------------

def _format_panels(previews: Sequence[FormatPreview]) -> str:
    panels = []
    for preview in previews:
        badges = badge("in use", "accent") if preview.chosen else ""
        body = error_box(preview.error) if preview.error else formatted(preview.result)
        kind = "chat messages" if preview.error is None and isinstance(preview.result, list) else "text"
        panels.append(
            f'<div class="{cls("format", "format-chosen" if preview.chosen else "")}">'
            f'<div class="{cls("format-head")}">{span(preview.name, "format-name")} {muted(kind)} {badges}</div>'
            f"{body}</div>")
    return f'<div class="{cls("formats")}">{"".join(panels)}</div>'


def _prompt_body(prompt: Prompt, previews: Sequence[FormatPreview]) -> str:
    system = pre(prompt.system_prompt) if prompt.system_prompt else muted("none")
    parts = grid([("system", system), ("user", pre(prompt.formatted_prompt, tall=True))])
    return parts + section("Formats", _format_panels(previews), "as each model family receives it")


def _prompt_card(prompt: Prompt, previews: Sequence[FormatPreview]) -> str:
    chars = len(prompt.system_prompt) + len(prompt.formatted_prompt)
    lines = prompt.formatted_prompt.count("\n") + 1
    badges = [badge(f"{chars:,} chars"), badge(plural(lines, "line"))]
    return card("Prompt", preview_line(prompt.formatted_prompt, 70) or "(empty)", badges=badges,
                 body=_prompt_body(prompt, previews), variant="prompt")


@render.register(Prompt)
def prompt_card(prompt: Prompt) -> str:
    return _prompt_card(prompt, prompt_formats(prompt, chosen="default"))


@render.register(PromptView)
def prompt_view_card(view: PromptView) -> str:
    return _prompt_card(view.prompt, view.previews())


# -- Task ------------------------------------------------------------------------------------

def _kind_badge(kind: str) -> str:
    return badge(kind, "accent" if kind == "generator" else "purple")


def _io(inputs: Sequence[str], outputs: Sequence[str]) -> str:
    return f'{chips(inputs)} {span("→", "arrow-inline")} {chips(outputs)}'


@render.register(Task)
def task_card(task: Task) -> str:
    facts = task_facts(task)
    rows = [("columns", _io(facts.inputs, facts.outputs)),
            ("system prompt", pre(facts.system_prompt) if facts.system_prompt else muted("none"))]
    rows += [(name, value(setting)) for name, setting in facts.settings]
    if facts.template_source is not None:
        lines = facts.template_source.count("\n") + 1
        template = section("Template", pre(facts.template_source, highlight="jinja", tall=True),
                           f"{facts.template_name} · {lines} lines · jinja2")
    else:
        template = section("Template", error_box(facts.template_error or "no template", "template"))
    if facts.example is not None:
        example = pre(facts.example.formatted_prompt, tall=True)
    else:
        example = error_box(facts.example_error or "", "cannot render")
    example = section("Example prompt", example, "placeholder inputs in ‹ ›")
    body = grid(rows) + f'<div class="{cls("pair")}">{template}{example}</div>'
    return card("Task", facts.name, badges=[_kind_badge(facts.kind)], sub=escape(facts.description),
                 body=body, variant="task")


# -- LLM -------------------------------------------------------------------------------------

def _params(params: Sequence[tuple[str, Any, bool]]) -> str:
    items = "".join(
        f'<span class="{cls("param", "param-set" if changed else "")}" title="{"set" if changed else "default"}">'
        f'{span(name, "param-name")} {span(plain(value), "param-value")}</span>'
        for name, value, changed in params)
    return f'<div class="{cls("params")}">{items}</div>'


@render.register(LLM)
def llm_card(llm: LLM) -> str:
    facts = llm_facts(llm)
    where = span(facts.location, "code", title=facts.full_location) if facts.location else muted("in this Python process")
    if facts.location_detail:
        where += " " + muted(facts.location_detail)
    fmt = span(facts.prompt_format, "code")
    if facts.prompt_format == "chat_template":
        fmt += " " + muted("the model's own chat template")
    rows = [(facts.location_kind, where), ("prompt format", fmt), ("concurrency", span(facts.max_concurrency, "num"))]
    rows += [(label, span(text, "code" if label == "cache" else "num")) for label, text in facts.extras]
    rows.append(("generation", _params(facts.params)))
    task = facts.task
    task_line = (f'{span(task.name, "strong")} {_kind_badge(str(task.kind))} '
                 f'{_io(task.input_args_names, task.output_args_names)}')
    rows.append(("task", task_line + details(muted("task card"), render(task))))
    example = error_box(facts.example_error, "cannot render") if facts.example_error else formatted(facts.example_sent)
    body = grid(rows) + section("Example request", details(muted("the task's example prompt, as this LLM sends it"), example))
    badges = [badge(facts.backend, "accent"), badge("local" if facts.location_kind == "local file" else facts.location_kind)]
    return card("LLM", facts.model_name, badges=badges, sub=f"{escape(facts.class_name)} running {escape(task.name)}",
                 body=body, variant="llm")


# -- LLMOutput -------------------------------------------------------------------------------

def _output_scales(output: LLMOutput) -> dict[str, tuple[float, float]]:
    """Each score's ``(low, high)``: the task's scale, else guessed from names and values (an output made by hand)."""
    if output.scales:
        return {name: scale.bounds for name, scale in output.scales.items()}
    parsed = {str(k): v for k, v in (output.parsed_output or {}).items() if schema.looks_like_score(str(k))}
    values = [v for value in parsed.values() for v in (value if isinstance(value, list) else [value])
              if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return dict.fromkeys(parsed, schema.guess_scale(values).bounds)


@render.register(LLMOutput)
def output_card(output: LLMOutput) -> str:
    badges = [badge("ok", "ok") if output.ok else badge(f"{output.error_kind or 'error'} error", "err")]
    usage = output.usage or {}
    if usage:
        badges.append(badge(f"{number(usage.get('prompt_tokens', 0))} + {number(usage.get('completion_tokens', 0))} tokens",
                            title="prompt + completion tokens"))
    if output.finish_reason == TRUNCATED:
        badges.append(badge("cut at max_new_tokens", "warn", title="finish_reason 'length': the answer is not whole"))
    body = error_box(output.error, f"{output.error_kind or 'error'} error") if output.error else ""
    scales = _output_scales(output)
    if output.parsed_output:
        parsed = grid([(str(k), value(v, scales.get(str(k)))) for k, v in output.parsed_output.items()])
    else:
        parsed = muted("nothing could be read")
    rows = [("parsed", parsed),
            ("raw output", folded_text(output.raw_output) if output.raw_output else muted("no answer"))]
    prompt_text = formatted_as_text(output.prompt_used)
    rows.append(("prompt sent", details(muted(preview_line(prompt_text, 90)), formatted(output.prompt_used))
                 if output.prompt_used is not None else muted("not sent")))
    return card("Output", output.model_name, badges=badges, body=body + grid(rows),
                variant="output-error" if output.error else "output")
