"""Evol-Instruct and Evol-Quality: golden prompts, the method per row, cleaning and elimination."""

from __future__ import annotations

import pytest

from distilabel_nb.tasks import EvolInstructTask, EvolQualityTask, OutputParseError, elimination_reason

from task_cases import GoldenChecks, QUESTION

TIPS = "Give three tips for staying healthy."
GOLDEN_CASES = {
    **{f"evol_instruct_{method}": (EvolInstructTask(methods=[method]), {"input": TIPS})
       for method in ("breadth", "constraints", "deepen", "concretizing", "reasoning")},
    "evol_quality_details": (EvolQualityTask(methods=["details"]), {"input": QUESTION, "generation": "Paris."}),
}
QUESTIONS = [f"Question number {i}: why is the sky blue?" for i in range(200)]


class TestGoldenPrompts(GoldenChecks):
    golden = GOLDEN_CASES


def test_each_method_renders_its_own_prompt():
    prompts = {m: EvolInstructTask(methods=[m]).generate_prompt("Add 2 and 3.").formatted_prompt for m in
               ["breadth", "constraints", "deepen", "concretizing", "reasoning"]}
    assert len(set(prompts.values())) == 5
    assert "brand-new instruction" in prompts["breadth"] and "constraint" in prompts["constraints"]


def test_the_method_per_row_is_stable_and_spread():
    task = EvolInstructTask()
    methods = [task.evolution_method_for(q) for q in QUESTIONS]
    assert methods == [EvolInstructTask().evolution_method_for(q) for q in QUESTIONS]
    assert set(methods) == {"breadth", "constraints", "deepen", "concretizing", "reasoning"}
    assert task.generate_prompt(QUESTIONS[0]) == task.generate_prompt(QUESTIONS[0])


def test_unknown_method_is_named():
    with pytest.raises(ValueError, match="unknown EvolInstructTask evolution method 'harder'; known: 'breadth', 'constraints'"):
        EvolInstructTask(methods=["harder"])
    with pytest.raises(ValueError, match="method 'deepn'; did you mean 'deepen'\\? known:"):
        EvolInstructTask(methods=["breadth", "deepn"])


@pytest.mark.parametrize(
    "answer, evolved",
    [
        ("Name three prime numbers above 100.", "Name three prime numbers above 100."),
        ("New instruction: Name three primes above 100.", "Name three primes above 100."),
        ("#Rewritten Prompt#: Name three primes above 100.", "Name three primes above 100."),
        ('"Name three primes above 100."\r\n', "Name three primes above 100."),
        ("**New instruction:** Explain, step by step, why 91 is not prime.", "Explain, step by step, why 91 is not prime."),
        ("I'm sorry to hear that. " + "Explain the full history of prime number theory in detail. " * 12,
         ("I'm sorry to hear that. " + "Explain the full history of prime number theory in detail. " * 12).strip()),
    ],
)
def test_evolutions_that_pass_are_cleaned(answer, evolved):
    assert EvolInstructTask().parse_output(answer) == {"instructions": evolved}


@pytest.mark.parametrize(
    "answer, reason",
    [
        ("", "the answer is empty"),
        ("Sorry, I can't make this harder.", 'looks like a refusal (says "Sorry"'),
        ("As an AI, I cannot rewrite this.", "looks like a refusal"),
        ("?!... --", "has only punctuation and stop words"),
        ("and the of it is", "has only punctuation and stop words"),
        ("Rewrite the original instruction so it is harder.", "copies wording from the evolution prompt ('original instruction')"),
        ("Here is the #Given Prompt# rewritten: add 2 and 3", "copies wording from the evolution prompt ('given prompt')"),
    ],
)
def test_failed_evolutions_are_eliminated_with_the_reason(answer, reason):
    with pytest.raises(OutputParseError) as info:
        EvolInstructTask().parse_output(answer)
    assert str(info.value).startswith("evolution eliminated: ") and reason in str(info.value)
    assert info.value.partial == {"instructions": None}


def test_an_unchanged_instruction_is_eliminated_when_the_input_is_known():
    task = EvolInstructTask()
    with pytest.raises(OutputParseError, match="is the original, unchanged"):
        task.parse_output_for("Add 2 and 3!", {"input": "add 2 and 3"})
    assert task.parse_output_for("Add 2 and 3, then square it.", {"input": "Add 2 and 3."}) == {"instructions": "Add 2 and 3, then square it."}


def test_elimination_reason_is_public_for_dataframes():
    assert elimination_reason("Explain tides.") is None
    assert elimination_reason("Explain tides.", original="explain tides") == "is the original, unchanged"


def test_evol_quality_needs_the_answer_and_outputs_generations():
    task = EvolQualityTask()
    assert task.input_args_names == ["input", "generation"] and task.output_args_names == ["generations"]
    prompt = EvolQualityTask(methods=["creativity"]).generate_prompt("Capital of France?", "Paris.").formatted_prompt
    assert "Make it more creative." in prompt and "Original answer:\nParis." in prompt


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("Paris, on the Seine, is the capital.", {"generations": "Paris, on the Seine, is the capital."}),
        ("Improved answer: Paris, on the Seine.", {"generations": "Paris, on the Seine."}),
    ],
)
def test_evol_quality_reads_improved_answers(answer, expected):
    assert EvolQualityTask().parse_output_for(answer, {"input": "Capital of France?", "generation": "Paris."}) == expected


@pytest.mark.parametrize(
    "answer, reason",
    [
        ("Paris.", "is the original, unchanged"),
        ("Here is the rewritten response: Paris", "copies wording from the evolution prompt ('rewritten response')"),
        ("Sorry, I cannot improve this.", "looks like a refusal"),
    ],
)
def test_evol_quality_eliminations(answer, reason):
    with pytest.raises(OutputParseError, match="evolution eliminated") as info:
        EvolQualityTask().parse_output_for(answer, {"input": "Capital of France?", "generation": "Paris."})
    assert reason in str(info.value)
