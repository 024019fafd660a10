"""Golden rendered prompts: one per task and preset, so that templates never drift unseen.

Each golden file holds the system prompt and the user prompt. After a deliberate change
to a template, rewrite the files with ``DISTILABEL_NB_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from distilabel_nb.tasks import (
    ComplexityScorerTask,
    CritiqueTask,
    EvolInstructTask,
    EvolQualityTask,
    JudgeLMTask,
    PrometheusTask,
    QualityScorerTask,
    SelfInstructTask,
    Task,
    TextGenerationTask,
    UltraCMTask,
    UltraFeedbackTask,
    UltraJudgeTask,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DISTILABEL_NB_UPDATE_GOLDEN") == "1"

QUESTION = "What is the capital of France?"
ANSWERS = ["Paris.", "Lyon, I think."]
RATE = {"input": QUESTION, "generations": ANSWERS}

CASES = {
    "text_generation": (TextGenerationTask(), {"input": QUESTION}),
    "text_generation_honesty_principle": (TextGenerationTask(principles_distribution={"honesty": 1.0}), {"input": QUESTION}),
    "self_instruct": (
        SelfInstructTask(application_description="A cooking assistant for busy parents.", num_instructions=3),
        {"input": "Quick weeknight dinners with few ingredients."},
    ),
    "evol_instruct_breadth": (EvolInstructTask(methods=["breadth"]), {"input": "Give three tips for staying healthy."}),
    "evol_instruct_constraints": (EvolInstructTask(methods=["constraints"]), {"input": "Give three tips for staying healthy."}),
    "evol_instruct_deepen": (EvolInstructTask(methods=["deepen"]), {"input": "Give three tips for staying healthy."}),
    "evol_instruct_concretizing": (EvolInstructTask(methods=["concretizing"]), {"input": "Give three tips for staying healthy."}),
    "evol_instruct_reasoning": (EvolInstructTask(methods=["reasoning"]), {"input": "Give three tips for staying healthy."}),
    "evol_quality_details": (EvolQualityTask(methods=["details"]), {"input": QUESTION, "generation": "Paris."}),
    "ultrafeedback_overall_quality": (UltraFeedbackTask(), RATE),
    "ultrafeedback_helpfulness": (UltraFeedbackTask.for_helpfulness(), RATE),
    "ultrafeedback_honesty": (UltraFeedbackTask.for_honesty(), RATE),
    "ultrafeedback_instruction_following": (UltraFeedbackTask.for_instruction_following(), RATE),
    "ultrafeedback_truthfulness": (UltraFeedbackTask.for_truthfulness(), RATE),
    "ultrafeedback_structured": (UltraFeedbackTask(structured=True), RATE),
    "judgelm": (JudgeLMTask(), RATE),
    "ultrajudge": (UltraJudgeTask(), RATE),
    "prometheus_helpfulness_one_answer": (PrometheusTask(), {"input": QUESTION, "generations": ["Lyon."], "reference_answer": "Paris."}),
    "prometheus_reasoning": (PrometheusTask.for_reasoning(), {**RATE, "reference_answer": "Paris is the capital of France."}),
    "critique": (CritiqueTask(), RATE),
    "ultracm_one_answer": (UltraCMTask(), {"input": QUESTION, "generations": ["Lyon."]}),
    "ultracm": (UltraCMTask(), RATE),
    "quality_scorer": (QualityScorerTask(), RATE),
    "complexity_scorer": (ComplexityScorerTask(), {"instructions": ["Name a color.", "Prove that there are infinitely many primes."]}),
    "custom_template": (
        Task.from_template("Summarize in {{ words }} words:\n{{ text }}", inputs=["text"], system_prompt="Be brief.", words=12),
        {"text": "The quick brown fox jumps over the lazy dog."},
    ),
}


def render(task: Task, inputs: dict) -> str:
    prompt = task.generate_prompt(**inputs)
    return f"=== system ===\n{prompt.system_prompt}\n=== user ===\n{prompt.formatted_prompt}\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_prompt_matches_golden(name):
    task, inputs = CASES[name]
    path = GOLDEN / f"task_{name}.txt"
    text = render(task, inputs)
    if UPDATE:
        path.write_text(text)
    assert path.exists(), f"missing golden file {path.name}; write it with DISTILABEL_NB_UPDATE_GOLDEN=1"
    assert text == path.read_text()


def test_every_packaged_task_has_a_golden_prompt():
    rendered = {type(task) for task, _ in CASES.values()}
    exported = {UltraFeedbackTask, JudgeLMTask, UltraJudgeTask, PrometheusTask, UltraCMTask, CritiqueTask,
                QualityScorerTask, ComplexityScorerTask, TextGenerationTask, SelfInstructTask, EvolInstructTask, EvolQualityTask}
    assert exported <= rendered


def test_golden_prompts_show_no_unrendered_jinja_or_python_reprs():
    for name, (task, inputs) in CASES.items():
        text = render(task, inputs)
        assert "{{" not in text and "{%" not in text, name
        assert "RatingLevel(" not in text and "[{" not in text.replace('{"ratings": [{', ""), name
