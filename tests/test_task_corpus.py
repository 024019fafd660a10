"""Labeller parsers against corpora of messy, real-looking answers (tests/corpus/*.json).

Each corpus file belongs to one labeller family and holds at least 30 answers: ones we
wrote in the shapes real models produce, and ones the bundled SmolLM2-135M-Instruct
actually produced (``"source": "smollm2"``). A case either parses to ``expect``, or
fails with an :class:`OutputParseError` whose message contains every line of ``error``
and whose ``partial`` matches the given columns.

Corpus format::

    {"family": "...", "task": "UltraFeedbackTask", "cases": [
        {"id": "...", "source": "written" | "smollm2", "num_texts": 2,
         "task": optional class name, "preset": optional classmethod, "kwargs": optional dict,
         "answer": "text" or ["line", "line"], "crlf": optional bool,
         "expect": {...} | "error": ["...", ...], "partial": optional {...}}]}
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import distilabel_nb.tasks as tasks
from distilabel_nb.tasks import OutputParseError

CORPUS = Path(__file__).parent / "corpus"
FAMILIES = sorted(path.stem for path in CORPUS.glob("*.json"))


def load(family: str) -> dict:
    return json.loads((CORPUS / f"{family}.json").read_text())


def all_cases():
    for family in FAMILIES:
        corpus = load(family)
        for case in corpus["cases"]:
            yield pytest.param(corpus, case, id=f"{family}:{case['id']}")


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


def test_every_family_has_at_least_30_answers_including_real_ones():
    assert set(FAMILIES) >= {"ultrafeedback", "judgelm", "ultrajudge", "prometheus", "critique", "scorers"}
    for family in FAMILIES:
        cases = load(family)["cases"]
        assert len(cases) >= 30, family
        assert any(case["source"] == "smollm2" for case in cases), family
        assert len({case["id"] for case in cases}) == len(cases), f"duplicate ids in {family}"
        assert all(("expect" in case) != ("error" in case) for case in cases), family


@pytest.mark.parametrize("corpus, case", list(all_cases()))
def test_corpus_answer(corpus, case):
    task = build(corpus, case)
    text = answer_text(case)
    count = case["num_texts"]
    if "expect" in case:
        assert task.parse_output(text, num_texts=count) == case["expect"]
        assert task.parse_output_for(text, row_inputs(task, count)) == case["expect"]
        return
    with pytest.raises(OutputParseError) as info:
        task.parse_output_for(text, row_inputs(task, count))
    for expected in case["error"]:
        assert expected in str(info.value)
    partial = info.value.partial
    assert partial is not None and set(partial) == set(task.output_args_names)
    for column, values in case.get("partial", {}).items():
        assert partial[column] == values, column


@pytest.mark.parametrize("corpus, case", list(all_cases()))
def test_outputs_stay_aligned_with_the_rated_texts(corpus, case):
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


@pytest.mark.parametrize("name", sorted({c["task"] if "task" in c else load(f)["task"] for f in FAMILIES for c in load(f)["cases"]}))
def test_parsers_stay_fast_on_pathological_answers(name):
    """No regex in a parser backtracks badly: 20,000 characters of junk parse in well under a second."""
    import time

    task = getattr(tasks, name)()
    for label, text in PATHOLOGICAL.items():
        started = time.perf_counter()
        try:
            task.parse_output_for(text, row_inputs(task, 2))
        except OutputParseError:
            pass
        assert time.perf_counter() - started < 0.5, label
