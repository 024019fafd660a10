"""What a call to an LLM produces: the completions a backend returns, the output record of a row, a prepared call.

Example:
    >>> out = LLMOutput("m", "hi", "4", {"answer": "4"})
    >>> out.ok, out["raw_output"]
    (True, '4')
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from distilabel_nb.prompt import FormattedPrompt
from distilabel_nb.rich_repr import HTMLRepr
from distilabel_nb.schema import Scale

ErrorKind = Literal["input", "call", "unavailable", "parse", "budget"]


class BackendUnavailable(RuntimeError):
    """The backend cannot serve any request (unreachable server, bad key, unknown model)."""


@dataclass
class Completion:
    """One generated text as a backend returns it."""

    text: str
    usage: dict[str, int] = field(default_factory=dict)
    cached: bool = False
    #: Why the answer ended as the backend says it (``"stop"``, ``"length"``: cut at ``max_new_tokens``), if it says.
    finish_reason: str | None = None

    @classmethod
    def from_cache(cls, entry: tuple[str, dict[str, int], str | None]) -> Completion:
        """An answer read from the cache: an entry of :meth:`CallCache.get_many` (text, usage, finish reason)."""
        text, usage, finish_reason = entry
        return cls(text, usage, cached=True, finish_reason=finish_reason)


@dataclass
class LLMOutput(HTMLRepr, Mapping):
    """The record of one generation: what was sent, what came back, what was read.

    ``error`` is set (and ``error_kind`` says at which step) whenever the call or the
    parse failed; ``parsed_output`` then holds whatever could be read, or ``None``.
    ``scales`` gives the scale of each score in ``parsed_output``, from the task.

    It reads as a mapping too, as distilabel 0.x's output dict did: its keys are the field
    names (``model_name``, ``prompt_used``, ``raw_output``, ``parsed_output``, then
    ``error``, ``usage``, ``error_kind``, ``cached``, ``scales``, ``finish_reason``).

    Example:
        >>> out = LLMOutput("m", "hi", "4", {"answer": "4"})
        >>> out["parsed_output"] == out.parsed_output, out.get("error"), list(out)[:4]
        (True, None, ['model_name', 'prompt_used', 'raw_output', 'parsed_output'])
    """

    model_name: str
    prompt_used: FormattedPrompt | None
    raw_output: str | None
    parsed_output: dict[str, Any] | None
    error: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    error_kind: ErrorKind | None = None
    cached: bool = False
    scales: dict[str, Scale] = field(default_factory=dict, repr=False)
    #: Why the answer ended, as the backend says (``"stop"``; ``"length"``: cut at ``max_new_tokens``).
    finish_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def __getitem__(self, key: str) -> Any:
        if key not in _OUTPUT_KEYS:
            raise KeyError(f"{key!r}: an LLMOutput has the keys {', '.join(_OUTPUT_KEYS)}")
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_OUTPUT_KEYS)

    def __len__(self) -> int:
        return len(_OUTPUT_KEYS)


_OUTPUT_KEYS = tuple(f.name for f in fields(LLMOutput))


@dataclass
class PreparedCall:
    """One row's call to an LLM, ready to send: the prompt as sent, its cache keys, the answers found so far.

    ``answers`` has one slot per generation; a slot is filled from the cache by
    :meth:`LLM.look_up` or by the backend in :meth:`LLM.acomplete`.
    """

    inputs: dict[str, Any]
    prompt_used: FormattedPrompt | None
    schema: dict[str, Any] | None
    keys: list[str]
    answers: list[Completion | None]
    input_error: str | None = None

    @property
    def answered(self) -> bool:
        """Whether every answer is in (a bad input counts as done: there is nothing to send)."""
        return self.input_error is not None or all(answer is not None for answer in self.answers)


@dataclass(frozen=True)
class BackendFacts:
    """Where and how an LLM runs, as it says itself (:meth:`LLM.facts`); never a secret.

    ``where`` is ``"in process"``, ``"local file"`` (``location``: the model file) or
    ``"server"`` (``location``: its URL; cards hide a password in it). ``settings`` are the
    backend's own settings as readable text, e.g. ``(("n_ctx", "4,096"),)``.
    """

    backend: str
    where: str = "in process"
    location: str = ""
    settings: tuple[tuple[str, str], ...] = ()
