"""The result schema: which columns a pipeline writes, what each one holds, and every score's scale.

A pipeline's result keeps the dataset's columns and adds, in order: the generator's
provenance (``generation_model``, ``generation_prompt``, ``raw_generation_responses``),
its outputs (``generations``, lists of ``num_generations``) and ``generation_error``;
then the labeller's provenance (``labelling_model``, ``labelling_prompt``,
``raw_labelling_response``), its outputs (e.g. ``rating``, ``rationale``, lists aligned
with ``generations``), ``labelling_order`` (the order the labeller saw the answers in,
for a labeller of a list of answers) and ``labelling_error``; last, each step's usage
(:data:`USAGE_COLUMNS`: tokens, cost, latency, cache hit).

The pipeline attaches a :class:`ResultSchema` to the frame as plain data in
``df.attrs["distilabel_nb"]`` (it survives pickling and, with pandas >= 2.1, Parquet).
Every front reads it through :func:`of`; a frame the pipeline did not make gets a
schema guessed from its column names and values.

Example:
    >>> import pandas as pd
    >>> frame = attach(pd.DataFrame({"input": ["Hi"], "rating": [[3, 9]]}),
    ...                ResultSchema(inputs=("input",), labelled=("rating",), scores={"rating": Scale(1, 10)}))
    >>> frame.attrs["distilabel_nb"]["scores"]
    {'rating': {'low': 1, 'high': 10, 'whole': True}}
    >>> str(of(frame).scale("rating"))
    '1–10'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from distilabel_nb.cells import as_list, is_missing

#: The key of the schema in ``DataFrame.attrs``.
ATTRS_KEY = "distilabel_nb"
SCHEMA_VERSION = 1

GENERATION_MODEL = "generation_model"
GENERATION_PROMPT = "generation_prompt"
RAW_GENERATION_RESPONSES = "raw_generation_responses"
GENERATIONS = "generations"
GENERATION_ERROR = "generation_error"
LABELLING_MODEL = "labelling_model"
LABELLING_PROMPT = "labelling_prompt"
RAW_LABELLING_RESPONSE = "raw_labelling_response"
LABELLING_ERROR = "labelling_error"
#: The order the labeller saw a row's answers in: ``labelling_order[k]`` is the answer shown at place ``k + 1``.
LABELLING_ORDER = "labelling_order"
#: Why each answer ended, as the backend said: ``"stop"``, or ``"length"`` (cut at ``max_new_tokens``); ``None`` unknown.
GENERATION_FINISH_REASONS = "generation_finish_reasons"
LABELLING_FINISH_REASON = "labelling_finish_reason"
#: The finish reason of an answer cut at ``max_new_tokens``.
TRUNCATED = "length"

GENERATION_PROVENANCE = (GENERATION_MODEL, GENERATION_PROMPT, RAW_GENERATION_RESPONSES, GENERATION_FINISH_REASONS)
LABELLING_PROVENANCE = (LABELLING_MODEL, LABELLING_PROMPT, RAW_LABELLING_RESPONSE, LABELLING_FINISH_REASON)
#: Columns that record how a row was made (models, prompts as sent, raw answers, the order shown).
PROVENANCE_COLUMNS = GENERATION_PROVENANCE + LABELLING_PROVENANCE + (LABELLING_ORDER,)
ERROR_COLUMNS = (GENERATION_ERROR, LABELLING_ERROR)

#: What each step's calls used, per row: tokens, cost in dollars (``NaN`` when unknown: no price, or a
#: priced call without reported usage; 0 from the cache), wall seconds, and whether the cache answered.
USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "cost", "latency_s", "cached")
GENERATION_USAGE = tuple(f"generation_{name}" for name in USAGE_FIELDS)
LABELLING_USAGE = tuple(f"labelling_{name}" for name in USAGE_FIELDS)
GENERATION_COST, LABELLING_COST = "generation_cost", "labelling_cost"
USAGE_COLUMNS = GENERATION_USAGE + LABELLING_USAGE

_SCORE_NAME = re.compile(r"rating|score|grade", re.IGNORECASE)


def is_error_column(name: str) -> bool:
    """``generation_error``, ``labelling_error`` or any other ``*_error`` column."""
    return name == "error" or name.endswith("_error")


def looks_like_score(name: str) -> bool:
    """Whether a column's name suggests scores (the fallback for frames without a schema)."""
    return bool(_SCORE_NAME.search(name))


