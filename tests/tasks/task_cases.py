"""What every task family's tests share: its golden prompts, its corpus of real answers, the checks on both.

Golden files (``tests/golden/task_<name>.txt``) hold a rendered prompt, system and user
parts; after a deliberate change to a template, rewrite them with
``DISTILABEL_NB_UPDATE_GOLDEN=1`` and review the diff.

Each corpus file (``tests/corpus/<family>.json``) belongs to one labeller family and holds
at least 30 answers: ones we wrote in the shapes real models produce, and ones the bundled
SmolLM2-135M-Instruct actually produced (``"source": "smollm2"``). A case either parses to
``expect``, or fails with an :class:`OutputParseError` whose message contains every line of
``error`` and whose ``partial`` matches the given columns. Numbers compare with their type:
a whole-number scale reads ``4``, never ``4.0``.

Corpus format::

    {"family": "...", "task": "UltraFeedbackTask", "cases": [
        {"id": "...", "source": "written" | "smollm2", "num_texts": 2,
         "task": optional class name, "preset": optional classmethod, "kwargs": optional dict,
         "answer": "text" or ["line", "line"], "crlf": optional bool,
         "expect": {...} | "error": ["...", ...], "partial": optional {...}}]}
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

import distilabel_nb.tasks as tasks
from distilabel_nb.tasks import OutputParseError, Task

TESTS = Path(__file__).resolve().parent.parent
GOLDEN_DIR = TESTS / "golden"
CORPUS_DIR = TESTS / "corpus"
UPDATE = os.environ.get("DISTILABEL_NB_UPDATE_GOLDEN") == "1"
FAMILIES = sorted(path.stem for path in CORPUS_DIR.glob("*.json"))

QUESTION = "What is the capital of France?"
ANSWERS = ["Paris.", "Lyon, I think."]
RATE = {"input": QUESTION, "generations": ANSWERS}
#: A row for UltraFeedback's structured answers.
ROW = {"input": "What is 2+2?", "generations": ["4", "22"]}


def structured_answer(*items: tuple[str, Any]) -> str:
    """UltraFeedback's JSON answer from ``(rationale, rating)`` pairs."""
    return json.dumps({"ratings": [{"rationale": r, "rating": v} for r, v in items]})


# -- golden prompts --

def render(task: Task, inputs: dict) -> str:
    prompt = task.generate_prompt(**inputs)
    return f"=== system ===\n{prompt.system_prompt}\n=== user ===\n{prompt.formatted_prompt}\n"


def check_golden(name: str, task: Task, inputs: dict) -> None:
    path = GOLDEN_DIR / f"task_{name}.txt"
    text = render(task, inputs)
    if UPDATE:
        path.write_text(text)
    assert path.exists(), f"missing golden file {path.name}; write it with DISTILABEL_NB_UPDATE_GOLDEN=1"
    assert text == path.read_text()


# -- corpora --

def load_corpus(family: str) -> dict:
    return json.loads((CORPUS_DIR / f"{family}.json").read_text())


def corpus_cases(family: str) -> list[dict]:
    return load_corpus(family)["cases"]


def corpus_task_names(family: str) -> list[str]:
    corpus = load_corpus(family)
    return sorted({case.get("task", corpus["task"]) for case in corpus["cases"]})


def build(corpus: dict, case: dict):
    cls = getattr(tasks, case.get("task", corpus["task"]))
    factory = getattr(cls, case["preset"]) if "preset" in case else cls
    return factory(**case.get("kwargs", {}))


def answer_text(case: dict) -> str:
    answer = case["answer"]
    if isinstance(answer, list):
        answer = ("\r\n" if case.get("crlf") else "\n").join(answer)
    return answer


def row_inputs(task, count: int) -> dict:
    inputs = {name: "x" for name in task.input_args_names}
    inputs[task.texts_input] = [f"text {i}" for i in range(count)]
    return inputs


def typed(value: Any) -> Any:
    """``value`` with every number tagged by its type, so that ``4`` and ``4.0`` differ."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return (type(value).__name__, value)
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    return value


def check_corpus_answer(corpus: dict, case: dict) -> None:
    task = build(corpus, case)
    text = answer_text(case)
    count = case["num_texts"]
    if "expect" in case:
        assert typed(task.parse_output(text, num_texts=count)) == typed(case["expect"])
        assert typed(task.parse_output_for(text, row_inputs(task, count))) == typed(case["expect"])
        return
    with pytest.raises(OutputParseError) as info:
        task.parse_output_for(text, row_inputs(task, count))
    for expected in case["error"]:
        assert expected in str(info.value)
    partial = info.value.partial
    assert partial is not None and set(partial) == set(task.output_args_names)
    for column, values in case.get("partial", {}).items():
        assert typed(partial[column]) == typed(values), column


def check_aligned(corpus: dict, case: dict) -> None:
    """Whatever the answer, every per-text column has one entry per text."""
    task = build(corpus, case)
    try:
        columns = task.parse_output_for(answer_text(case), row_inputs(task, case["num_texts"]))
    except OutputParseError as exc:
        columns = exc.partial
    for name, values in columns.items():
        if isinstance(values, list):
            assert len(values) == case["num_texts"], name


SPACES = " " * 20000
PATHOLOGICAL = {
    "spaces": SPACES + "x",
    "newlines": "\n" * 20000,
    "label-then-spaces": "Rating:" + SPACES + "x",
    "result-then-spaces": "[RESULT]" + SPACES + "x",
    "number-then-spaces": "Rating: 4" + SPACES + "x",
    "assistant-then-spaces": "Assistant 1" + SPACES + "x",
    "area-then-spaces": "Practical accuracy - 5" + SPACES,
    "numbered-then-spaces": "1." + SPACES + "x",
    "digits": "5" * 20000,
    "open-braces": "{" * 10000,
    "many-headings": "Text 1" * 3000,
}


def check_fast(name: str) -> None:
    """No regex in a parser backtracks badly: 20,000 characters of junk parse in well under a second."""
    task = getattr(tasks, name)()
    for label, text in PATHOLOGICAL.items():
        started = time.perf_counter()
        try:
            task.parse_output_for(text, row_inputs(task, 2))
        except OutputParseError:
            pass
        assert time.perf_counter() - started < 0.5, label


class GoldenChecks:
    """The golden-prompt check of a task family: a module subclasses it as ``Test…`` and sets ``golden``.

    ``golden`` maps a golden file's name (``task_<name>.txt``) to ``(task, inputs)``; the
    ``conftest.py`` beside this module parametrizes the test over it.
    """

    golden: dict[str, tuple[Task, dict]] = {}

    def test_rendered_prompt_matches_golden(self, golden_name):
        check_golden(golden_name, *self.golden[golden_name])


class FamilyChecks(GoldenChecks):
    """A labeller family's checks: its golden prompts, and every answer of its corpus (``family``)."""

    family: str = ""

    def test_corpus_answer(self, corpus_case):
        check_corpus_answer(load_corpus(self.family), corpus_case)

    def test_outputs_stay_aligned_with_the_rated_texts(self, corpus_case):
        check_aligned(load_corpus(self.family), corpus_case)

    def test_parsers_stay_fast_on_pathological_answers(self, corpus_task):
        check_fast(corpus_task)
