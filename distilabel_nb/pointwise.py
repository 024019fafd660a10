"""Pointwise labelling: each answer rated in its own call, so there is no position to echo.

A list-wise labeller sees every answer of a row at once, and a small judge often rates
their places rather than their content. :func:`pointwise` wraps such a labeller so that
each answer is sent alone (the same task, with a one-answer list) and the ratings are
joined back into the row's lists: it is an LLM like any other, usable as a Pipeline's
labeller, and every call goes through the wrapped LLM's cache. :func:`compare_modes`
audits both modes on the same rows.

Example:
    >>> from distilabel_nb import LlamaCppLLM, Pipeline, UltraFeedbackTask
    >>> judge = LlamaCppLLM(task=UltraFeedbackTask(structured=True))  # doctest: +SKIP
    >>> Pipeline(labeller=pointwise(judge)).generate(rows)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from distilabel_nb.audit import PositionAudit, ask, audit_labels, labeller_parts, preference
from distilabel_nb.llms.base import LLM, Completion, LLMOutput, PreparedCall
from distilabel_nb.prompt import FormattedPrompt
from distilabel_nb.report import Share
from distilabel_nb.rich_repr import HTMLRepr
from distilabel_nb.tasks.parsing import as_text_list


@dataclass
class PointwiseCall(PreparedCall):
    """A row's call split into one call per answer (``parts``)."""

    parts: Sequence[PreparedCall] = ()

    @property
    def answered(self) -> bool:
        return self.input_error is not None or all(part.answered for part in self.parts)


