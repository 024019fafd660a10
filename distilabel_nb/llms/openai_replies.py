"""Reading an OpenAI-compatible server's answer: its texts, why each one ended, and answers that are no answer.

Servers differ in what they send back: a ``message.content`` that is a list of text
parts instead of a string, ``null`` for an empty answer, a proxy's HTML page with
status 200. :func:`read_choices` turns every body into ``(text, finish_reason)`` pairs or
raises :class:`BadReply` naming what came back.

Example:
    >>> read_choices({"choices": [{"message": {"content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "!"}]},
    ...                            "finish_reason": "length"}]}, chat=True)
    [('Hi!', 'length')]
    >>> read_choices({"choices": [{"message": {"content": 42}}]}, chat=True)
    Traceback (most recent call last):
    ...
    distilabel_nb.llms.openai_replies.BadReply: the server answered with message.content of type int (42), not a text
"""

from __future__ import annotations

from typing import Any


class BadReply(RuntimeError):
    """A status-200 body that holds no usable answer; its message says what it held."""


class NotAnAPIReply(BadReply):
    """A status-200 body that is not an OpenAI answer at all (an HTML page, plain text)."""


def _text(content: Any, field: str) -> str:
    """A choice's content as text: a string, ``None`` (empty), or a list of text parts joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif not (isinstance(part, dict) and part.get("type") not in (None, "text")):
                raise BadReply(f"the server answered with a {field} part that is not a text: {str(part)[:80]}")
        return "".join(parts)
    raise BadReply(f"the server answered with {field} of type {type(content).__name__} ({str(content)[:80]}), not a text")


def read_choices(response: Any, chat: bool) -> list[tuple[str, str | None]]:
    """``(text, finish_reason)`` for each choice of a response body (parsed JSON, or what the client gave).

    Raises:
        NotAnAPIReply: for a body that is not a JSON object (an HTML page from a proxy, …).
        BadReply: for a JSON answer without choices, or with a content that is not a text.
    """
    if not isinstance(response, dict):
        shown = " ".join(str(response).split())[:60]
        page = "an HTML page" if shown.lstrip().lower().startswith(("<!doctype", "<html")) else "a body that is not JSON"
        raise NotAnAPIReply(f"the server answered HTTP 200 with {page} ({shown!r}), not an OpenAI answer")
    if "error" in response and not response.get("choices"):
        raise BadReply(f"the server answered with an error: {str(response['error'])[:200]}")
    choices = [choice for choice in response.get("choices") or [] if isinstance(choice, dict)]
    if not choices:
        raise BadReply("the server answered with no choices")
    read = []
    for choice in choices:
        if chat:
            text = _text((choice.get("message") or {}).get("content"), "message.content")
        else:
            text = _text(choice.get("text"), "text")
        reason = choice.get("finish_reason")
        read.append((text, reason if isinstance(reason, str) else None))
    return read
