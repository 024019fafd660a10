"""A pipeline's generators: one LLM or several, the name each one's answers carry, a row's answers joined.

``Pipeline(generator=[llm_a, llm_b])`` asks every generator for ``num_generations``
answers to each row; the row's ``generations`` hold generator A's answers, then B's,
and ``generation_model`` names the generator of each answer. Each generator keeps its
own concurrency, rate limits and cache: the executor sends a row to all of them at once.

A generator is named by its model; two generators of the same model (the bundled model
at two temperatures) are told apart by the settings in which they differ, e.g.
``SmolLM2-135M-Instruct (temperature=0.2)``. Give names yourself with a dict:
``Pipeline(generator={"cold": llm_a, "hot": llm_b})``.

Example:
    >>> cold = LlamaCppLLM(task=TextGenerationTask(), temperature=0.2)  # doctest: +SKIP
    >>> Generators([cold, cold.replace(temperature=1.2)]).names         # doctest: +SKIP
    ('SmolLM2-135M-Instruct (temperature=0.2)', 'SmolLM2-135M-Instruct (temperature=1.2)')
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterator, Mapping, Sequence

from distilabel_nb.errors import InvalidArgument, InvalidType
from distilabel_nb.llms.base import LLM, LLMOutput
from distilabel_nb.usage import StepUsage


def _settings(llm: LLM) -> dict[str, Any]:
    return llm.params.model_dump()


def _names(llms: Sequence[LLM]) -> tuple[str, ...]:
    """Each generator's model name, with the settings that tell apart generators of the same model."""
    names = [llm.model_name for llm in llms]
    repeated = {name for name, count in Counter(names).items() if count > 1}
    for name in repeated:
        same = [i for i, n in enumerate(names) if n == name]
        settings = [_settings(llms[i]) for i in same]
        differing = [key for key in settings[0] if len({repr(s.get(key)) for s in settings}) > 1]
        for i, own in zip(same, settings):
            if differing:
                names[i] = f"{name} ({', '.join(f'{key}={own.get(key)!r}' for key in differing)})"
    totals, counts = Counter(names), Counter()
    for i, name in enumerate(list(names)):  # the same model with the same settings: numbered
        counts[name] += 1
        if totals[name] > 1:
            names[i] = f"{name} #{counts[name]}"
    return tuple(names)


def joined_usage(parts: Sequence[StepUsage]) -> StepUsage:
    """One row's generation usage from each generator's: tokens and cost added up, the longest wait.

    The generators answer side by side, so the row waited for the slowest of them. A cost
    unknown for one generator makes the row's cost unknown (``None``).
    """
    if len(parts) == 1:
        return parts[0]
    costs = [part.cost for part in parts]
    return StepUsage(
        prompt_tokens=sum(p.prompt_tokens for p in parts), completion_tokens=sum(p.completion_tokens for p in parts),
        cost=None if any(c is None for c in costs) else sum(c for c in costs if c is not None),
        latency_s=max((p.latency_s for p in parts), default=0.0), cached=bool(parts) and all(p.cached for p in parts),
        billed_prompt_tokens=sum(p.billed_prompt_tokens for p in parts),
        billed_completion_tokens=sum(p.billed_completion_tokens for p in parts))


class Generators:
    """The generator LLMs of a pipeline, in the order their answers appear in a row.

    Args:
        given: One LLM, a list of LLMs, or a dict ``{name: LLM}`` naming each one.

    Raises:
        InvalidType: for an item that is not an LLM.
        InvalidArgument: for an empty list, a name that is not a non-empty string, or
            generators whose tasks write different columns.
    """

    def __init__(self, given: LLM | Sequence[LLM] | Mapping[str, LLM]):
        if isinstance(given, LLM):
            llms, names = [given], None
        elif isinstance(given, Mapping):
            bad = [name for name in given if not isinstance(name, str) or not name.strip()]
            if bad:
                raise InvalidArgument(f"generator names must be non-empty strings, got {bad!r}: "
                                      "Pipeline(generator={'cold': llm_a, 'hot': llm_b})")
            llms, names = list(given.values()), tuple(given)
        elif isinstance(given, (list, tuple)):
            llms, names = list(given), None
        else:
            raise InvalidType(f"generator must be an LLM, a list of LLMs or a dict of them, got {type(given).__name__}")
        if not llms:
            raise InvalidArgument("generator=[] has no LLM: pass one LLM, a list of them, or leave generator out")
        for position, llm in enumerate(llms):
            if not isinstance(llm, LLM):
                where = "generator" if len(llms) == 1 and isinstance(given, LLM) else f"generator {position + 1}"
                raise InvalidType(f"{where} must be an LLM (LlamaCppLLM, OpenAILLM, …), got {type(llm).__name__}")
        columns = {tuple(llm.task.output_args_names) for llm in llms}
        if len(columns) > 1:
            listed = "; ".join(f"{llm.task.name} writes {list(llm.task.output_args_names)}" for llm in llms)
            raise InvalidArgument(f"the generators' tasks write different columns ({listed}): their answers go side "
                                  "by side in one row, so give every generator a task with the same outputs "
                                  "(e.g. TextGenerationTask)")
        self.llms: tuple[LLM, ...] = tuple(llms)
        self.names: tuple[str, ...] = names or _names(self.llms)

    def __len__(self) -> int:
        return len(self.llms)

    def __iter__(self) -> Iterator[LLM]:
        return iter(self.llms)

    def __getitem__(self, position: int) -> LLM:
        return self.llms[position]

    @property
    def several(self) -> bool:
        return len(self.llms) > 1

    @property
    def first(self) -> LLM:
        return self.llms[0]

    @property
    def input_args_names(self) -> list[str]:
        """Every generator's inputs, each once, in order."""
        return list(dict.fromkeys(name for llm in self.llms for name in llm.task.input_args_names))

    @property
    def output_args_names(self) -> list[str]:
        return list(self.first.task.output_args_names)

    def max_concurrency(self) -> int:
        return sum(llm.max_concurrency for llm in self.llms)

    def models(self, num_generations: int) -> list[str]:
        """The name of each answer's generator, in a row's order of answers."""
        return [name for name in self.names for _ in range(num_generations)]

    def join(self, outputs: Sequence[Sequence[LLMOutput]]) -> list[LLMOutput]:
        """One row's answers, generator after generator, from each generator's outputs."""
        return [output for own in outputs for output in own]

    def describe(self) -> str:
        return ", ".join(self.names)

    def __repr__(self) -> str:
        return f"Generators({', '.join(self.names)})"
