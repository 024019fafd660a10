"""The text twin of every HTML card: the same facts, as plain text.

Example:
    >>> from distilabel_nb import Prompt
    >>> print(describe(Prompt("Be brief.", "Hi")).splitlines()[0])
    Prompt · 11 chars, 1 line
"""

from __future__ import annotations

from typing import Any, Sequence

from distilabel_nb.cells import duration, is_missing, number, plain
from distilabel_nb.display.cost_cards import frame_cost, state_cost
from distilabel_nb.display.facts import formatted_as_text, llm_facts, prompt_formats, task_facts
from distilabel_nb.display.plaintext import INDENT, clip, describe, indented, io_text, one_line, rows, value_text
from distilabel_nb.display.readable import plural
from distilabel_nb.display.results import ResultsView
from distilabel_nb.schema import TRUNCATED
from distilabel_nb.display.run_facts import pipeline_flow, run_errors, run_facts
from distilabel_nb.display.views import PromptView
from distilabel_nb.llms.base import LLM, LLMOutput
from distilabel_nb.pipeline import Pipeline
from distilabel_nb.prompt import Prompt
from distilabel_nb.run import Run, RunState
from distilabel_nb.tasks.base import Task


# -- prompts ---------------------------------------------------------------------------------

def _prompt_text(prompt: Prompt, previews: Sequence[Any]) -> str:
    chars = len(prompt.system_prompt) + len(prompt.formatted_prompt)
    head = f"Prompt · {chars:,} chars, {plural(prompt.formatted_prompt.count(chr(10)) + 1, 'line')}"
    body = rows([("system", clip(prompt.system_prompt) if prompt.system_prompt else "none"),
                 ("user", clip(prompt.formatted_prompt, 40))])
    formats = [f"{INDENT}formats (as each model family receives it):"]
    for preview in previews:
        label = f"{preview.name} (in use)" if preview.chosen else preview.name
        text = f"error: {preview.error}" if preview.error else clip(formatted_as_text(preview.result), 8)
        formats.append(f"{INDENT * 2}{label}:\n{indented(text, INDENT * 3)}")
    return "\n".join([head, body, *formats])


@describe.register(Prompt)
def describe_prompt(prompt: Prompt) -> str:
    return _prompt_text(prompt, prompt_formats(prompt, chosen="default"))


@describe.register(PromptView)
def describe_prompt_view(view: PromptView) -> str:
    return _prompt_text(view.prompt, view.previews())


# -- tasks and LLMs --------------------------------------------------------------------------

@describe.register(Task)
def describe_task(task: Task) -> str:
    facts = task_facts(task)
    head = f"Task {facts.name} ({facts.kind})" + (f" — {facts.description}" if facts.description else "")
    pairs = [("columns", io_text(facts.inputs, facts.outputs)),
             ("system prompt", clip(facts.system_prompt) if facts.system_prompt else "none")]
    pairs += [(name, value_text(value)) for name, value in facts.settings]
    if facts.template_source is not None:
        pairs.append(("template", f"{facts.template_name} ({facts.template_source.count(chr(10)) + 1} lines, jinja2)"))
    else:
        pairs.append(("template", f"unavailable: {facts.template_error}"))
    example = clip(facts.example.formatted_prompt, 30) if facts.example is not None else f"cannot render: {facts.example_error}"
    return "\n".join([head, rows(pairs), f"{INDENT}example prompt (placeholder inputs in ‹ ›):", indented(example)])


