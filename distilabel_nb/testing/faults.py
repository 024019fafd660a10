"""The faults the stub server injects, and the OpenAI-style responses it fails with.

Example:
    >>> sorted(FAULTS)[:3]
    ['429', '500', '503']
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

__all__ = ["FAULTS", "FaultRule", "error_response", "fault_response", "trickle_response"]

#: Fault names understood by :class:`~distilabel_nb.testing.StubServer`.
FAULTS = frozenset({"429", "500", "503", "hang", "drop", "malformed", "empty", "no_json_schema", "html", "trickle"})

#: ``fault_rule(request_number, request_json) -> fault name or None``.
FaultRule = Callable[[int, dict], "str | None"]

_MALFORMED_BODY = '{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"index": 0, '
_HTML_PAGE = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in.</body></html>"
_NO_JSON_SCHEMA = (
    "1 validation error: response_format.type: Input should be 'text' or 'json_object' [input_value='json_schema']"
)


async def trickle_response(request: web.Request, body: bytes, seconds: float, stopping: asyncio.Event) -> web.StreamResponse:
    """A 200 answer whose ``body`` is sent one byte every ``seconds`` (cut short when the server stops)."""
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.content_length = len(body)
    await response.prepare(request)
    for index in range(len(body)):
        if stopping.is_set():
            break
        try:
            await response.write(body[index:index + 1])
        except (ConnectionError, RuntimeError):  # the client gave up
            return response
        try:
            await asyncio.wait_for(stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass
    return response


def error_response(status: int, message: str, type_: str, code: str | None, **headers: str) -> web.Response:
    """Builds an OpenAI-style error response ``{"error": {...}}``."""
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers or None)


async def fault_response(
    request: web.Request, fault: str, *, retry_after: float, hang_seconds: float, stopping: asyncio.Event
) -> web.StreamResponse:
    """The response (or the cut connection) for one injected ``fault``; ``"empty"`` is the server's own.

    Args:
        request: The request being answered.
        fault: One of :data:`FAULTS` other than ``"empty"``.
        retry_after: Seconds sent in the ``Retry-After`` header of a ``"429"``.
        hang_seconds: How long a ``"hang"`` waits before the connection is closed.
        stopping: Set when the server stops; it cuts a ``"hang"`` short.
    """
    if fault == "429":
        headers = {"Retry-After": f"{retry_after:g}"}
        message = "Rate limit reached (stub fault)."
        return error_response(429, message, "requests", "rate_limit_exceeded", **headers)
    if fault == "500":
        return error_response(500, "The server had an error (stub fault).", "server_error", None)
    if fault == "no_json_schema":
        return error_response(500, _NO_JSON_SCHEMA, "server_error", None)
    if fault == "503":
        return error_response(503, "The server is overloaded (stub fault).", "server_error", None)
    if fault == "malformed":
        return web.Response(status=200, text=_MALFORMED_BODY, content_type="application/json")
    if fault == "html":
        return web.Response(status=200, text=_HTML_PAGE, content_type="text/html")
    if fault == "hang":
        try:  # wait, but let stop() cut the wait short
            await asyncio.wait_for(stopping.wait(), hang_seconds)
        except asyncio.TimeoutError:
            pass
    elif fault != "drop":
        raise ValueError(f"unknown fault {fault!r}")
    # "hang" (after waiting) and "drop": close the connection without a response;
    # aiohttp then fails to write the returned response and ignores that quietly.
    if request.transport is not None:
        request.transport.abort()
    return web.Response()
