"""What the run panel lets you choose, as plain data: tasks, backends, datasets, exports.

Nothing here imports ipywidgets: the panel reads its widgets into a :class:`ModelConfig`
and calls these functions, so the logic is testable (and usable) without a notebook.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from distilabel_nb.export import to_jsonl, to_parquet
from distilabel_nb.llms.base import LLM
from distilabel_nb.llms.engine_build import find_server_binary
from distilabel_nb.llms.llama_cpp import LlamaCppLLM
from distilabel_nb.llms.models import DEFAULT_MODEL_NAME
from distilabel_nb.llms.openai import OpenAILLM
from distilabel_nb.pipeline import dataset_records
from distilabel_nb.tasks.base import Task
from distilabel_nb.tasks.registry import available_tasks

#: Backends offered for each role: (value, button label).
BACKENDS = [
    ("local", "Bundled model"),
    ("gguf", "GGUF file"),
    ("openai", "OpenAI-compatible"),
]
GIVEN = "given"  # the LLM (or its task) that the panel was built with

#: Where an OpenAI-compatible backend takes its key from: (value, label).
KEY_SOURCES = [
    ("env", "From the OPENAI_API_KEY environment variable"),
    ("typed", "Typed here (kept in memory only)"),
    ("none", "No key (a local server)"),
]
ENV_KEY = "OPENAI_API_KEY"
NO_KEY = "no-key"

#: The call cache choices: (value, label).
CACHE_MODES = [
    (True, "Cache: reuse answers"),
    ("refresh", "Cache: ask again"),
    (False, "Cache: off"),
]

EXPORT_FORMATS = {"jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet"}
READERS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


# -- tasks --

@dataclass(frozen=True)
class TaskChoice:
    """A task the panel offers: ``make()`` builds a fresh task."""

    name: str
    kind: str  # "generator" or "labeller"
    description: str
    make: Callable[[], Task] = field(compare=False)

    @property
    def label(self) -> str:
        return self.name


def task_choices(kind: str | None = None) -> list[TaskChoice]:
    """The tasks to pick from, in registry order (:func:`distilabel_nb.tasks.registry.available_tasks`).

    Args:
        kind: ``"generator"`` or ``"labeller"`` to filter, ``None`` for all.
    """
    found = [
        TaskChoice(factory.name, factory.kind, factory.description, factory)
        for group in available_tasks().values()
        for factory in group.values()
    ]
    return [c for c in found if kind is None or c.kind == kind]


# -- datasets --

def as_frame(dataset: Any) -> pd.DataFrame:
    """A DataFrame, a list of dicts or a ``datasets.Dataset`` as a DataFrame (a DataFrame is kept as is)."""
    if isinstance(dataset, pd.DataFrame):
        return dataset
    records, columns, labels = dataset_records(dataset)
    return pd.DataFrame(records, columns=columns, index=labels)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a JSONL, JSON, CSV or Parquet file into a DataFrame.

    Raises:
        FileNotFoundError: when there is no such file.
        ValueError: for an unknown extension, an unreadable file or a file without rows.
    """
    path = Path(str(path).strip()).expanduser()
    if not str(path) or str(path) == ".":
        raise ValueError("Type the path of a .jsonl, .csv or .parquet file")
    if not path.is_file():
        raise FileNotFoundError(f"No file at {str(path)!r} (relative paths start at {os.getcwd()})")
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"Cannot read {path.name!r}: use a .jsonl, .json, .csv or .parquet file")
    try:
        if kind == "jsonl":
            frame = pd.read_json(path, lines=True)
        elif kind == "json":
            try:
                frame = pd.read_json(path)
            except ValueError:
                frame = pd.read_json(path, lines=True)
        elif kind == "csv":
            frame = pd.read_csv(path)
        else:
            frame = pd.read_parquet(path)
    except ImportError as exc:
        raise ValueError(f"Reading {path.name!r} needs an extra package: {exc}") from None
    except Exception as exc:
        raise ValueError(f"Could not read {path.name!r} as {kind}: {exc}") from None
    if frame.empty:
        raise ValueError(f"{path.name!r} has no rows")
    return frame


