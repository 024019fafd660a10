"""Generation parameters: the ones every backend takes, validated with errors that name the fix.

A backend with samplers of its own subclasses :class:`GenerationParams` (its
``params_class``); :func:`make_generation_params` validates either.

Example:
    >>> make_generation_params(temperature=0.2, max_new_tokens=16).temperature
    0.2
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from distilabel_nb.pricing import Price

#: Parameters that say something of the calls but are not sent, and stay out of the cache key.
NOT_SENT = ("price",)


class GenerationParams(BaseModel):
    """Generation parameters shared by every backend, validated on construction."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    max_new_tokens: int = Field(256, ge=1, le=1_000_000, description="most tokens to generate per answer")
    temperature: float = Field(0.7, ge=0.0, le=2.0, description="sampling temperature; 0 is greedy")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="nucleus sampling mass")
    frequency_penalty: float = Field(0.0, ge=-2.0, le=2.0, description="penalty on frequent tokens")
    presence_penalty: float = Field(0.0, ge=-2.0, le=2.0, description="penalty on tokens already present")
    seed: int | None = Field(None, description="sampling seed, where the backend supports one")
    stop: list[str] | None = Field(None, description="strings that end an answer")
    price: Price | None = Field(None, description="dollars per million tokens, {'input': …, 'output': …}; not sent")

    def key_fields(self) -> dict[str, Any]:
        """The parameters as a cache key holds them.

        A backend's own parameters (the fields a subclass adds) count once they are set,
        so that adding one leaves the keys of the calls that do not set it as they were.
        """
        shared = GenerationParams.model_fields
        return {name: value for name, value in self.model_dump().items()
                if name not in NOT_SENT and (name in shared or value is not None)}


def _allowed(params_class: type[GenerationParams], name: str) -> str:
    """'float >= 0.0 and <= 2.0' for a field of a GenerationParams class."""
    info = params_class.model_fields[name]
    bounds = [
        f"{symbol} {getattr(constraint, attr)}"
        for constraint in info.metadata
        for attr, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        if hasattr(constraint, attr)
    ]
    kinds = [arg for arg in typing.get_args(info.annotation) if arg is not type(None)]  # int | None: int
    annotation = kinds[0] if len(kinds) == 1 else info.annotation
    type_name = getattr(annotation, "__name__", str(annotation))
    return " and ".join([f"{type_name} {bounds[0]}", *bounds[1:]]) if bounds else type_name


def make_generation_params(params_class: type[GenerationParams] = GenerationParams, /, **values: Any) -> GenerationParams:
    """Validate generation parameters (the shared ones, or a backend's ``params_class``).

    Raises:
        ValueError: naming each bad parameter and what it allows.

    Example:
        >>> make_generation_params(temperature=3)
        Traceback (most recent call last):
        ...
        ValueError: Invalid generation parameter: temperature=3 (allowed: float >= 0.0 and <= 2.0)
    """
    try:
        return params_class(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            if name == "price":  # its keys too: {"in": 1} is a bad price, not an unknown parameter
                problems.append(f"price={values.get(name)!r} (allowed: None or {{'input': dollars, 'output': dollars}}, "
                                "per million prompt and completion tokens, each a number >= 0)")
            elif err["type"] == "extra_forbidden":
                problems.append(f"unknown parameter {name!r} (known: {', '.join(params_class.model_fields)})")
            else:
                problems.append(f"{name}={values.get(name)!r} (allowed: {_allowed(params_class, name)})")
        raise ValueError(f"Invalid generation parameter: {'; '.join(dict.fromkeys(problems))}") from None
