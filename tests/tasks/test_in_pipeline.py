"""Tasks inside a Pipeline (scripted backends): columns line up, errors land in their rows.

The scripted judges here answer by position, so the runs keep the answers' order
(``shuffle_before_labelling=False``); tests/test_multigen.py covers the shuffle.
"""

from __future__ import annotations

from distilabel_nb.pipeline import Pipeline
from distilabel_nb.tasks import (
    ComplexityScorerTask,
    EvolInstructTask,
    JudgeLMTask,
    PrometheusTask,
    SelfInstructTask,
    Task,
    TextGenerationTask,
    UltraFeedbackTask,
    UltraJudgeTask,
)


def test_evolutions_feed_the_complexity_scorer(scripted_llm):
    answers = iter(["New instruction: Add 2 and 3, then square the sum.", "Add 2 and 3, explaining each step."])
    generator = scripted_llm(EvolInstructTask(), respond=lambda prompt, i: next(answers))
    labeller = scripted_llm(ComplexityScorerTask(), respond=lambda prompt, i: "[1] Score: 3\n[2] Score: 2")
    df = Pipeline(generator=generator, labeller=labeller).generate([{"input": "Add 2 and 3."}], num_generations=2, display_progress_bar=False,
        shuffle_before_labelling=False)  # the scripted judge answers by position
    row = df.iloc[0]
    assert row["instructions"] == ["Add 2 and 3, then square the sum.", "Add 2 and 3, explaining each step."]
    assert row["complexity_score"] == [3, 2] and row["labelling_error"] is None
    assert "[2] Add 2 and 3, explaining each step." in labeller.history[0][-1]["content"]


def test_an_eliminated_evolution_is_a_row_error_that_says_why(scripted_llm):
    generator = scripted_llm(EvolInstructTask(), respond=lambda prompt, i: "Sorry, I cannot do that.")
    df = Pipeline(generator=generator).generate([{"input": "Add 2 and 3."}, {"input": "Name a color."}], display_progress_bar=False)
    assert df["instructions"].tolist() == [[None], [None]]
    assert all("evolution eliminated: looks like a refusal" in error for error in df["generation_error"])
    assert df["raw_generation_responses"].tolist() == [["Sorry, I cannot do that."]] * 2


def test_prometheus_takes_the_reference_answer_from_the_dataset(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), respond=lambda prompt, i: ["Paris.", "Lyon."][i])
    labeller = scripted_llm(PrometheusTask(), respond=lambda prompt, i: "### Response 1\nFeedback: Right. [RESULT] 5\n### Response 2\nFeedback: Wrong. [RESULT] 1")
    pipe = Pipeline(generator=generator, labeller=labeller)
    assert pipe.required_columns() == ["input", "reference_answer"]
    df = pipe.generate([{"input": "Capital of France?", "reference_answer": "Paris"}], num_generations=2, display_progress_bar=False,
        shuffle_before_labelling=False)  # the scripted judge answers by position
    assert df.iloc[0]["score"] == [5, 1] and df.iloc[0]["critique"] == ["Right.", "Wrong."]
    assert "###Reference answer (score 5)\nParis" in labeller.history[0][-1]["content"]


def test_a_partly_read_labelling_keeps_what_it_read(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), respond=lambda prompt, i: f"answer {i}")
    labeller = scripted_llm(JudgeLMTask(), respond=lambda prompt, i: "8\nOnly one score, sorry.")
    df = Pipeline(generator=generator, labeller=labeller).generate([{"input": "Q?"}], num_generations=2, display_progress_bar=False,
        shuffle_before_labelling=False)  # the scripted judge answers by position
    row = df.iloc[0]
    assert row["rating"] == [8.0, None] and row["rationale"] == "Only one score, sorry."
    assert "assistant 2: no score found" in row["labelling_error"]


def test_structured_ultrafeedback_sends_its_schema(scripted_llm):
    schemas = []

    class Recording(scripted_llm):
        async def _complete(self, prompt, num_generations, schema=None):
            schemas.append(schema)
            return await super()._complete(prompt, num_generations, schema)

    labeller = Recording(UltraFeedbackTask(structured=True), respond=lambda prompt, i: '{"ratings": [{"rationale": "ok", "rating": 4}, {"rationale": "no", "rating": 2}]}')
    df = Pipeline(labeller=labeller).generate([{"input": "Q?", "generations": ["a", "b"]}], display_progress_bar=False,
        shuffle_before_labelling=False)  # the scripted judge answers by position
    assert df.iloc[0]["rating"] == [4, 2]
    assert schemas[0]["properties"]["ratings"]["minItems"] == 2


def test_self_instruct_and_custom_tasks_in_a_pipeline(scripted_llm):
    generator = scripted_llm(SelfInstructTask(num_instructions=2), respond=lambda prompt, i: "1. Explain tides.\n2. Why is the sky blue?")
    df = Pipeline(generator=generator).generate([{"input": "Nature"}], display_progress_bar=False)
    assert df.iloc[0]["instructions"] == [["Explain tides.", "Why is the sky blue?"]]
    shout = Task.from_template("Shout: {{ text }}", inputs=["text"], outputs=["loud"], parse=str.upper)
    df = Pipeline(generator=scripted_llm(shout, respond=lambda prompt, i: "hi")).generate([{"text": "x"}], display_progress_bar=False)
    assert df.iloc[0]["loud"] == ["HI"]


def test_ultrajudge_areas_column(scripted_llm):
    judge = UltraJudgeTask(areas=["Accuracy"])
    labeller = scripted_llm(judge, respond=lambda prompt, i: "### Assistant 1\nAccuracy - 9\nRight.\n### Assistant 2\nAccuracy - 2\nWrong.\nFinal scores: 9 2")
    df = Pipeline(labeller=labeller).generate([{"input": "Q?", "generations": ["a", "b"]}], display_progress_bar=False,
        shuffle_before_labelling=False)  # the scripted judge answers by position
    assert df.iloc[0]["areas"] == [{"Accuracy": {"rating": 9.0, "rationale": "Right."}}, {"Accuracy": {"rating": 2.0, "rationale": "Wrong."}}]
