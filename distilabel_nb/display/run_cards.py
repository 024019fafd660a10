"""The cards of a pipeline and of its runs: the flow of columns, progress bars, the first errors.

Example:
    >>> from distilabel_nb.run import RunState
    >>> "rows done" in render(RunState(total_rows=3, has_generator=True, has_labeller=False))
    True
"""

from __future__ import annotations

from distilabel_nb.cells import duration, number
from distilabel_nb.display.cost_cards import state_cost
from distilabel_nb.display.html import render
from distilabel_nb.display.markup import badge, bar, card, chips, cls, details, error_box, escape, muted, section, span
from distilabel_nb.display.run_facts import pipeline_flow, run_errors, run_facts
from distilabel_nb.pipeline import Pipeline
from distilabel_nb.run import Run, RunState


def _flow(pipeline: Pipeline) -> str:
    parts = []
    for index, step in enumerate(pipeline_flow(pipeline)):
        if index:
            parts.append(f'<div class="{cls("edge")}">{span("→", "arrow")}{chips(step.columns_in, "")}</div>')
        columns = chips(step.columns_out)
        if step.more:
            columns += f'<span class="{cls("node-detail")}">{escape(step.more)}</span>'
        parts.append(
            f'<div class="{cls("node", "node-" + step.role)}">{span(step.role, "node-role")} '
            f'{span(step.title, "node-title")} {span(step.detail, "node-detail")} {columns}</div>')
    return f'<div class="{cls("flow")}">{" ".join(parts)}</div>'


_STATUS_TONE = {"finished": "ok", "running": "accent", "failed": "err", "cancelled": "warn", "pending": "muted"}


def _progress(label: str, count: int, total: int, failures: int) -> str:
    share = count / total if total else 0.0
    failed = failures / total if total else 0.0
    note = f"{number(count)} / {number(total)}" + (f" · {number(failures)} failed" if failures else "")
    return (f'<div class="{cls("progress")}">{span(label, "progress-label")} '
            f'<span class="{cls("bar")}">{bar(share - failed)}{bar(failed, "fill-err")}</span>'
            f' {span(note, "progress-note", "err-text" if failures else "")}</div>')


def _run_body(state: RunState) -> str:
    facts = run_facts(state)
    bars = []
    if facts.generated is not None:
        bars.append(_progress("generated", facts.generated, facts.total_rows, facts.generation_failures))
        bars += [_progress(f"· {name}", done, facts.total_rows, failed) for name, done, failed in facts.by_generator]
    if facts.labelled is not None:
        bars.append(_progress("labelled", facts.labelled, facts.total_rows, facts.labelling_failures))
    bars.append(_progress("rows done", facts.done, facts.total_rows, 0))
    stats = [("tokens", number(facts.tokens)), ("elapsed", duration(facts.elapsed)),
             ("speed", f"{facts.rows_per_second:.2f} rows/s")]
    if facts.remaining is not None:
        stats.append(("remaining", f"~{duration(facts.remaining)}"))
    stats += [(label, text) for label, text in state_cost(state) if label != "tokens in / out"]
    stats_html = " ".join(f'<span class="{cls("stat")}">{span(v, "stat-value")} {span(k, "stat-label")}</span>' for k, v in stats)
    error = error_box(facts.error, "run failed") if facts.error else ""
    error += "".join(error_box(warning, "warning") for warning in facts.warnings)
    return f'{error}<div class="{cls("bars")}">{"".join(bars)}</div><div class="{cls("stats")}">{stats_html}</div>'


def _run_badges(state: RunState) -> list[str]:
    badges = [badge(state.status, _STATUS_TONE.get(state.status, "muted"))]
    for step, count in (("generation", state.generation_failures), ("labelling", state.labelling_failures)):
        if count:
            badges.append(badge(f"{count} failed {step}", "err"))
    if state.warnings:
        badges.append(badge("warning", "warn"))
    return badges


@render.register(RunState)
def run_state_card(state: RunState) -> str:
    return card("Run", f"{state.done} / {state.total_rows} rows", badges=_run_badges(state), body=_run_body(state), variant="run")


def _run_errors(run: Run) -> str:
    errors = run_errors(run)
    if not errors:
        return ""
    boxes = "".join(error_box(message, f"row {label} · {column}") for column, label, message in errors)
    return section("Errors", boxes, "first distinct ones; all are in the result's *_error columns")


@render.register(Run)
def run_card(run: Run) -> str:
    state = run.state
    return card("Run", f"{state.done} / {state.total_rows} rows", badges=_run_badges(state),
                body=_run_body(state) + _run_errors(run), variant="run")


@render.register(Pipeline)
def pipeline_card(pipeline: Pipeline) -> str:
    steps = [llm.task.name for llm in (pipeline.generator, pipeline.labeller) if llm is not None]
    run = pipeline.last_run
    badges = _run_badges(run.state) if run is not None else [badge("not run yet")]
    if run is not None:
        state = run.state
        last = section("Last run", _run_body(state), f"{state.done} / {state.total_rows} rows") + _run_errors(run)
    else:
        last = section("Last run", muted("not run yet: call pipeline.generate(dataset)"))
    llms = "".join(details(f'{span(role, "strong")} {muted(llm.model_name)}', render(llm)) for role, llm in pipeline.roles())
    return card("Pipeline", " → ".join(steps), badges=badges, body=_flow(pipeline) + last + section("LLMs", llms),
                variant="pipeline")
