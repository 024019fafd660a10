"""The task registry the run panel lists: names, kinds, one-line descriptions, factories."""

from __future__ import annotations

import pytest

from distilabel_nb.tasks import Task, TaskFactory, UltraFeedbackTask, available_tasks, register_task
from distilabel_nb.tasks import registry


@pytest.fixture
def clean_registry(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def test_tasks_are_split_by_kind_and_build_the_right_kind():
    tasks = available_tasks()
    assert set(tasks) == {"generators", "labellers"}
    for group, kind in (("generators", "generator"), ("labellers", "labeller")):
        assert tasks[group]
        for name, factory in tasks[group].items():
            assert isinstance(factory, TaskFactory) and factory.name == name and factory.kind == kind
            task = factory()
            assert isinstance(task, Task) and task.kind == kind, name
            assert factory.description and "\n" not in factory.description and len(factory.description) < 110


def test_every_family_and_preset_is_listed():
    tasks = available_tasks()
    assert list(tasks["generators"]) == ["text_generation", "text_generation_principles", "self_instruct", "evol_instruct", "evol_quality"]
    labellers = set(tasks["labellers"])
    assert {f"ultrafeedback_{a}" for a in ("overall_quality", "helpfulness", "honesty", "instruction_following", "truthfulness")} <= labellers
    assert {"judgelm", "ultrajudge", "ultracm", "critique", "quality_scorer", "complexity_scorer"} <= labellers
    assert {"prometheus_helpfulness", "prometheus_reasoning"} <= labellers


def test_presets_build_their_preset_and_take_overrides():
    labellers = available_tasks()["labellers"]
    honesty = labellers["ultrafeedback_honesty"]()
    assert honesty == UltraFeedbackTask.for_honesty()
    structured = labellers["ultrafeedback_truthfulness"](structured=True)
    assert structured.structured and structured.aspect == UltraFeedbackTask.for_truthfulness().aspect
    assert labellers["prometheus_reasoning"]().rubric.startswith("Is the reasoning")
    assert available_tasks()["generators"]["text_generation_principles"]().principles_distribution == "balanced"


def test_every_listed_task_renders_a_prompt():
    inputs = {"input": "Q?", "generations": ["a", "b"], "generation": "a", "reference_answer": "r", "instructions": ["x", "y"]}
    for group in available_tasks().values():
        for name, factory in group.items():
            task = factory()
            prompt = task.generate_prompt(**{k: inputs[k] for k in task.input_args_names})
            assert prompt.formatted_prompt, name


def test_a_user_task_can_be_registered(clean_registry):
    summarize = Task.from_template("Summarize: {{ text }}", inputs=["text"], name="Summarize")
    factory = register_task("summarize", lambda: summarize, "Summarize a text.")
    assert factory.kind == "generator"
    assert available_tasks()["generators"]["summarize"]() is summarize
    judge = Task.from_template("Judge: {{ text }}", inputs=["text"], kind="labeller", name="Judge")
    register_task("judge", lambda: judge, "Judge a text.")
    assert "judge" in available_tasks()["labellers"]


def test_registering_replaces_a_name(clean_registry):
    register_task("text_generation", lambda: UltraFeedbackTask(), "Replaced.")
    assert "text_generation" not in available_tasks()["generators"]
    assert available_tasks()["labellers"]["text_generation"].description == "Replaced."


@pytest.mark.parametrize(
    "args, error",
    [
        (("", UltraFeedbackTask, "x"), ValueError),
        (("x", UltraFeedbackTask, ""), ValueError),
        (("x", UltraFeedbackTask, "two\nlines"), ValueError),
        (("x", "not callable", "x"), TypeError),
        (("x", UltraFeedbackTask, "x", "judge"), ValueError),
    ],
)
def test_bad_registrations_are_refused(clean_registry, args, error):
    with pytest.raises(error):
        register_task(*args)