@dataclass(frozen=True)
class Scale:
    """The range of a score, and whether it takes whole numbers only.

    Args:
        low: The lowest score.
        high: The highest score.
        whole: Only whole numbers (read as ``int``); otherwise any number in the range (``float``).

    Example:
        >>> problems = []
        >>> Scale(1, 5).read(4.0, "text 1", problems, "rating"), Scale(1, 5).read(4.5, "text 2", problems, "rating")
        (4, None)
        >>> problems
        ['text 2: rating 4.5 is not a whole number (the scale is 1-5)']
    """

    low: float
    high: float
    whole: bool = True

    def __post_init__(self) -> None:
        numbers = all(isinstance(v, Real) and not isinstance(v, bool) for v in (self.low, self.high))
        if not numbers or not self.low < self.high:
            raise ValueError(f"a scale needs two numbers, low below high; got {self.low!r} and {self.high!r}")
        if self.whole:
            if not (float(self.low).is_integer() and float(self.high).is_integer()):
                raise ValueError(f"a whole-number scale needs whole ends; got {self.low!r} and {self.high!r}")
            object.__setattr__(self, "low", int(self.low))
            object.__setattr__(self, "high", int(self.high))

    def __str__(self) -> str:
        return f"{self.low:g}–{self.high:g}"

    @property
    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)

    def steps(self) -> list[int]:
        """Every value of a whole-number scale, lowest first (``[]`` for a continuous one)."""
        return list(range(int(self.low), int(self.high) + 1)) if self.whole else []

    def read(self, value: float | None, where: str, problems: list[str], noun: str = "score") -> int | float | None:
        """``value`` as a score on this scale, or ``None`` and a line in ``problems``.

        A whole-number scale gives an ``int`` and rejects ``4.5``; another gives a ``float``.
        """
        if value is None:
            return None
        if not self.low <= value <= self.high:
            problems.append(f"{where}: {noun} {value:g} is outside {self.low:g}-{self.high:g}")
            return None
        if not self.whole:
            return float(value)
        if not float(value).is_integer():
            problems.append(f"{where}: {noun} {value:g} is not a whole number (the scale is {self.low:g}-{self.high:g})")
            return None
        return int(value)

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "whole": self.whole}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Scale":
        return cls(data["low"], data["high"], bool(data.get("whole", True)))


def _numbers(cell: Any) -> list[float] | None:
    """The numbers of a score cell (a number, or a list of numbers and missing values), else ``None``."""
    values = as_list(cell) if isinstance(cell, (list, tuple)) or hasattr(cell, "tolist") else [cell]
    if not all(is_missing(v) or isinstance(v, Real) and not isinstance(v, bool) for v in values):
        return None
    return [float(v) for v in values if not is_missing(v)]


def guess_scale(values: Iterable[float]) -> Scale:
    """The usual scale that holds ``values``: 1–5, 0–1, 1–10 or 0–10, else their own range.

    Only for frames without a schema: a labeller's task knows its scale.

    Example:
        >>> str(guess_scale([2, 4])), str(guess_scale([0.2, 0.9])), str(guess_scale([3, 7.5]))
        ('1–5', '0–1', '1–10')
    """
    values = list(values)
    whole = all(float(v).is_integer() for v in values)
    if not values:
        return Scale(1, 5)
    low, high = min(values), max(values)
    if low >= 1 and high <= 5:
        return Scale(1, 5, whole)
    if low >= 0 and high <= 1:
        return Scale(0, 1, False)
    if low >= 0 and high <= 10:
        return Scale(0 if low < 1 else 1, 10, whole)
    return Scale(low, high, whole) if low < high else Scale(low - 1, high + 1, whole)


def _names(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(v) for v in values))