def guess_column(name: str, columns: Sequence[str], frame: pd.DataFrame | None = None) -> str | None:
    """The dataset column to map to task input ``name``: the same name, else the first text column."""
    if name in columns:
        return name
    lowered = {str(c).lower(): c for c in columns}
    if name.lower() in lowered:
        return lowered[name.lower()]
    if name == "input" and frame is not None:
        for candidate in ("instruction", "prompt", "question", "text", "query"):
            if candidate in lowered:
                return lowered[candidate]
        for column in columns:
            if frame[column].map(lambda v: isinstance(v, str)).all():
                return column
    return None


def apply_mapping(frame: pd.DataFrame, mapping: dict[str, str | None], rows: int | None = None) -> pd.DataFrame:
    """The rows to run: the first ``rows`` rows with each task input filled from its mapped column.

    The result has a fresh 0..n-1 index (input positions); the caller keeps the labels.

    Raises:
        ValueError: naming a task input that is not mapped to a column.
    """
    unmapped = [name for name, column in mapping.items() if column is None]
    if unmapped:
        raise ValueError(
            f"Choose a dataset column for the task input(s) {unmapped} in the Data tab "
            f"(available columns: {list(map(str, frame.columns))})"
        )
    missing = [column for column in mapping.values() if column not in frame.columns]
    if missing:
        raise ValueError(f"The dataset has no column(s) {missing}; available: {list(map(str, frame.columns))}")
    data = frame if rows is None else frame.head(rows)
    data = data.reset_index(drop=True)
    for name, column in mapping.items():
        if column != name:
            data[name] = data[column]
    return data


# -- models --

@dataclass
class ModelConfig:
    """One role's choices, as read from the panel's widgets. Holds no key."""

    role: str  # "generator" or "labeller"
    task: str  # a TaskChoice name, or GIVEN
    backend: str  # GIVEN, "local", "gguf" or "openai"
    gguf_path: str = ""
    model: str = ""
    base_url: str = ""
    key_source: str = "env"
    max_new_tokens: int = 128
    temperature: float = 0.7
    max_concurrency: int = 1
    cache: bool | str = True  # True: reuse cached answers; "refresh": ask again; False: off
    structured: bool | None = None  # JSON constrained to the task's schema, where the task supports it


def supports_structured(task: Task) -> bool:
    """Whether a task can ask for JSON that follows its schema (a ``structured`` field)."""
    return dataclasses.is_dataclass(task) and any(f.name == "structured" for f in dataclasses.fields(task))


def build_task(name: str, given: LLM | None = None, kind: str | None = None, structured: bool | None = None) -> Task:
    """A task by choice name (``GIVEN``: the given LLM's own task).

    Args:
        structured: For tasks that support it, ask for JSON constrained to the task's
            schema (``None`` leaves the task's own setting).
    """
    if name == GIVEN:
        if given is None:
            raise ValueError("There is no pipeline LLM to take the task from")
        task = given.task
    else:
        choice = next((c for c in task_choices(kind) if c.name == name), None)
        if choice is None:
            raise ValueError(f"Unknown task {name!r}; known: {[c.name for c in task_choices(kind)]}")
        task = choice.make()
    if structured is not None and supports_structured(task) and task.structured != structured:
        task = dataclasses.replace(task, structured=structured)
    return task


