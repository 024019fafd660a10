"""Evol-Instruct and Evol-Quality: evolve instructions to be harder, answers to be better.

Evol-Instruct (Xu et al., "WizardLM", 2023) rewrites an instruction *in depth* (add a
constraint, deepen, make concrete, require reasoning) or *in breadth* (a new, rarer
instruction in the same domain). Evol-Quality (Liu et al., "Deita", 2023) rewrites an
answer to be more helpful, relevant, deep, creative or detailed.

Evolutions fail often, so both tasks run the elimination checks of the WizardLM paper
on each result: a failed evolution becomes a parse error that says why it was dropped
(the row keeps the raw answer), never a silent ``None``.

Each row's evolution method is chosen from its text and ``seed``, so re-running a cell
renders the same prompts; :meth:`EvolInstructTask.evolution_method_for` tells which.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

from distilabel_nb.prompt import Prompt
from distilabel_nb.tasks.base import Task
from distilabel_nb.tasks.parsing import OutputParseError
from distilabel_nb.tasks.settings import unknown_value

INSTRUCTION_METHODS: dict[str, str] = {
    "breadth": "Write a new instruction in the same domain, about something rarer.",
    "constraints": "Add one more constraint or requirement.",
    "deepen": "If it asks about an issue, ask about the issue in more depth and breadth.",
    "concretizing": "Replace general concepts with more specific ones.",
    "reasoning": "If a few simple thinking steps would solve it, require explicit reasoning in several steps.",
}

QUALITY_METHODS: dict[str, str] = {
    "helpfulness": "Make it more helpful to the user.",
    "relevance": "Make it more relevant to the instruction.",
    "depth": "Make it go deeper into the subject.",
    "creativity": "Make it more creative.",
    "details": "Add more of the details that matter.",
}

STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she should
so some such than that the their theirs them themselves then there these they this those through to
too under until up very was we were what when where which while who whom why will with would you your
yours yourself yourselves
""".split())

_REFUSAL = re.compile(r"\b(?:sorry|i cannot|i can't|i am unable|i'm unable|as an ai)\b", re.IGNORECASE)
_REFUSAL_MAX_WORDS = 80


