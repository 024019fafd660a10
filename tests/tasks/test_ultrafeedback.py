"""UltraFeedback: golden prompts, the corpus of real answers, free-text and structured parsing."""

from __future__ import annotations

import pytest

from distilabel_nb.tasks import OutputParseError, UltraFeedbackTask
from distilabel_nb.tasks.ultrafeedback import ASPECTS, HONESTY, RatingLevel

from task_cases import FamilyChecks, GOLDEN_DIR, RATE, ROW, structured_answer

GOLDEN_CASES = {
    "ultrafeedback_overall_quality": (UltraFeedbackTask(), RATE),
    "ultrafeedback_helpfulness": (UltraFeedbackTask.for_helpfulness(), RATE),
    "ultrafeedback_honesty": (UltraFeedbackTask.for_honesty(), RATE),
    "ultrafeedback_instruction_following": (UltraFeedbackTask.for_instruction_following(), RATE),
    "ultrafeedback_truthfulness": (UltraFeedbackTask.for_truthfulness(), RATE),
    "ultrafeedback_structured": (UltraFeedbackTask(structured=True), RATE),
}


class TestUltraFeedbackFamily(FamilyChecks):
    family = "ultrafeedback"
    golden = GOLDEN_CASES


def test_ultrafeedback_golden_prompt():
    task = UltraFeedbackTask()
    prompt = task.generate_prompt(input="What is the capital of France?", generations=["Paris.", "Lyon, I think."])
    assert prompt.system_prompt == task.system_prompt
    assert prompt.formatted_prompt == (GOLDEN_DIR / "ultrafeedback_overall_quality.txt").read_text().rstrip("\n")


# -- free-text answers --
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


# -- structured answers: the schema --
def test_free_text_ultrafeedback_has_no_schema():
    assert UltraFeedbackTask().response_schema(ROW) is None


def test_structured_schema_fixes_the_count_and_the_scale():
    schema = UltraFeedbackTask(structured=True, rationale_max_chars=80).response_schema(ROW)
    ratings = schema["properties"]["ratings"]
    assert (ratings["minItems"], ratings["maxItems"]) == (2, 2)
    item = schema["$defs"]["TextRating"]
    assert item["properties"]["rating"]["enum"] == [1, 2, 3, 4, 5]
    assert item["properties"]["rationale"]["maxLength"] == 80
    assert item["required"] == ["rationale", "rating"] and item["additionalProperties"] is False
    assert schema["required"] == ["ratings"] and schema["additionalProperties"] is False
    three = UltraFeedbackTask(structured=True).response_schema({**ROW, "generations": ["a", "b", "c"]})
    assert three["properties"]["ratings"]["minItems"] == 3


def test_the_scale_of_a_preset_reaches_the_schema():
    from distilabel_nb.tasks.ultrafeedback import RatingLevel

    task = UltraFeedbackTask(structured=True, ratings=[RatingLevel(v, str(v), "") for v in range(0, 11)])
    assert task.response_schema(ROW)["$defs"]["TextRating"]["properties"]["rating"]["enum"] == list(range(11))


def test_the_schema_is_built_once_per_shape():
    task = UltraFeedbackTask(structured=True)
    assert task.response_model(ROW) is UltraFeedbackTask(structured=True).response_model(dict(ROW))


# -- reading structured answers --
def test_a_valid_structured_answer_is_read():
    task = UltraFeedbackTask(structured=True)
    parsed = task.parse_output_for(structured_answer(("Right.", 5), ("Wrong.", 1)), ROW)
    assert parsed == {"rating": [5, 1], "rationale": ["Right.", "Wrong."]}
    fenced = "Here you go:\n```json\n" + structured_answer(("Right.", 4), ("Wrong.", 2)) + "\n```"
    assert task.parse_output_for(fenced, ROW)["rating"] == [4, 2]
    assert task.parse_output(structured_answer(("Ok.", 3))) == {"rating": [3], "rationale": ["Ok."]}