def build_llm(config: ModelConfig, given: LLM | None = None, typed_key: str | None = None) -> LLM:
    """Build the LLM a role's choices describe.

    Raises:
        ValueError: a missing model name, a missing key, bad parameters.
        FileNotFoundError: a GGUF path that is not a file.
    """
    kind = "generator" if config.role.startswith("generator") else "labeller"  # "generator 2", …: a generator
    task = build_task(config.task, given, kind, config.structured)
    params = {"max_new_tokens": config.max_new_tokens, "temperature": config.temperature}
    cache = config.cache
    if config.backend == GIVEN:
        if given is None:
            raise ValueError("There is no pipeline LLM for this role")
        # shares the loaded model and client; its own task, parameters and cache mode
        return given.replace(task=task, max_concurrency=config.max_concurrency, cache=cache, **params)
    if config.backend in ("local", "gguf"):
        if config.backend == "gguf" and not config.gguf_path.strip():
            raise ValueError(f"Type the path of a .gguf model file for the {config.role} (or pick the bundled model)")
        model = None if config.backend == "local" else config.gguf_path.strip()
        concurrency = config.max_concurrency if local_engine_runs(config.backend) else 1
        return LlamaCppLLM(task, model=model, max_concurrency=concurrency, cache=cache, **params)
    if config.backend == "openai":
        if not config.model.strip():
            raise ValueError(f"Type the model name for the {config.role}'s server (e.g. gpt-4o-mini)")
        if config.key_source == "typed":
            if not typed_key:
                raise ValueError(f"Type the API key for the {config.role} (or choose the environment or no key)")
            key = typed_key
        elif config.key_source == "none":
            key = NO_KEY  # never send the environment's key to a server that needs none
        else:
            key = None
            if not os.environ.get(ENV_KEY) and not config.base_url.strip():
                raise ValueError(f"{ENV_KEY} is not set: set it, type a key, or give a base URL of a server that needs none")
        return OpenAILLM(config.model.strip(), task, base_url=config.base_url.strip() or None, api_key=key,
                         max_concurrency=config.max_concurrency, cache=cache, **params)
    raise ValueError(f"Unknown backend {config.backend!r}")


def local_engine_runs(backend: str, given: LLM | None = None) -> bool:
    """Whether a local backend's calls go to llama.cpp's server (batched) rather than in-process (one at a time)."""
    if backend == GIVEN:
        return isinstance(given, LlamaCppLLM) and given.engine == "server"
    return find_server_binary() is not None


def describe_model(config: ModelConfig, given: LLM | None = None) -> str:
    """A short name of the model a role's choices describe, for the header."""
    if config.backend == GIVEN and given is not None:
        return given.model_name
    if config.backend == "local":
        return DEFAULT_MODEL_NAME
    if config.backend == "gguf":
        return Path(config.gguf_path.strip()).stem or "a GGUF file"
    return config.model.strip() or "a server model"


def prompt_format_for(config: ModelConfig, given: LLM | None = None) -> str:
    """The prompt format a role's backend uses (its class default)."""
    if config.backend == GIVEN and given is not None:
        return given.prompt_format
    return (OpenAILLM if config.backend == "openai" else LlamaCppLLM).default_format


def render_prompt(task: Task, inputs: dict[str, Any], config: ModelConfig, given: LLM | None = None) -> Any:
    """The exact prompt a role sends for ``inputs``: a string or chat messages.

    Raises:
        ValueError: when the inputs do not fit the task.
    """
    prompt = task.generate_prompt(**{name: inputs.get(name) for name in task.input_args_names})
    if config.backend == GIVEN and given is not None and given.task is task:
        return given.format_prompt(prompt)
    if config.backend == GIVEN and given is not None and given.prompt_formatting_fn is not None:
        return given.prompt_formatting_fn(prompt)
    return prompt.format_as(prompt_format_for(config, given))


# -- export --

def _json_cell(value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def export_frame(frame: pd.DataFrame, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``frame`` as JSONL, CSV or Parquet (``fmt`` or the path's extension).

    Lists and dicts stay nested in JSONL and Parquet; CSV cells hold them as JSON text.

    Returns:
        The path written.

    Raises:
        ValueError: for an unknown format, or Parquet without pyarrow.
    """
    path = Path(str(path).strip()).expanduser()
    if fmt is None:
        fmt = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(path.suffix.lower())
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}; choose one of {list(EXPORT_FORMATS)}")
    data = frame.reset_index(drop=True)
    if fmt == "jsonl":
        return to_jsonl(data, path)
    if fmt == "parquet":
        try:
            return to_parquet(data, path)
        except ImportError as exc:
            raise ValueError(str(exc)) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    data.map(_json_cell).to_csv(path, index=False)
    return path
