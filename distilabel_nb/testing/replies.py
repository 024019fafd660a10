"""What the stub server answers: a deterministic reply, or a minimal instance of a JSON schema.

Example:
    >>> default_responder({"messages": [{"role": "user", "content": "hi"}]}, 0)
    'stub reply 0 [c22b5f91]: hi'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Responder", "default_responder", "instance_from_schema", "last_user_text", "message_text"]

#: ``responder(request_json, choice_index) -> content`` for custom replies.
Responder = Callable[[dict, int], str]


def message_text(content: Any) -> str:
    """Returns the text of a message ``content`` (a string or a list of parts).

    Example:
        >>> message_text([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}])
        'ab'
    """
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def last_user_text(body: Mapping[str, Any]) -> str:
    """Returns the text of the last ``user`` message of a chat request ("" if none).

    Example:
        >>> last_user_text({"messages": [{"role": "user", "content": "hi"}]})
        'hi'
    """
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                return message_text(message.get("content"))
    return ""


def instance_from_schema(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> Any:
    """Builds a minimal instance of a JSON schema (good enough for tests).

    Objects get only their required properties. A value is its ``const``,
    ``default`` or first ``enum`` value if any; otherwise strings are ``"x"``,
    integers ``1``, numbers ``1.0``, booleans ``True`` and arrays get
    ``minItems`` items. ``$ref`` into ``$defs``/``definitions``,
    ``anyOf``/``oneOf`` (first branch) and ``allOf`` are followed.

    Example:
        >>> instance_from_schema({"type": "object", "required": ["n"],
        ...                       "properties": {"n": {"type": "integer"}}})
        {'n': 1}
    """
    root = schema if root is None else root
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part] if part else target
        return instance_from_schema(target, root)
    if "const" in schema:
        return schema["const"]
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            branches = [b for b in schema[key] if b.get("type") != "null"] or schema[key]
            return instance_from_schema(branches[0], root)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = instance_from_schema(part, root)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    type_ = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(type_, list):
        type_ = next((t for t in type_ if t != "null"), "null")
    if type_ == "object":
        props = schema.get("properties", {})
        return {name: instance_from_schema(props.get(name, {}), root) for name in schema.get("required", [])}
    if type_ == "array":
        item = schema.get("items", {})
        return [instance_from_schema(item, root) for _ in range(schema.get("minItems", 0))]
    if type_ == "integer":
        return max(1, schema.get("minimum", 1))
    if type_ == "number":
        return float(max(1, schema.get("minimum", 1)))
    if type_ == "boolean":
        return True
    if type_ == "null":
        return None
    return "x" * max(1, schema.get("minLength", 1))


def default_responder(body: dict, choice_index: int) -> str:
    """The default reply: deterministic, derived from the last user message.

    Honours ``response_format`` (``json_object`` and ``json_schema``) by
    returning a JSON string.

    Example:
        >>> default_responder({"messages": [{"role": "user", "content": "hi"}]}, 0)
        'stub reply 0 [c22b5f91]: hi'
    """
    prompt = last_user_text(body)
    digest = hashlib.sha1(prompt.encode()).hexdigest()[:8]
    text = f"stub reply {choice_index} [{digest}]: {prompt[:60]}"
    fmt = body.get("response_format")
    if isinstance(fmt, dict):
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema") or {}
            return json.dumps(instance_from_schema(schema))
        if fmt.get("type") == "json_object":
            return json.dumps({"response": text})
    return text