@describe.register(LLM)
def describe_llm(llm: LLM) -> str:
    facts = llm_facts(llm)
    where_kind = "local" if facts.location_kind == "local file" else facts.location_kind
    head = f"LLM {facts.model_name} · {facts.backend} · {where_kind}"
    task = facts.task
    where = facts.location or "in this Python process"
    if facts.location_detail:
        where += f" ({facts.location_detail})"
    pairs = [("class", f"{facts.class_name} running {task.name} ({task.kind}): "
                       f"{io_text(task.input_args_names, task.output_args_names)}"),
             (facts.location_kind, where), ("prompt format", facts.prompt_format),
             ("concurrency", number(facts.max_concurrency))]
    pairs += list(facts.extras)
    params = ", ".join(f"{name}={plain(value)}" + ("*" if changed else "") for name, value, changed in facts.params)
    pairs.append(("generation", params + ("  (* set)" if any(c for *_, c in facts.params) else "")))
    if facts.example_error:
        pairs.append(("example request", f"cannot render: {facts.example_error}"))
    else:
        pairs.append(("example request", clip(formatted_as_text(facts.example_sent), 6)))
    return "\n".join([head, rows(pairs)])


@describe.register(LLMOutput)
def describe_output(output: LLMOutput) -> str:
    status = "ok" if output.ok else f"{output.error_kind or 'error'} error"
    usage = output.usage or {}
    tokens = f" · {number(usage.get('prompt_tokens', 0))} + {number(usage.get('completion_tokens', 0))} tokens" if usage else ""
    if output.finish_reason == TRUNCATED:
        tokens += " · cut at max_new_tokens"
    pairs = []
    if output.error:
        pairs.append(("error", output.error))
    parsed = "; ".join(f"{k}: {value_text(v)}" for k, v in output.parsed_output.items()) if output.parsed_output else "nothing could be read"
    pairs += [("parsed", parsed), ("raw output", clip(output.raw_output) if output.raw_output else "no answer"),
              ("prompt sent", one_line(formatted_as_text(output.prompt_used)) if output.prompt_used is not None else "not sent")]
    return "\n".join([f"Output {output.model_name} · {status}{tokens}", rows(pairs)])


# -- pipelines and runs ----------------------------------------------------------------------

def _run_lines(state: RunState) -> list[tuple[str, str]]:
    facts = run_facts(state)
    pairs = []
    if facts.generated is not None:
        pairs.append(("generated", f"{facts.generated} / {facts.total_rows}" + (f" · {facts.generation_failures} failed" if facts.generation_failures else "")))
        pairs += [(f"  {name}", f"{done} / {facts.total_rows}" + (f" · {failed} failed" if failed else ""))
                  for name, done, failed in facts.by_generator]
    if facts.labelled is not None:
        pairs.append(("labelled", f"{facts.labelled} / {facts.total_rows}" + (f" · {facts.labelling_failures} failed" if facts.labelling_failures else "")))
    stats = f"{number(facts.tokens)} tokens · {duration(facts.elapsed)} · {facts.rows_per_second:.2f} rows/s"
    if facts.remaining is not None:
        stats += f" · ~{duration(facts.remaining)} remaining"
    pairs += [("rows done", f"{facts.done} / {facts.total_rows}"), ("stats", stats),
              ("cost", " · ".join(text if label == "cost" else f"{label} {text}" for label, text in state_cost(state)))]
    if facts.error:
        pairs.append(("error", facts.error))
    pairs += [("warning", warning) for warning in facts.warnings]
    return pairs


@describe.register(RunState)
def describe_run_state(state: RunState) -> str:
    failed = "".join(f" · {count} failed {step}" for step, count in (
        ("generation", state.generation_failures), ("labelling", state.labelling_failures)) if count)
    return "\n".join([f"Run {state.status} · {state.done} / {state.total_rows} rows{failed}", rows(_run_lines(state))])


def _error_lines(run: Run, indent: str = INDENT) -> list[str]:
    errors = run_errors(run)
    if not errors:
        return []
    return [f"{indent}errors (first distinct ones):"] + [
        f"{indent * 2}row {label} · {column}: {one_line(message, 140)}" for column, label, message in errors]


@describe.register(Run)
def describe_run(run: Run) -> str:
    return "\n".join([describe_run_state(run.state), *_error_lines(run)])


