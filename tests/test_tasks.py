"""Tasks: golden rendered prompts, input binding, parsing of real-looking answers."""

from pathlib import Path

import pytest

from distilabel_nb import OutputParseError, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.tasks import base

GOLDEN = Path(__file__).parent / "golden"


def test_text_generation_prompt_is_the_instruction():
    prompt = TextGenerationTask(system_prompt="Be kind.").generate_prompt("What is 2+2?")
    assert prompt.system_prompt == "Be kind."
    assert prompt.formatted_prompt == "What is 2+2?"


def test_ultrafeedback_golden_prompt():
    task = UltraFeedbackTask()
    prompt = task.generate_prompt(input="What is the capital of France?", generations=["Paris.", "Lyon, I think."])
    assert prompt.system_prompt == task.system_prompt
    assert prompt.formatted_prompt == (GOLDEN / "ultrafeedback_overall_quality.txt").read_text().rstrip("\n")


def test_inputs_by_position_follow_input_args_names():
    task = UltraFeedbackTask()
    by_position = task.generate_prompt("Q?", ["a", "b"])
    by_keyword = task.generate_prompt(generations=["a", "b"], input="Q?")
    assert by_position == by_keyword


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((), {"input": "Q?"}, "missing: ['generations']"),
        (("Q?", ["a"], "extra"), {}, "takes 2 inputs"),
        (("Q?",), {"input": "again", "generations": ["a"]}, "both by position and by keyword"),
        ((None, ["a"]), {}, "'input' is empty"),
        ((float("nan"), ["a"]), {}, "'input' is empty"),
    ],
)
def test_bad_inputs_are_named(args, kwargs, message):
    with pytest.raises(ValueError) as info:
        UltraFeedbackTask().generate_prompt(*args, **kwargs)
    assert message in str(info.value)


def test_packaged_templates_are_loaded_once(monkeypatch):
    calls = []
    loader = base._PACKAGED.loader
    original = type(loader).get_source
    monkeypatch.setattr(type(loader), "get_source", lambda self, env, name: calls.append(name) or original(self, env, name))
    base._PACKAGED.cache.clear()
    base._packaged_template.cache_clear()
    task = UltraFeedbackTask()
    for _ in range(5):
        task.generate_prompt("Q?", ["a", "b"])
    UltraFeedbackTask().generate_prompt("Q?", ["a"])
    assert calls == ["ultrafeedback.jinja2"]


def test_text_generation_empty_answer_is_an_error_not_none():
    with pytest.raises(OutputParseError, match="empty answer"):
        TextGenerationTask().parse_output("   \n ")


# Answers in the shapes real models write (some written by SmolLM2-135M-Instruct).
ULTRAFEEDBACK_READABLE = [
    ("#### Output for Text 1\nRating: 4\nRationale: Correct and clear.\n\n#### Output for Text 2\nRating: 2\nRationale: Wrong city.",
     [4, 2], ["Correct and clear.", "Wrong city."]),
    ("#### Output for Text 1\r\nRating: 5.0 (Excellent)\r\nRationale: Spot on.\r\n#### Output for Text 2\r\nRating: 3 (Fair)\r\nRationale: Vague.",
     [5, 3], ["Spot on.", "Vague."]),
    ("Sure! Here are my ratings.\n\n**Text 1**\n**Rating:** 4\n**Rationale:** Good answer.\n\n**Text 2**\n**Rating:** 1\n**Rationale:** Off-topic.\n\nLet me know if you need more.",
     [4, 1], ["Good answer.", "Off-topic."]),
    ("Rating: 3\nRationale: Fine.\nRating: 4/5\nRationale: Better.", [3, 4], ["Fine.", "Better."]),
    ("### Text 1\nRating - 2\nRationale - Too short.\n### Text 2\nrating: 5\nrationale: Complete.", [2, 5], ["Too short.", "Complete."]),
]


@pytest.mark.parametrize("answer, ratings, rationales", ULTRAFEEDBACK_READABLE)
def test_ultrafeedback_reads_messy_answers(answer, ratings, rationales):
    parsed = UltraFeedbackTask().parse_output(answer, num_texts=2)
    assert parsed == {"rating": ratings, "rationale": rationales}


@pytest.mark.parametrize(
    "answer, problem, partial_ratings",
    [
        ("#### Output for Text 1\nRating: 4\nRationale: ok", "text 2: no rating found", [4, None]),
        ("#### Output for Text 1\nRating: 9\nRationale: wow\n#### Output for Text 2\nRating: 3\nRationale: meh", "text 1: rating 9 is outside 1-5", [None, 3]),
        ("I think both answers are pretty good overall.", "text 1: no rating found; text 2: no rating found", [None, None]),
        ("#### Output for Text 1\nRating: N/A\nRationale: cannot judge\n#### Output for Text 2\nRating: 2\nRationale: weak", "text 1: no rating found", [None, 2]),
    ],
)
def test_ultrafeedback_reports_what_it_could_not_read(answer, problem, partial_ratings):
    with pytest.raises(OutputParseError) as info:
        UltraFeedbackTask().parse_output(answer, num_texts=2)
    assert str(info.value) == problem
    assert info.value.partial["rating"] == partial_ratings


def test_ultrafeedback_parse_for_inputs_uses_the_number_of_generations():
    task = UltraFeedbackTask()
    answer = "#### Output for Text 1\nRating: 4\nRationale: ok"
    assert task.parse_output_for(answer, {"input": "Q", "generations": ["a"]}) == {"rating": [4], "rationale": ["ok"]}
    with pytest.raises(OutputParseError, match="text 3: no rating found"):
        task.parse_output_for(answer, {"input": "Q", "generations": ["a", "b", "c"]})


def test_ultrafeedback_with_no_ratings_and_unknown_count_is_an_error():
    with pytest.raises(OutputParseError, match="no ratings found"):
        UltraFeedbackTask().parse_output("nothing useful here")
