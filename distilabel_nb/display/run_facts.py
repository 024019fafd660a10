"""What the cards of pipelines and runs show, as plain data: the flow, progress, errors.

Example:
    >>> from distilabel_nb.run import RunState
    >>> run_facts(RunState(total_rows=4, has_generator=True, has_labeller=False)).labelled is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from distilabel_nb.cells import is_missing
from distilabel_nb.pipeline import Pipeline
from distilabel_nb.run import Run, RunState


@dataclass
class FlowStep:
    """One box of a pipeline diagram and the columns on the arrow into it."""

    role: str  # "dataset", "generator", "labeller", "result"
    title: str
    detail: str
    columns_in: list[str] = field(default_factory=list)
    columns_out: list[str] = field(default_factory=list)
    more: str = ""  # what columns_out leaves out


def pipeline_flow(pipeline: Pipeline) -> list[FlowStep]:
    """dataset → generator → labeller → result, with the columns that flow between them."""
    steps = [FlowStep("dataset", "input rows", "needs columns", [], list(pipeline.required_columns()))]
    added: list[str] = []
    for role, llm, columns in (("generator", pipeline.generator, pipeline.generated_columns()),
                               ("labeller", pipeline.labeller, pipeline.labelled_columns())):
        if llm is None:
            continue
        detail = f"{llm.model_name} · {llm.backend}"
        if role == "generator" and pipeline.generators is not None and pipeline.generators.several:
            detail = f"{len(pipeline.generators)} models: {pipeline.generators.describe()}"
        steps.append(FlowStep(role, llm.task.name, detail, list(llm.task.input_args_names), list(llm.task.output_args_names)))
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
    warnings: tuple[str, ...] = ()
    #: With several generators: (name, rows answered, rows failed) for each.
    by_generator: tuple[tuple[str, int, int], ...] = ()


def run_facts(state: RunState) -> RunFacts:
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
        warnings=tuple(state.warnings),
        by_generator=tuple((name, int(state.generated_by.get(name, 0)), int(state.generation_failures_by.get(name, 0)))
                           for name in state.generators),
    )


def run_errors(run: Run, limit: int = 3) -> list[tuple[str, Any, str]]:
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
