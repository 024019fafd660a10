"""Every task by name, with a one-line description, for the run panel and for users.

``make_task(name)`` builds one by name; ``available_tasks()`` returns ``{"generators": {...}, "labellers": {...}}``; each value
is a :class:`TaskFactory` — call it to build the task (keyword arguments go to the
task). Presets are entries of their own. ``register_task`` adds a user's task.

Example:
    >>> factory = available_tasks()["labellers"]["ultrafeedback_helpfulness"]
    >>> factory.description
    'UltraFeedback: rate each answer 1-5 for helpfulness, with a rationale.'
    >>> factory().aspect
    'helpfulness'
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable

from distilabel_nb.tasks.base import Task, TaskKind
from distilabel_nb.tasks.critique import CritiqueTask, UltraCMTask
from distilabel_nb.tasks.evol import EvolInstructTask, EvolQualityTask
from distilabel_nb.tasks.judgelm import JudgeLMTask
from distilabel_nb.tasks.prometheus import RUBRICS, PrometheusTask
from distilabel_nb.tasks.scorers import ComplexityScorerTask, QualityScorerTask
from distilabel_nb.tasks.self_instruct import SelfInstructTask
from distilabel_nb.tasks.text_generation import TextGenerationTask
from distilabel_nb.tasks.ultrafeedback import UltraFeedbackTask
from distilabel_nb.tasks.ultrajudge import UltraJudgeTask

_GROUPS = {"generator": "generators", "labeller": "labellers"}


@dataclass(frozen=True)
class TaskFactory:
    """Builds one kind of task; calling it passes keyword arguments to the task.

    Attributes:
        name: The registry name, e.g. ``"ultrafeedback_honesty"``.
        kind: ``"generator"`` or ``"labeller"``.
        description: One line for lists and menus.
        build: The function that makes the task.
    """

    name: str
    kind: TaskKind
    description: str
    build: Callable[..., Task]

    def __call__(self, **kwargs: Any) -> Task:
        return self.build(**kwargs)


_REGISTRY: dict[str, TaskFactory] = {}


def register_task(name: str, build: Callable[..., Task], description: str, kind: TaskKind | None = None) -> TaskFactory:
    """Add a task to :func:`available_tasks` (a name already taken is replaced).

    Args:
        name: The registry name.
        build: A task class or a function returning a task; called with the user's keywords.
        description: One line shown in the run panel.
        kind: ``"generator"`` or ``"labeller"``; by default the ``kind`` of the task ``build()`` makes.

    Raises:
        ValueError: on an empty name or description, or an unknown kind.

    Example:
        >>> summarize = Task.from_template("Summarize: {{ text }}", inputs=["text"], name="Summarize")
        >>> register_task("summarize", lambda: summarize, "Summarize a text in a few lines.").kind
        'generator'
    """
    if not name or not description or "\n" in description:
        raise ValueError("register_task needs a name and a one-line description")
    if not callable(build):
        raise TypeError(f"build must be a task class or a function returning a task, got {type(build).__name__}")
    kind = kind or build().kind
    if kind not in _GROUPS:
        raise ValueError(f"kind must be 'generator' or 'labeller', got {kind!r}")
    factory = TaskFactory(name, kind, description, build)
    _REGISTRY[name] = factory
    return factory


def available_tasks() -> dict[str, dict[str, TaskFactory]]:
    """Every registered task, split into ``"generators"`` and ``"labellers"``, in registration order."""
    split: dict[str, dict[str, TaskFactory]] = {"generators": {}, "labellers": {}}
    for name, factory in _REGISTRY.items():
        split[_GROUPS[factory.kind]][name] = factory
    return split


def make_task(name: str, **kwargs: Any) -> Task:
    """Build the registered task called ``name``; keyword arguments go to the task.

    Raises:
        ValueError: for a name nobody registered, listing the close matches and every
            known name.

    Example:
        >>> make_task("ultrafeedback_honesty").aspect
        'honesty and uncertainty'
    """
    factory = _REGISTRY.get(name)
    if factory is None:
        close = difflib.get_close_matches(str(name), _REGISTRY, n=3)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise ValueError(f"Unknown task {name!r}; {hint}known: {', '.join(_REGISTRY)} (register your own with register_task)")
    return factory(**kwargs)


def _preset(build: Callable[..., Task], **fixed: Any) -> Callable[..., Task]:
    return lambda **kwargs: build(**{**fixed, **kwargs})


register_task("text_generation", TextGenerationTask, "Answer each instruction.", "generator")
register_task(
    "text_generation_principles",
    _preset(TextGenerationTask, principles_distribution="balanced"),
    "Answer each instruction, steered by a principle (helpfulness, honesty, …) picked per row.",
    "generator",
)
register_task("self_instruct", SelfInstructTask, "Write new user requests for an application from a piece of context.", "generator")
register_task("evol_instruct", EvolInstructTask, "Evolve each instruction into a harder or rarer one; failed evolutions are dropped.", "generator")
register_task("evol_quality", EvolQualityTask, "Rewrite each answer to be more helpful, relevant, deep, creative or detailed.", "generator")

for _aspect, _label in [
    ("overall_quality", "overall quality"),
    ("helpfulness", "helpfulness"),
    ("honesty", "honesty"),
    ("instruction_following", "instruction following"),
    ("truthfulness", "truthfulness"),
]:
    register_task(
        f"ultrafeedback_{_aspect}",
        getattr(UltraFeedbackTask, f"for_{_aspect}"),
        f"UltraFeedback: rate each answer 1-5 for {_label}, with a rationale.",
        "labeller",
    )
register_task("judgelm", JudgeLMTask, "JudgeLM: score each answer 1-10 on one line, then explain.", "labeller")
register_task("ultrajudge", UltraJudgeTask, "UltraJudge: rate each answer area by area (0-10), then a final score.", "labeller")
for _rubric in RUBRICS:
    register_task(
        f"prometheus_{_rubric}",
        _preset(PrometheusTask.for_rubric, name=_rubric),
        f"Prometheus: grade each answer 1-5 on {_rubric.replace('_', ' ')}, against a reference answer.",
        "labeller",
    )
register_task("ultracm", UltraCMTask, "UltraCM: a teacher's feedback on each answer, with an overall score 1-10.", "labeller")
register_task("critique", CritiqueTask, "Critique each answer and score it 1-10.", "labeller")
register_task("quality_scorer", QualityScorerTask, "Score the quality of each answer, compared with the others (1-5).", "labeller")
register_task("complexity_scorer", ComplexityScorerTask, "Score the complexity of each instruction in a list (1-5).", "labeller")