class PointwiseLLM(LLM):
    """A labeller that rates each answer of a row in its own call (see :func:`pointwise`).

    Everything but the splitting is the wrapped LLM's: model, task, parameters, cache,
    concurrency. The row's outputs are lists aligned with its answers, as in list-wise
    mode; ``labelling_prompt`` holds one prompt per answer, and ``raw_labelling_response``
    every raw answer under a ``[text N]`` heading.
    """

    backend = "pointwise"
    mode = "pointwise"

    def __init__(self, llm: LLM):  # the wrapped LLM holds every setting: LLM.__init__ is not needed
        labeller_parts(llm)
        if isinstance(llm, PointwiseLLM):
            raise TypeError("this labeller is pointwise already")
        self.inner = llm

    def __getattr__(self, name: str) -> Any:  # task, params, cache, model facts: the wrapped LLM's
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "inner":
            object.__setattr__(self, name, value)
        else:
            setattr(self.inner, name, value)

    def __getstate__(self) -> dict[str, Any]:
        return {"inner": self.inner}

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "inner", state["inner"])

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    @property
    def model_identity(self) -> dict[str, Any]:
        return self.inner.model_identity

    async def _complete(self, prompt: FormattedPrompt, num_generations: int, schema: dict[str, Any] | None = None) -> list[Completion]:
        return await self.inner._complete(prompt, num_generations, schema)

    def split(self, inputs: dict[str, Any]) -> list[dict[str, Any]]:
        """One input dict per answer of the row (each with a one-answer list).

        Raises:
            ValueError: when the row's answers are not a list of texts.
        """
        texts = self.task.texts_input
        return [{**inputs, texts: [answer]} for answer in as_text_list(inputs.get(texts), texts)]

    def join(self, outputs: Sequence[LLMOutput]) -> LLMOutput:
        """One row's output from its answers' outputs: lists aligned with the answers."""
        parsed: dict[str, list[Any]] = {}
        for name in self.task.output_args_names:
            values = []
            for output in outputs:
                value = (output.parsed_output or {}).get(name)
                values.append(value[0] if isinstance(value, list) and len(value) == 1 else value)
            parsed[name] = values
        errors = [(i, o) for i, o in enumerate(outputs) if o.error]
        error = "; ".join(f"text {i + 1}: {o.error}" for i, o in errors) or None
        usage: dict[str, int] = {}
        for output in outputs:
            for key, count in output.usage.items():
                usage[key] = usage.get(key, 0) + count
        raw = "\n\n".join(f"[text {i + 1}]\n{o.raw_output}" for i, o in enumerate(outputs) if o.raw_output is not None)
        return LLMOutput(self.model_name, [o.prompt_used for o in outputs], raw or None, parsed, error=error,  # type: ignore[arg-type]
                         usage=usage, error_kind=errors[0][1].error_kind if errors else None,
                         cached=all(o.cached for o in outputs))

    # -- the LLM's path, each answer its own call --
    def prepare(self, inputs: dict[str, Any], num_generations: int = 1) -> PreparedCall:
        try:
            rows = self.split(inputs)
        except ValueError as exc:
            return PointwiseCall(inputs, None, None, [], [None] * num_generations, input_error=str(exc))
        parts = [self.inner.prepare(row, 1) for row in rows]
        bad = [f"text {i + 1}: {p.input_error}" for i, p in enumerate(parts) if p.input_error]
        return PointwiseCall(inputs, None, None, [k for p in parts for k in p.keys], [None] * num_generations,
                             input_error="; ".join(bad) or None, parts=parts)

    def look_up(self, calls: Sequence[PreparedCall]) -> None:
        self.inner.look_up([part for call in calls for part in getattr(call, "parts", ())])

    def outputs_from_cache(self, call: PreparedCall) -> list[LLMOutput] | None:
        if call.input_error is not None:
            return self._outputs_for_error(None, "input", call.input_error, len(call.answers))
        if not call.answered:
            return None
        return [self.join([self.inner.outputs_from_cache(part)[0] for part in call.parts])] * len(call.answers)  # type: ignore[index,attr-defined]

    async def acomplete(self, call: PreparedCall) -> list[LLMOutput]:
        ready = self.outputs_from_cache(call)
        if ready is not None:
            return ready
        answers = await asyncio.gather(*(self.inner.acomplete(part) for part in call.parts))  # type: ignore[attr-defined]
        return [self.join([outputs[0] for outputs in answers])] * len(call.answers)

    def rate_rows(self, inputs: list[dict[str, Any]]) -> tuple[list[LLMOutput], int]:
        """One joined output per row, and how many of the answers' calls were paid (not cached)."""
        splits = []
        for row in inputs:
            try:
                splits.append(self.split(row))
            except ValueError:
                splits.append(None)
        flat = [part for parts in splits if parts for part in parts]
        answers, calls = ask(self.inner, flat)
        outputs, start = [], 0
        for row, parts in zip(inputs, splits):
            if parts is None:
                outputs.append(self.outputs_from_cache(self.prepare(row))[0])  # type: ignore[index]
                continue
            outputs.append(self.join(answers[start:start + len(parts)]))
            start += len(parts)
        return outputs, calls

    def __repr__(self) -> str:
        return f"pointwise({self.inner!r})"


def pointwise(labeller: LLM) -> PointwiseLLM:
    """The labeller with each answer of a row rated in its own call.

    Raises:
        TypeError: when ``labeller`` does not rate a list of answers with one score each.

    Example:
        >>> from distilabel_nb.tasks import UltraFeedbackTask
        >>> from distilabel_nb.llms.openai import OpenAILLM
        >>> judge = pointwise(OpenAILLM("m", UltraFeedbackTask(), base_url="http://127.0.0.1:9/v1", api_key="x"))
        >>> judge.split({"input": "2+2?", "generations": ["4", "5"]})
        [{'input': '2+2?', 'generations': ['4']}, {'input': '2+2?', 'generations': ['5']}]
    """
    return PointwiseLLM(labeller)


