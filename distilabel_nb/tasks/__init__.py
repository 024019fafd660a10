"""Tasks: what a model is asked and how its answer is read."""

from distilabel_nb.tasks.base import Task
from distilabel_nb.tasks.custom import TemplateTask
from distilabel_nb.tasks.critique import CritiqueTask, UltraCMTask
from distilabel_nb.tasks.evol import EvolInstructTask, EvolQualityTask, elimination_reason
from distilabel_nb.tasks.judgelm import JudgeLMTask
from distilabel_nb.tasks.parsing import OutputParseError
from distilabel_nb.tasks.principles import PRINCIPLES
from distilabel_nb.tasks.prometheus import RUBRICS, PrometheusTask
from distilabel_nb.tasks.registry import TaskFactory, available_tasks, make_task, register_task
from distilabel_nb.tasks.scorers import ComplexityScorerTask, QualityScorerTask
from distilabel_nb.tasks.self_instruct import SelfInstructTask
from distilabel_nb.tasks.text_generation import TextGenerationTask
from distilabel_nb.tasks.ultrafeedback import RatingLevel, UltraFeedbackTask
from distilabel_nb.tasks.ultrajudge import UltraJudgeTask

__all__ = [
    "PRINCIPLES",
    "RUBRICS",
    "ComplexityScorerTask",
    "CritiqueTask",
    "EvolInstructTask",
    "EvolQualityTask",
    "JudgeLMTask",
    "OutputParseError",
    "PrometheusTask",
    "QualityScorerTask",
    "RatingLevel",
    "SelfInstructTask",
    "Task",
    "TaskFactory",
    "TemplateTask",
    "TextGenerationTask",
    "UltraCMTask",
    "UltraFeedbackTask",
    "UltraJudgeTask",
    "available_tasks",
    "make_task",
    "elimination_reason",
    "register_task",
]