def _normalized(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def elimination_reason(evolved: str, original: str | None = None, prompt_words: Sequence[str] = ()) -> str | None:
    """Why an evolution failed, or ``None`` when it passes the elimination checks.

    The checks, after the WizardLM paper: the result is empty; it is a short refusal
    ("sorry", fewer than 80 words); it has only punctuation and stop words; it copies
    wording from the evolution prompt (``prompt_words``); it repeats the original.

    Example:
        >>> elimination_reason("Sorry, I cannot help with that.")
        'looks like a refusal (says "Sorry" in 6 words)'
        >>> elimination_reason("List three prime numbers above 100.") is None
        True
    """
    if not evolved.strip():
        return "the answer is empty"
    words = evolved.split()
    refusal = _REFUSAL.search(evolved)
    if refusal and len(words) < _REFUSAL_MAX_WORDS:
        return f'looks like a refusal (says "{refusal.group(0)}" in {len(words)} words)'
    content = [w for w in _normalized(evolved).split() if w not in STOP_WORDS]
    if not content or all(ch in string.punctuation or ch.isspace() for ch in evolved):
        return "has only punctuation and stop words"
    lowered = evolved.casefold()
    copied = [w for w in prompt_words if w.casefold() in lowered]
    if copied:
        return f"copies wording from the evolution prompt ({copied[0]!r})"
    if original is not None and _normalized(evolved) == _normalized(original):
        return "is the original, unchanged"
    return None


def _strip_label(text: str, labels: Sequence[str]) -> str:
    """Drop a leading ``New instruction:`` style label and surrounding quotes."""
    text = text.replace("\r\n", "\n").strip()
    names = "|".join(re.escape(label) for label in labels)
    text = re.sub(rf"^[#*\s]*(?:{names})[#*\s]*:[*\s]*", "", text, flags=re.IGNORECASE)
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'`":
        text = text[1:-1]
    return text.strip()


@dataclass
class _EvolTask(Task):
    """Shared machinery: a method per row, a cleaned answer, the elimination checks."""

    system_prompt: str = ""
    methods: list[str] = field(default_factory=list)
    seed: int = 0

    kind: ClassVar[str] = "generator"
    method_texts: ClassVar[dict[str, str]] = {}
    answer_labels: ClassVar[tuple[str, ...]] = ()
    prompt_words: ClassVar[tuple[str, ...]] = ()
    original_input: ClassVar[str] = "input"

    def __post_init__(self) -> None:
        if not self.methods:
            self.methods = list(self.method_texts)
        for method in self.methods:
            if method not in self.method_texts:
                raise unknown_value(f"{self.name} evolution method", method, self.method_texts)

    def template_variables(self) -> dict[str, Any]:
        return {}

    def evolution_method_for(self, input: str) -> str:
        """The method used for the instruction ``input`` (stable across runs for a ``seed``)."""
        return random.Random(f"{self.seed}\x00{input}").choice(self.methods)

    def generate_prompt(self, *args: Any, **kwargs: Any) -> Prompt:
        inputs = self.bind_inputs(args, kwargs)
        method = self.evolution_method_for(inputs["input"])
        text = self.render({**inputs, "method": method, "how": self.method_texts[method]})
        return Prompt(system_prompt=self.system_prompt, formatted_prompt=text)

    def _read(self, text: str, original: str | None) -> dict[str, Any]:
        name = self.output_args_names[0]
        evolved = _strip_label(text, self.answer_labels)
        reason = elimination_reason(evolved, original, self.prompt_words)
        if reason:
            raise OutputParseError(f"evolution eliminated: {reason}", partial={name: None})
        return {name: evolved}

    def parse_output(self, text: str) -> dict[str, Any]:
        """The evolved text, or an :class:`OutputParseError` saying why it was eliminated."""
        return self._read(text, None)

    def parse_output_for(self, text: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._read(text, inputs.get(self.original_input))


@dataclass
class EvolInstructTask(_EvolTask):
    """Evolve the instruction in ``input`` into a harder (or a new, rarer) one.

    Outputs ``instructions``: the evolved instruction (one per generation, so the
    column lists them). Chain it with :class:`~distilabel_nb.tasks.ComplexityScorerTask`
    to rank the evolutions.

    Args:
        methods: The evolution methods to draw from: ``breadth``, ``constraints``,
            ``deepen``, ``concretizing``, ``reasoning`` (default: all).
        seed: Changes which method each row gets.

    Example:
        >>> task = EvolInstructTask(methods=["constraints"])
        >>> task.parse_output("New instruction: Name three prime numbers above 100, in ascending order.")
        {'instructions': 'Name three prime numbers above 100, in ascending order.'}
    """

    template_name: ClassVar[str] = "evol_instruct.jinja2"
    input_args_names: ClassVar[list[str]] = ["input"]
    output_args_names: ClassVar[list[str]] = ["instructions"]
    method_texts: ClassVar[dict[str, str]] = INSTRUCTION_METHODS
    answer_labels: ClassVar[tuple[str, ...]] = (
        "new instruction", "rewritten instruction", "instruction", "rewritten prompt", "created prompt", "new prompt",
    )
    prompt_words: ClassVar[tuple[str, ...]] = (
        "original instruction", "new instruction", "rewritten instruction",
        "given prompt", "rewritten prompt", "created prompt",
    )


@dataclass
class EvolQualityTask(_EvolTask):
    """Rewrite the answer in ``generation`` to the instruction in ``input`` so it is better.

    Outputs ``generations``: the improved answer, ready for a labeller.

    Args:
        methods: ``helpfulness``, ``relevance``, ``depth``, ``creativity``, ``details``
            (default: all).
        seed: Changes which method each row gets.

    Example:
        >>> task = EvolQualityTask(methods=["details"])
        >>> task.parse_output_for("Improved answer: Paris, on the Seine.", {"input": "Capital of France?", "generation": "Paris."})
        {'generations': 'Paris, on the Seine.'}
    """

    template_name: ClassVar[str] = "evol_quality.jinja2"
    input_args_names: ClassVar[list[str]] = ["input", "generation"]
    output_args_names: ClassVar[list[str]] = ["generations"]
    method_texts: ClassVar[dict[str, str]] = QUALITY_METHODS
    answer_labels: ClassVar[tuple[str, ...]] = ("improved answer", "rewritten answer", "rewritten response", "answer", "response")
    prompt_words: ClassVar[tuple[str, ...]] = (
        "original answer", "improved answer", "given response", "rewritten response",
    )
    original_input: ClassVar[str] = "generation"
