"""Generator tasks: principles, Self-Instruct lists, Evol-Instruct / Evol-Quality elimination."""

from __future__ import annotations

import pytest

from distilabel_nb.tasks import (
    PRINCIPLES,
    EvolInstructTask,
    EvolQualityTask,
    OutputParseError,
    SelfInstructTask,
    TextGenerationTask,
    elimination_reason,
)

QUESTIONS = [f"Question number {i}: why is the sky blue?" for i in range(200)]


# -- TextGenerationTask principles --
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
        ({"principles_distribution": {"kindness": 1.0}}, "unknown groups ['kindness']"),
        ({"principles_distribution": {"honesty": -1.0}}, "weights must be >= 0"),
        ({"principles_distribution": {"honesty": 0}}, "positive sum"),
        ({"principles_distribution": "random"}, "None, 'balanced' or a dict"),
        ({"principles": {"honesty": []}}, "empty"),
    ],
)
def test_bad_principle_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        TextGenerationTask(**kwargs)


# -- SelfInstructTask --
@pytest.mark.parametrize(
    "answer, expected",
    [
        ("1. Explain tides.\n2. Why is the sky blue?\n3. List three rivers.", ["Explain tides.", "Why is the sky blue?", "List three rivers."]),
        ("Sure! Here are 3 requests:\n\n1) Explain tides.\n2) Why is the sky blue?\n3) List three rivers.\n\nHope this helps!",
         ["Explain tides.", "Why is the sky blue?", "List three rivers."]),
        ("- Explain tides.\r\n- Why is the sky blue?\r\n", ["Explain tides.", "Why is the sky blue?"]),
        ("Explain tides.\nWhy is the sky blue?", ["Explain tides.", "Why is the sky blue?"]),
        ("Here are some queries:\nExplain tides.\n\nWhy is the sky blue?", ["Explain tides.", "Why is the sky blue?"]),
        ('1. "Explain tides."\n2. **Why is the sky blue?**', ["Explain tides.", "Why is the sky blue?"]),
        ("Query 1: Explain tides.\nQuery 2: Explain tides.\nQuery 3: Name a river.", ["Explain tides.", "Name a river."]),
        ("1. A\n2. B\n3. C\n4. D\n5. E\n6. F", ["A", "B", "C"]),
        ("## Requests\n1. <request>\n2. Explain tides.", ["Explain tides."]),
    ],
)
def test_self_instruct_reads_lists_as_models_write_them(answer, expected):
    assert SelfInstructTask(num_instructions=3).parse_output(answer) == {"instructions": expected}


@pytest.mark.parametrize("answer", ["", "   \n  ", "Here are the requests:", "1. <request>"])
def test_self_instruct_with_nothing_to_read_is_an_error(answer):
    with pytest.raises(OutputParseError, match="no instructions found") as info:
        SelfInstructTask().parse_output(answer)
    assert info.value.partial == {"instructions": None}


def test_self_instruct_rejects_a_bad_count():
    with pytest.raises(ValueError, match="num_instructions"):
        SelfInstructTask(num_instructions=0)


# -- Evol-Instruct --
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
    with pytest.raises(ValueError, match="unknown evolution methods \\['harder'\\]"):
        EvolInstructTask(methods=["harder"])


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


# -- Evol-Quality --
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