@pytest.mark.parametrize(
    "text, message, partial_ratings",
    [
        (structured_answer(("Right.", 5)), "ratings: List should have at least 2 items", [5, None]),
        (structured_answer(("Right.", 5), ("Wrong.", 1), ("Extra.", 3)), "ratings: List should have at most 2 items", [5, 1]),
        (structured_answer(("Right.", 9), ("Wrong.", 1)), "ratings.0.rating: Input should be 1, 2, 3, 4 or 5", [None, 1]),
        (structured_answer(("", 4), ("Wrong.", 1)), "ratings.0.rationale: String should have at least 1 character", [4, 1]),
        ('{"ratings": [{"rationale": "Right.", "rating": 5}, {"rationale": "Wro', "stops before it is complete (is max_new_tokens too small?)", [None, None]),
        ("I rate them 5 and 1.", "the answer holds no JSON object", [None, None]),
        ('{"scores": [5, 1]}', "ratings: Field required", [None, None]),
        ('{"ratings": [{"rationale": "a", "rating": 5, "extra": 1}, {"rationale": "b", "rating": 2}]}', "ratings.0.extra: Extra inputs are not permitted", [5, 2]),
    ],
)
def test_answers_that_break_the_schema_are_named_and_salvaged(text, message, partial_ratings):
    with pytest.raises(OutputParseError) as info:
        UltraFeedbackTask(structured=True).parse_output_for(text, ROW)
    assert message in str(info.value)
    assert info.value.partial["rating"] == partial_ratings


# -- aspects: a name selects the whole rubric; a typo is an error --
@pytest.mark.parametrize("name", list(ASPECTS))
def test_an_aspect_selects_its_whole_rubric(name):
    preset = getattr(UltraFeedbackTask, f"for_{name.replace(' ', '_')}")()
    for spelling in (name, name.upper(), name.replace(" ", "_"), ASPECTS[name].heading):
        task = UltraFeedbackTask(aspect=spelling)
        assert task == preset, spelling
        assert task.generate_prompt(**ROW) == preset.generate_prompt(**ROW)


def test_aspect_helpfulness_changes_the_rubric_not_only_the_heading():
    helpful, overall = (UltraFeedbackTask(aspect=a).generate_prompt(**ROW).formatted_prompt for a in ("helpfulness", "overall quality"))
    assert helpful.startswith("# Rate the texts: helpfulness")
    assert "1. Wrong: major errors" in helpful and "1. Poor:" not in helpful
    assert "to the person who asked" in helpful and "to the person who asked" not in overall


def test_parts_of_an_aspect_can_be_overridden():
    two = [RatingLevel(0, "No", "bad."), RatingLevel(1, "Yes", "good.")]
    task = UltraFeedbackTask(aspect="honesty", ratings=two)
    assert task.ratings == two and task.task_description == ASPECTS["honesty"].description
    assert UltraFeedbackTask.for_honesty(task_description="Be strict.").ratings == list(HONESTY)


@pytest.mark.parametrize("aspect, message", [
    ("helpfullness", "unknown aspect 'helpfullness'; did you mean 'helpfulness'? known: 'overall quality', 'helpfulness', "
                     "'honesty', 'instruction following', 'truthfulness' (for an aspect of your own, give task_description= and ratings= too)"),
    ("honsty", "unknown aspect 'honsty'; did you mean 'honesty'? known: "),
    ("quality", "unknown aspect 'quality'; did you mean 'overall quality'? known: "),
    ("tone", "unknown aspect 'tone'; known: 'overall quality', "),
])
def test_an_unknown_aspect_names_the_close_matches(aspect, message):
    with pytest.raises(ValueError) as info:
        UltraFeedbackTask(aspect=aspect)
    assert str(info.value).startswith(message)


def test_an_aspect_of_your_own_comes_with_its_description():
    task = UltraFeedbackTask(aspect="tone", task_description="Judge how polite each text is.")
    prompt = task.generate_prompt(**ROW).formatted_prompt
    assert prompt.startswith("# Rate the texts: tone\n\nJudge how polite each text is.") and "1. Poor:" in prompt


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_structured_takes_true_false_or_auto(value):
    with pytest.raises(ValueError, match=f"structured must be True, False or 'auto', got {value!r}"):
        UltraFeedbackTask(structured=value)
