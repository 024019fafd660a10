"""What every task shares: binding inputs, packaged templates, and the checks that span the families.

Each family's golden prompts, corpus of real answers and parse tests sit in its own module
(``test_ultrafeedback.py``, ``test_judgelm.py``, …); the helpers they share are in
``task_cases.py``.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

import distilabel_nb.tasks as tasks
from distilabel_nb.tasks import (
    ComplexityScorerTask,
    CritiqueTask,
    EvolInstructTask,
    EvolQualityTask,
    JudgeLMTask,
    PrometheusTask,
    QualityScorerTask,
    SelfInstructTask,
    TextGenerationTask,
    UltraCMTask,
    UltraFeedbackTask,
    UltraJudgeTask,
    jinja,
    registry,
)

from task_cases import FAMILIES, GOLDEN_DIR, FamilyChecks, load_corpus, render

#: The modules holding each family's golden prompts (``GOLDEN_CASES``).
FAMILY_MODULES = ["test_text_generation", "test_self_instruct", "test_evol", "test_ultrafeedback", "test_judgelm",
                  "test_ultrajudge", "test_prometheus", "test_critique", "test_scorers", "test_custom_tasks"]


def golden_cases() -> dict:
    cases: dict = {}
    for name in FAMILY_MODULES:
        cases.update(importlib.import_module(name).GOLDEN_CASES)
    return cases


# -- inputs and templates --
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
    loader = jinja.PACKAGED.loader
    original = type(loader).get_source
    monkeypatch.setattr(type(loader), "get_source", lambda self, env, name: calls.append(name) or original(self, env, name))
    jinja.PACKAGED.cache.clear()
    jinja.packaged_template.cache_clear()
    task = UltraFeedbackTask()
    for _ in range(5):
        task.generate_prompt("Q?", ["a", "b"])
    UltraFeedbackTask().generate_prompt("Q?", ["a"])
    assert calls == ["ultrafeedback.jinja2"]



# -- across the families --
def test_every_packaged_task_has_a_golden_prompt():
    rendered = {type(task) for task, _ in golden_cases().values()}
    exported = {UltraFeedbackTask, JudgeLMTask, UltraJudgeTask, PrometheusTask, UltraCMTask, CritiqueTask,
                QualityScorerTask, ComplexityScorerTask, TextGenerationTask, SelfInstructTask, EvolInstructTask, EvolQualityTask}
    assert exported <= rendered


def test_every_golden_file_belongs_to_a_family():
    claimed = {f"task_{name}.txt" for name in golden_cases()} | {"ultrafeedback_overall_quality.txt"}
    assert {path.name for path in GOLDEN_DIR.glob("*.txt")} == claimed


def test_golden_prompts_show_no_unrendered_jinja_or_python_reprs():
    for name, (task, inputs) in golden_cases().items():
        text = render(task, inputs)
        assert "{{" not in text and "{%" not in text, name
        assert "RatingLevel(" not in text and "[{" not in text.replace('{"ratings": [{', ""), name


def test_every_family_has_at_least_30_answers_including_real_ones():
    assert set(FAMILIES) >= {"ultrafeedback", "judgelm", "ultrajudge", "prometheus", "critique", "scorers"}
    for family in FAMILIES:
        cases = load_corpus(family)["cases"]
        assert len(cases) >= 30, family
        assert any(case["source"] == "smollm2" for case in cases), family
        assert len({case["id"] for case in cases}) == len(cases), f"duplicate ids in {family}"
        assert all(("expect" in case) != ("error" in case) for case in cases), family
        module = importlib.import_module(f"test_{family}")
        runs = [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, FamilyChecks) and c.family == family]
        assert runs and runs[0].__name__.startswith("Test"), f"no test class runs the {family} corpus"


# -- the examples in the task modules' docstrings run and say what they show --
MODULES = [
    "base", "jinja", "structured", "custom", "parsing", "settings", "labeller", "principles", "text_generation", "self_instruct",
    "evol", "ultrafeedback", "judgelm", "ultrajudge", "prometheus", "critique", "scorers", "registry",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # examples may register tasks
    module = importlib.import_module(f"distilabel_nb.tasks.{name}")
    from pydantic import BaseModel

    result = doctest.testmod(module, extraglobs={**{n: getattr(tasks, n) for n in tasks.__all__}, "BaseModel": BaseModel}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# -- settings: a misspelt keyword is named, with the close matches and every parameter --
@pytest.mark.parametrize("cls, typo, meant", [
    (UltraFeedbackTask, "aspects", "aspect"),
    (JudgeLMTask, "criterion", "criteria"),
    (UltraJudgeTask, "area", "areas"),
    (PrometheusTask, "rubrik", "rubric"),
    (CritiqueTask, "max_scor", "max_score"),
    (QualityScorerTask, "maxscore", "max_score"),
    (TextGenerationTask, "principle_distribution", "principles_distribution"),
    (EvolInstructTask, "method", "methods"),
    (SelfInstructTask, "num_instruction", "num_instructions"),
])
def test_a_misspelt_keyword_names_the_parameter_meant(cls, typo, meant):
    with pytest.raises(TypeError) as info:
        cls(**{typo: 1})
    message = str(info.value)
    assert message.startswith(f"{cls.__name__} got an unknown parameter {typo!r} (did you mean {meant!r}")
    assert "its parameters: system_prompt, " in message and meant in message.split("its parameters:")[1]


def test_a_keyword_with_no_close_match_still_lists_the_parameters():
    with pytest.raises(TypeError, match=r"^JudgeLMTask got an unknown parameter 'temperature'; its parameters: system_prompt, criteria$"):
        JudgeLMTask(temperature=0)
    with pytest.raises(TypeError, match="unknown parameter 'aspects'"):  # through the registry too
        registry.make_task("ultrafeedback_honesty", aspects="honesty")


def test_the_keyword_check_keeps_copies_and_pickles_working():
    import dataclasses
    import pickle

    task = PrometheusTask.for_reasoning()
    assert pickle.loads(pickle.dumps(task)) == task
    assert dataclasses.replace(task, system_prompt="x").rubric == task.rubric