@dataclass(frozen=True)
class ResultSchema:
    """What each column of a result holds.

    Attributes:
        inputs: The dataset's columns, kept as they were.
        generated: The generator's output columns (lists of ``num_generations``).
        labelled: The labeller's output columns (scores, rationales, …).
        provenance: Model names, prompts as sent and raw answers.
        errors: ``generation_error`` and ``labelling_error``: the reason a row's step failed.
        usage: Token, cost, latency and cache columns of each step (:data:`USAGE_COLUMNS`).
        scores: Each score column and its scale, from the labeller's task.
        rated: The column of texts the scores are aligned with (``generations``).
        tasks: The task of each role, e.g. ``{"labeller": "JudgeLMTask"}``.
        guessed: True when read from names and values, not attached by the pipeline.
    """

    inputs: tuple[str, ...] = ()
    generated: tuple[str, ...] = ()
    labelled: tuple[str, ...] = ()
    provenance: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    usage: tuple[str, ...] = ()
    scores: Mapping[str, Scale] = field(default_factory=dict)
    rated: str | None = None
    tasks: Mapping[str, str] = field(default_factory=dict)
    guessed: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the schema names (by kind: inputs, provenance, outputs, errors, usage)."""
        return _names(self.inputs + self.provenance + self.generated + self.labelled + self.errors + self.usage)

    @property
    def score_column(self) -> str | None:
        """The first score column (the one rankings and preference pairs use), or ``None``."""
        return next(iter(self.scores), None)

    def scale(self, column: str | None) -> Scale | None:
        """The scale of a score column, or ``None`` for any other column."""
        return self.scores.get(column) if column is not None else None

    def is_score(self, column: str) -> bool:
        return column in self.scores

    def to_attrs(self) -> dict[str, Any]:
        """The schema as plain data (lists, dicts, strings, numbers), for ``DataFrame.attrs``."""
        return {
            "version": SCHEMA_VERSION,
            "inputs": list(self.inputs), "generated": list(self.generated), "labelled": list(self.labelled),
            "provenance": list(self.provenance), "errors": list(self.errors), "usage": list(self.usage),
            "scores": {name: scale.to_dict() for name, scale in self.scores.items()},
            "rated": self.rated, "tasks": dict(self.tasks),
        }

    @classmethod
    def from_attrs(cls, data: Mapping[str, Any]) -> "ResultSchema":
        """The schema read back from :meth:`to_attrs`' data.

        Raises:
            ValueError: when the data is not a schema this version can read.
        """
        try:
            if data.get("version") != SCHEMA_VERSION:
                raise ValueError(f"version {data.get('version')!r}")
            return cls(
                inputs=_names(data["inputs"]), generated=_names(data["generated"]), labelled=_names(data["labelled"]),
                provenance=_names(data["provenance"]), errors=_names(data["errors"]), usage=_names(data.get("usage", ())),
                scores={str(name): Scale.from_dict(scale) for name, scale in data["scores"].items()},
                rated=data.get("rated"), tasks=dict(data.get("tasks") or {}),
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"df.attrs[{ATTRS_KEY!r}] is not a result schema this version reads ({exc})") from None

    def within(self, columns: Sequence[str]) -> "ResultSchema":
        """The schema of the columns that are in ``columns`` (a frame's subset keeps its attrs)."""
        present = set(columns)

        def keep(names: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(n for n in names if n in present)

        return ResultSchema(keep(self.inputs), keep(self.generated), keep(self.labelled), keep(self.provenance),
                            keep(self.errors), keep(self.usage), {n: s for n, s in self.scores.items() if n in present},
                            self.rated if self.rated in present else None, dict(self.tasks), self.guessed)


def task_scales(task: Any) -> dict[str, Scale]:
    """``{score column: scale}`` of a task (empty for a generator, or a labeller without a declared scale)."""
    column, scale = getattr(task, "score_column", None), getattr(task, "scale", None)
    return {column: scale} if column is not None and scale is not None else {}


def for_tasks(inputs: Sequence[str], generator: Any = None, labeller: Any = None) -> ResultSchema:
    """The schema of a run of ``generator`` and/or ``labeller`` (tasks) over a dataset with ``inputs`` columns.

    Example:
        >>> from distilabel_nb.tasks import JudgeLMTask, TextGenerationTask
        >>> schema = for_tasks(["input"], TextGenerationTask(), JudgeLMTask())
        >>> schema.generated, schema.score_column, str(schema.scale("rating"))
        (('generations',), 'rating', '1–10')
    """
    provenance: list[str] = []
    errors: list[str] = []
    usage: list[str] = []
    tasks: dict[str, str] = {}
    scores: dict[str, Scale] = {}
    rated = None
    if generator is not None:
        provenance += GENERATION_PROVENANCE
        errors.append(GENERATION_ERROR)
        usage += GENERATION_USAGE
        tasks["generator"] = generator.name
    if labeller is not None:
        provenance += LABELLING_PROVENANCE
        if getattr(labeller, "texts_input", None) is not None:
            provenance.append(LABELLING_ORDER)
        errors.append(LABELLING_ERROR)
        usage += LABELLING_USAGE
        tasks["labeller"] = labeller.name
        scores = task_scales(labeller)
        rated = getattr(labeller, "texts_input", None) if scores else None
    return ResultSchema(
        inputs=_names(inputs),
        generated=_names(generator.output_args_names) if generator is not None else (),
        labelled=_names(labeller.output_args_names) if labeller is not None else (),
        provenance=tuple(provenance), errors=tuple(errors), usage=tuple(usage), scores=scores, rated=rated, tasks=tasks,
    )


def required_inputs(generator: Any = None, labeller: Any = None) -> list[str]:
    """Dataset columns a run needs: the generator task's inputs, then the labeller's it does not produce.

    Example:
        >>> from distilabel_nb.tasks import TextGenerationTask, UltraFeedbackTask
        >>> required_inputs(TextGenerationTask(), UltraFeedbackTask())
        ['input']
    """
    needed = list(generator.input_args_names) if generator is not None else []
    produced = set(generator.output_args_names) if generator is not None else set()
    if labeller is not None:
        needed += [n for n in labeller.input_args_names if n not in produced and n not in needed]
    return needed


def attach(frame: pd.DataFrame, schema: ResultSchema) -> pd.DataFrame:
    """Store ``schema`` in ``frame.attrs`` (as plain data) and return ``frame``."""
    frame.attrs[ATTRS_KEY] = schema.to_attrs()
    return frame


def attached(frame: pd.DataFrame) -> ResultSchema | None:
    """The schema the pipeline attached to ``frame``, or ``None`` (no schema, or one this version cannot read)."""
    data = getattr(frame, "attrs", {}).get(ATTRS_KEY)
    if not isinstance(data, Mapping):
        return None
    try:
        return ResultSchema.from_attrs(data)
    except ValueError:
        return None


def of(frame: pd.DataFrame) -> ResultSchema:
    """The schema of ``frame``: the attached one for the columns it names, guesses for the others.

    A frame the pipeline did not make (or a column added since, such as ``human_rating``)
    is read by name and value: ``*_error`` columns are errors, the provenance names are
    provenance, and a column named like a score that holds numbers is a score whose
    scale is guessed from its values (:func:`guess_scale`).
    """
    columns = [str(c) for c in frame.columns]
    schema = attached(frame)
    if schema is None:
        return guess(frame)
    schema = schema.within(columns)
    rest = [c for c in columns if c not in schema.columns]
    if not rest:
        return schema
    extra = guess(frame[[c for c in frame.columns if str(c) in rest]])
    return ResultSchema(schema.inputs + extra.inputs, schema.generated, schema.labelled + extra.labelled,
                        schema.provenance + extra.provenance, schema.errors + extra.errors, schema.usage + extra.usage,
                        {**schema.scores, **extra.scores}, schema.rated, schema.tasks)


def guess(frame: pd.DataFrame) -> ResultSchema:
    """A schema read from column names and values, for a frame without one."""
    inputs, provenance, errors, usage = [], [], [], []
    scores: dict[str, Scale] = {}
    for label in frame.columns:
        name = str(label)
        if name in PROVENANCE_COLUMNS:
            provenance.append(name)
        elif name in USAGE_COLUMNS:
            usage.append(name)
        elif is_error_column(name):
            errors.append(name)
        elif looks_like_score(name) and (values := _score_values(frame[label])) is not None:
            scores[name] = guess_scale(values)
        else:
            inputs.append(name)
    rated = GENERATIONS if scores and GENERATIONS in frame.columns else None
    return ResultSchema(inputs=tuple(inputs), provenance=tuple(provenance), errors=tuple(errors), usage=tuple(usage),
                        labelled=tuple(scores), scores=scores, rated=rated, guessed=True)


def _score_values(column: pd.Series) -> list[float] | None:
    """Every number of a column of scores (or lists of them), or ``None`` when it holds anything else."""
    values: list[float] = []
    cells = [cell for cell in column.tolist() if not is_missing(cell)]
    for cell in cells:
        numbers = _numbers(cell)
        if numbers is None:
            return None
        values += numbers
    return values if cells else None