def rate_pointwise(df: pd.DataFrame, labeller: LLM) -> tuple[pd.DataFrame, int]:
    """The rows of ``df`` labelled pointwise: its output columns and ``labelling_error`` replaced.

    Returns:
        ``(frame, calls)``: a copy of ``df`` with the pointwise labels, and the calls paid.
    """
    judge = labeller if isinstance(labeller, PointwiseLLM) else pointwise(labeller)
    _, _, inputs = labeller_parts(judge)
    outputs, calls = judge.rate_rows([{name: row[name] for name in inputs} for _, row in df.iterrows()])
    frame = df.copy()
    for name in judge.task.output_args_names:
        frame[name] = pd.Series([(o.parsed_output or {}).get(name) for o in outputs], index=df.index, dtype=object)
    frame["labelling_error"] = pd.Series([o.error for o in outputs], index=df.index, dtype=object)
    frame["labelling_model"] = judge.model_name
    return frame, calls


@dataclass(frozen=True, repr=False)
class ModeComparison(HTMLRepr):
    """The list-wise and the pointwise audit of the same rows (see :func:`compare_modes`)."""

    listwise: PositionAudit
    pointwise: PositionAudit
    agreement: Share
    pointwise_labels: pd.DataFrame
    calls: int

    def table(self) -> pd.DataFrame:
        """One row per mode: rows, consistency with its interval, ties, failures, calls."""
        records = {}
        for name, audit in (("list-wise", self.listwise), ("pointwise", self.pointwise)):
            consistency = audit.position_consistency
            records[name] = {"rows": audit.n_audited, "decisive": consistency.total,
                             "position_consistency": consistency.value, "low": consistency.low,
                             "high": consistency.high, "tie_rate": audit.tie_rate.value,
                             "failure_rate": audit.failure_rate.value, "calls": audit.calls}
        records["pointwise"]["calls"] = self.calls - self.listwise.calls
        return pd.DataFrame.from_dict(records, orient="index")

    def verdict(self) -> str:
        """Both figures in plain sentences."""
        listwise, pointwise_ = self.listwise.position_consistency, self.pointwise.position_consistency
        ties = self.pointwise.tie_rate
        return (f"List-wise, the preferred answer survived the swap in {listwise.count} of {listwise.total} rows "
                f"({listwise.percent()}); pointwise, where each answer is rated alone, in {pointwise_.count} of "
                f"{pointwise_.total} ({pointwise_.percent()}), with {ties.count} of {ties.total} rows tied. "
                f"The two modes prefer the same answer in {self.agreement.count} of {self.agreement.total} rows "
                "where both have a preference.")

    def __repr__(self) -> str:
        return (f"ModeComparison({self.listwise.labeller}: {self.listwise.n_audited} rows, {self.calls} new calls)\n"
                f"  {self.verdict()}\n" + self.table().to_string(float_format=lambda x: f"{x:.2f}"))


def compare_modes(df: pd.DataFrame, labeller: LLM, sample: int | float | None = None, seed: int = 0) -> ModeComparison:
    """Audit the list-wise labels of ``df`` and a pointwise labelling of the same rows.

    The list-wise audit is :func:`~distilabel_nb.audit.audit_labels`; then the audited rows
    are rated pointwise (each answer alone, through the cache) and audited the same way.

    Returns:
        A :class:`ModeComparison`: both audits, how often the modes prefer the same answer,
        and the pointwise labels.
    """
    if isinstance(labeller, PointwiseLLM):
        raise TypeError("compare_modes takes the list-wise labeller; it builds the pointwise one itself")
    listwise = audit_labels(df, labeller, sample, seed)
    rows, calls = rate_pointwise(df.loc[listwise.rows["row"].tolist()], labeller)
    judge = pointwise(labeller)
    audit = audit_labels(rows, judge)
    same = total = 0
    for original, label in zip(listwise.rows["original"], listwise.rows["row"]):
        first, _, _ = preference(original)
        second, _, _ = preference(rows.at[label, judge.task.score_column])
        if first is not None and second is not None:
            total, same = total + 1, same + (first == second)
    return ModeComparison(listwise, audit, Share(same, total), rows, listwise.calls + calls + audit.calls)


__all__ = ["ModeComparison", "PointwiseLLM", "compare_modes", "pointwise", "rate_pointwise"]