@describe.register(Pipeline)
def describe_pipeline(pipeline: Pipeline) -> str:
    steps = pipeline_flow(pipeline)
    names = " → ".join(s.title for s in steps if s.role in ("generator", "labeller"))
    run = pipeline.last_run
    status = run.state.status if run is not None else "not run yet"
    if run is not None:
        state = run.state
        status += "".join(f" · {count} failed {step}" for step, count in (
            ("generation", state.generation_failures), ("labelling", state.labelling_failures)) if count)
    flow = []
    for index, step in enumerate(steps):
        if index and step.columns_in:
            flow.append(f"[{', '.join(step.columns_in)}]")
        if step.role == "dataset":
            flow.append(f"input rows with [{', '.join(step.columns_out)}]")
        elif step.role == "result":
            flow.append("DataFrame")
        else:
            flow.append(f"{step.role} {step.title} ({step.detail})")
    pairs = [("flow", " → ".join(flow)), ("adds columns", ", ".join(pipeline.generated_columns() + pipeline.labelled_columns()))]
    for role, llm in pipeline.roles():
        pairs.append((role, repr(llm)))
    lines = [f"Pipeline {names} · {status}", rows(pairs)]
    if run is not None:
        lines += [f"{INDENT}last run:", rows(_run_lines(run.state), INDENT * 2), *_error_lines(run, INDENT * 2)]
    else:
        lines.append(f"{INDENT}last run: not run yet (call pipeline.generate(dataset))")
    return "\n".join(lines)


# -- results ---------------------------------------------------------------------------------

@describe.register(ResultsView)
def describe_results(view: ResultsView) -> str:
    summary = view.summary()
    head = [f"Results · {number(summary.rows)} row{'s' if summary.rows != 1 else ''}"]
    if summary.answers_per_row:
        head.append(f"{summary.answers_per_row} answer{'s' if summary.answers_per_row > 1 else ''} per row")
    if summary.rating_mean is not None:
        low, high = view.scale_of(summary.rating_column)
        head.append(f"mean {summary.rating_column} {summary.rating_mean:.2f} on {number(low)}–{number(high)} over {summary.rating_count}")
    if summary.ratings_unread:
        head.append(f"{summary.ratings_unread} ratings unread")
    head += [f"{count} {name.replace('_', ' ')}{'s' if count != 1 else ''}" for name, count in summary.failures]
    lines = [" · ".join(head)]
    if summary.models:
        lines.append(" · ".join(f"{role} {models}" for role, models in summary.models))
    cost = frame_cost(view.df)
    if cost is not None:
        lines.append(cost)
    for label, row in view.rows().iterrows():
        lines.append(f"#{label}")
        for column in view.columns:
            value = view.cell(row, column.name)
            if column.kind == "generations" and isinstance(value, (list, tuple)):
                lines.append(f"{INDENT}{column.name}:")
                for i, answer in enumerate(value):
                    extras = []
                    for name in column.aligned:
                        values = view.cell(row, name)
                        item = values[i] if isinstance(values, (list, tuple)) and i < len(values) else None
                        extras.append((name, "?" if is_missing(item) and view.is_rating(name) else plain(item)))
                    cut = ["(cut at max_new_tokens)"] if view.was_cut(row, i) else []
                    parts = [f"#{i + 1}", *(f"[{v}]" for n, v in extras if view.is_rating(n)), *cut, one_line(plain(answer), 90)]
                    lines.append(INDENT * 2 + " ".join(parts))
                    lines += [f"{INDENT * 4}{n}: {one_line(v, 90)}" for n, v in extras if not view.is_rating(n) and v != "—"]
            elif column.kind == "error":
                if not is_missing(value):
                    lines.append(f"{INDENT}{column.name}: {one_line(value, 140)}")
            else:
                lines.append(f"{INDENT}{column.name}: {one_line(value_text(value), 120)}")
    if summary.rows == 0:
        lines.append(f"{INDENT}no rows")
    foot = f"rows {number(view.first_row)}–{number(view.last_row)} of {number(summary.rows)} · page {view.page} of {view.pages}"
    if view.page < view.pages:
        foot += f" · next: show_results(df, page={view.page + 1})"
    lines.append(foot)
    if view.hidden:
        lines.append(f"hidden: {', '.join(view.hidden)} (columns=… to show)")
    return "\n".join(lines)
