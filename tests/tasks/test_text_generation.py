"""Text generation: golden prompts, principles, and the empty answer."""

from __future__ import annotations

import pytest

from distilabel_nb.tasks import PRINCIPLES, OutputParseError, TextGenerationTask

from task_cases import GoldenChecks, QUESTION

GOLDEN_CASES = {
    "text_generation": (TextGenerationTask(), {"input": QUESTION}),
    "text_generation_honesty_principle": (TextGenerationTask(principles_distribution={"honesty": 1.0}), {"input": QUESTION}),
}
QUESTIONS = [f"Question number {i}: why is the sky blue?" for i in range(200)]


class TestGoldenPrompts(GoldenChecks):
    golden = GOLDEN_CASES


def test_text_generation_prompt_is_the_instruction():
    prompt = TextGenerationTask(system_prompt="Be kind.").generate_prompt("What is 2+2?")
    assert prompt.system_prompt == "Be kind."
    assert prompt.formatted_prompt == "What is 2+2?"


def test_text_generation_empty_answer_is_an_error_not_none():
    with pytest.raises(OutputParseError, match="empty answer"):
        TextGenerationTask().parse_output("   \n ")



# -- principles --
def test_without_a_distribution_no_principle_is_added():
    task = TextGenerationTask()
    assert task.principle_for("Hi") is None
    assert task.generate_prompt("Hi").system_prompt == task.system_prompt


def test_a_principle_is_appended_to_the_system_prompt():
    task = TextGenerationTask(system_prompt="Base.", principles_distribution={"truthfulness": 1})
    system = task.generate_prompt(input="Hi").system_prompt
    base, principle = system.split("\n\n")
    assert base == "Base." and principle in PRINCIPLES["truthfulness"]


def test_an_empty_system_prompt_becomes_the_principle_alone():
    task = TextGenerationTask(system_prompt="", principles_distribution={"honesty": 1})
    assert task.generate_prompt("Hi").system_prompt in PRINCIPLES["honesty"]


def test_the_choice_is_stable_across_calls_and_varies_with_seed():
    first = [TextGenerationTask(principles_distribution="balanced").principle_for(q) for q in QUESTIONS[:20]]
    again = [TextGenerationTask(principles_distribution="balanced").principle_for(q) for q in QUESTIONS[:20]]
    other = [TextGenerationTask(principles_distribution="balanced", seed=7).principle_for(q) for q in QUESTIONS[:20]]
    assert first == again and first != other


def test_balanced_uses_every_group_and_weights_are_followed():
    balanced = TextGenerationTask(principles_distribution="balanced")
    groups = {name for q in QUESTIONS for name, texts in PRINCIPLES.items() if balanced.principle_for(q) in texts}
    assert groups == set(PRINCIPLES)
    weighted = TextGenerationTask(principles_distribution={"honesty": 9, "helpfulness": 1})
    honest = sum(weighted.principle_for(q) in PRINCIPLES["honesty"] for q in QUESTIONS)
    assert 150 < honest < 200


def test_custom_principles():
    task = TextGenerationTask(principles={"pirate": ["Talk like a pirate."]}, principles_distribution="balanced")
    assert task.generate_prompt("Hi").system_prompt.endswith("Talk like a pirate.")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"principles_distribution": {"kindness": 1.0}}, "unknown principle group 'kindness'; known: 'helpfulness', 'harmlessness'"),
        ({"principles_distribution": {"honesty": -1.0}}, "weights must be >= 0"),
        ({"principles_distribution": {"honesty": 0}}, "positive sum"),
        ({"principles_distribution": "random"}, "None, 'balanced' or a dict"),
        ({"principles": {"honesty": []}}, "empty"),
    ],
)
def test_bad_principle_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        TextGenerationTask(**kwargs)
