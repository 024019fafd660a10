"""Prompts and the chat formats they render to.

A :class:`Prompt` holds a system prompt and the user text a task produced. Each model
family expects that pair laid out differently; :meth:`Prompt.format_as` renders it.

Example:
    >>> p = Prompt(system_prompt="Be brief.", formatted_prompt="What is 2+2?")
    >>> p.format_as("default")
    'Be brief.\\nWhat is 2+2?'
    >>> p.format_as("openai")[1]
    {'role': 'user', 'content': 'What is 2+2?'}
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Union

from distilabel_nb.rich_repr import HTMLRepr

ChatMessages = list[dict[str, str]]
FormattedPrompt = Union[str, ChatMessages]
FormattingFn = Callable[["Prompt"], FormattedPrompt]

CHAT_TEMPLATE = "chat_template"


@dataclass(frozen=True)
class Prompt(HTMLRepr):
    """What a task asks a model: a system prompt and the user's text.

    Args:
        system_prompt: Instructions for the model; may be empty.
        formatted_prompt: The user turn, already rendered from the task's template.
    """

    system_prompt: str
    formatted_prompt: str

    def format_as(self, fmt: str) -> FormattedPrompt:
        """Render this prompt in a named format (see :func:`known_formats`).

        ``"llama"`` is read as ``"llama2"`` (distilabel 0.x's docs used both names).

        Raises:
            ValueError: if ``fmt`` is not a registered format.

        Example:
            >>> Prompt("Be brief.", "Hi").format_as("llama") == Prompt("Be brief.", "Hi").format_as("llama2")
            True
        """
        return _FORMATS[resolve_format(fmt)](self)

    def as_messages(self) -> ChatMessages:
        """The prompt as OpenAI-style chat messages (system message only when non-empty)."""
        messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return messages + [{"role": "user", "content": self.formatted_prompt}]


def _default(p: Prompt) -> str:
    return f"{p.system_prompt}\n{p.formatted_prompt}" if p.system_prompt else p.formatted_prompt


def _llama2(p: Prompt) -> str:
    return f"<s>[INST] <<SYS>>\n{p.system_prompt}<</SYS>>\n\n{p.formatted_prompt} [/INST]"


def _chatml(p: Prompt) -> str:
    system = f"<|im_start|>system\n{p.system_prompt}<|im_end|>\n" if p.system_prompt else ""
    return f"{system}<|im_start|>user\n{p.formatted_prompt}<|im_end|>\n<|im_start|>assistant\n"


def _zephyr(p: Prompt) -> str:
    system = f"<|system|>\n{p.system_prompt}</s>\n" if p.system_prompt else ""
    return f"{system}<|user|>\n{p.formatted_prompt}</s>\n<|assistant|>\n"


def _user_turn_with_system(p: Prompt) -> str:
    # Mistral and Gemma have no system role: the system text opens the first user turn.
    return f"{p.system_prompt}\n\n{p.formatted_prompt}" if p.system_prompt else p.formatted_prompt


def _mistral(p: Prompt) -> str:
    return f"<s>[INST] {_user_turn_with_system(p)} [/INST]"


def _gemma(p: Prompt) -> str:
    return f"<bos><start_of_turn>user\n{_user_turn_with_system(p)}<end_of_turn>\n<start_of_turn>model\n"


_FORMATS: dict[str, FormattingFn] = {
    "default": _default,
    "openai": Prompt.as_messages,
    "llama2": _llama2,
    "chatml": _chatml,
    "zephyr": _zephyr,
    "notus": _zephyr,
    "mistral": _mistral,
    "gemma": _gemma,
    CHAT_TEMPLATE: Prompt.as_messages,
}


#: Other names for registered formats; they are accepted everywhere a format name is.
ALIASES = {"llama": "llama2"}


def resolve_format(name: str) -> str:
    """The registered format a name stands for (itself, or the format an alias names).

    Raises:
        ValueError: naming the closest known format and how to add one.

    Example:
        >>> resolve_format("llama")
        'llama2'
        >>> resolve_format("lama2")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Unknown prompt format 'lama2' (did you mean 'llama2'?). Known formats: chat_template, ...
    """
    name = ALIASES.get(name, name) if isinstance(name, str) else name
    if name in _FORMATS:
        return name
    close = difflib.get_close_matches(str(name), [*_FORMATS, *ALIASES], n=1)
    hint = f" (did you mean {ALIASES.get(close[0], close[0])!r}?)" if close else ""
    raise ValueError(
        f"Unknown prompt format {name!r}{hint}. Known formats: {', '.join(known_formats())}. "
        "Register your own with distilabel_nb.register_format(name, fn) or pass "
        "prompt_formatting_fn= to the LLM."
    )


def known_formats() -> list[str]:
    """Names of every registered prompt format, sorted."""
    return sorted(_FORMATS)


def register_format(name: str, fn: FormattingFn) -> None:
    """Register a prompt format under ``name``.

    Args:
        name: The name used in ``prompt_format=`` and :meth:`Prompt.format_as`.
        fn: Takes a :class:`Prompt`, returns a string (raw completion) or chat messages.

    Example:
        >>> register_format("shout", lambda p: p.formatted_prompt.upper())
        >>> Prompt("", "hi").format_as("shout")
        'HI'
    """
    if not callable(fn):
        raise TypeError(f"register_format({name!r}, fn): fn must be callable, got {type(fn).__name__}")
    _FORMATS[name] = fn


def checked_prompt(formatted: Any) -> FormattedPrompt:
    """What a ``prompt_formatting_fn`` returned, if it can be sent; else a ``TypeError`` (that row's error).

    Example:
        >>> checked_prompt(None)
        Traceback (most recent call last):
        ...
        TypeError: prompt_formatting_fn returned NoneType None; it must return a text, or a list of {'role': ..., 'content': ...} messages with text contents
    """
    if isinstance(formatted, str) or (isinstance(formatted, list) and formatted and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in formatted)):
        return formatted
    raise TypeError(f"prompt_formatting_fn returned {type(formatted).__name__} {str(formatted)[:60]}; it must return a "
                    "text, or a list of {'role': ..., 'content': ...} messages with text contents")
