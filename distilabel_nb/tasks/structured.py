"""Structured output: a pydantic model for the answer, its JSON schema, and reading answers against it.

A task that declares a model (``output_model``, or ``response_model(inputs)`` for a
shape that depends on the row) lets backends constrain decoding to the model's JSON
schema (llama.cpp grammars, OpenAI's ``response_format``); the answer is still read
and validated here, so a backend that cannot constrain gets the same checks.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Sequence

from pydantic import BaseModel, ValidationError

from distilabel_nb.tasks.parsing import JSONNotFound, OutputParseError, extract_json


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of ``model`` in the strict form structured-output APIs require.

    Every object lists all its properties as required and allows no others (OpenAI's
    ``strict: true``); llama.cpp turns the same schema into a grammar.

    Example:
        >>> class Verdict(BaseModel):
        ...     score: int
        >>> strict_json_schema(Verdict)["required"], strict_json_schema(Verdict)["additionalProperties"]
        (['score'], False)
    """

    return json.loads(_strict_schema_text(model))  # a fresh copy: callers may change theirs


@lru_cache(maxsize=256)
def _strict_schema_text(model: type[BaseModel]) -> str:
    """The strict schema of ``model`` as JSON text, built once per model (pydantic takes ~0.8 ms a schema)."""
    schema = model.model_json_schema()
    _tighten(schema)
    return json.dumps(schema)


def _tighten(node: Any) -> None:
    """Every object: all properties required, no others (in place)."""
    if not isinstance(node, dict):
        return
    if isinstance(node.get("properties"), dict):
        node["additionalProperties"] = False
        node["required"] = list(node["properties"])
        for child in node["properties"].values():
            _tighten(child)
    for key in ("items", "additionalProperties", "not"):
        _tighten(node.get(key))
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for child in node.get(key) or []:
            _tighten(child)
    for child in (node.get("$defs") or {}).values():
        _tighten(child)


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    """``"ratings.1.rating: Input should be 1, 2, 3, 4 or 5; …"`` from a pydantic error."""
    lines = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(part) for part in err["loc"]) or "answer"
        lines.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(lines) + (f"; and {more} more" if more > 0 else "")


def validate_answer(data: Any, model: type[BaseModel], partial: dict[str, Any] | None = None) -> BaseModel:
    """Validate already-read ``data`` against ``model``.

    Raises:
        OutputParseError: naming each field that does not match (``partial`` is attached).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise OutputParseError(f"the answer does not match the schema: {describe_validation_error(exc)}", partial=partial) from None


def read_structured(text: str, model: type[BaseModel], output_names: Sequence[str] = ()) -> BaseModel:
    """Read a JSON answer and validate it against ``model``.

    Code fences and chatter around the JSON are tolerated.

    Raises:
        OutputParseError: when there is no complete JSON, or it does not match the schema.
            ``partial`` holds the ``output_names`` that the JSON did have.
    """
    empty = {name: None for name in output_names}
    try:
        data = extract_json(text)
    except JSONNotFound as exc:
        raise OutputParseError(str(exc), partial=empty) from None
    partial = {name: data.get(name) for name in output_names} if isinstance(data, dict) else empty
    return validate_answer(data, model, partial)
