"""A small, fast OpenAI-compatible stub server for tests and benchmarks.

The server speaks enough of the OpenAI HTTP API (``POST /v1/chat/completions``
and ``GET /v1/models``) for the real ``openai`` SDK to talk to it, answers
deterministically and can inject faults (rate limits, server errors, hangs,
dropped connections, malformed or empty bodies) on chosen requests.

Example:
    >>> import openai
    >>> with StubServer(model="stub-model", faults={2: "429"}, latency=0.0) as server:
    ...     client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    ...     reply = client.chat.completions.create(
    ...         model="stub-model", messages=[{"role": "user", "content": "hi"}]
    ...     )
    ...     server.request_count
    1

From a shell, for benchmarks::

    python -m distilabel_nb.stub_server --port 8000 --latency 0.02 --model stub-model
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiohttp import web

__all__ = [
    "FAULTS",
    "FaultRule",
    "Responder",
    "StubServer",
    "default_responder",
    "instance_from_schema",
    "last_user_text",
    "main",
]

#: Fault names understood by :class:`StubServer`.
FAULTS = frozenset({"429", "500", "503", "hang", "drop", "malformed", "empty", "no_json_schema"})

#: ``responder(request_json, choice_index) -> content`` for custom replies.
Responder = Callable[[dict, int], str]
#: ``fault_rule(request_number, request_json) -> fault name or None``.
FaultRule = Callable[[int, dict], "str | None"]

_MALFORMED_BODY = '{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"index": 0, '


def _error(status: int, message: str, type_: str, code: str | None, **headers: str) -> web.Response:
    """Builds an OpenAI-style error response ``{"error": {...}}``."""
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers or None)


def _text_of(content: Any) -> str:
    """Returns the text of a message ``content`` (a string or a list of parts)."""
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
                return _text_of(message.get("content"))
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


class StubServer:
    """An OpenAI-compatible aiohttp server running on a background thread.

    Chat-completion requests are numbered from 1 in arrival order (every
    ``POST /v1/chat/completions`` with a JSON body counts, including ones later
    rejected with 401/404); ``faults`` maps those numbers to fault names:

    * ``"429"``: rate limited, with a ``Retry-After: <retry_after>`` header.
    * ``"500"`` / ``"503"``: server errors with an OpenAI-style error body.
    * ``"no_json_schema"``: the HTTP 500 that llama.cpp's server answers to a
      ``response_format`` of type ``json_schema``.
    * ``"hang"``: no answer for ``hang_seconds``, then the connection is closed.
    * ``"drop"``: the connection is closed without any response.
    * ``"malformed"``: status 200, ``application/json``, invalid JSON body.
    * ``"empty"``: a valid completion whose message contents are ``""``.

    Every chat-completion request first waits ``latency`` seconds. Streaming
    (``stream=True``) is not supported and gets a 400. The counters
    (:attr:`request_count`, :attr:`prompt_counts`, :attr:`requests`) are safe
    to read from any thread; request headers (so the API key) are never kept.

    Args:
        model: The served model name, or several names; any other name gets 404.
        faults: Request number (1-based) -> fault name. Ints like ``429`` are accepted.
        fault_rule: Optional ``(request_number, request_json) -> fault | None``,
            consulted when ``faults`` has no entry for the request, e.g.
            ``lambda n, req: "500" if "boom" in str(req["messages"]) else None``.
        responder: Optional ``(request_json, choice_index) -> str`` giving the
            content of each choice; defaults to :func:`default_responder`.
        latency: Seconds to wait before answering each chat completion.
        honour_n: If False, always answer with one choice whatever ``n`` is.
        api_key: If set, requests whose ``Authorization: Bearer`` differs get 401.
        retry_after: ``Retry-After`` value (seconds) sent with ``"429"`` faults.
        hang_seconds: How long a ``"hang"`` fault waits before closing.
        record_requests: Whether to keep every request body in :attr:`requests`
            (the CLI turns it off so long benchmarks do not grow memory).
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.

    Attributes:
        base_url: ``http://HOST:PORT/v1`` once started.
        models: The served model names.

    Example:
        >>> with StubServer(faults={1: "500"}, latency=0.0) as server:
        ...     server.base_url.startswith("http://127.0.0.1:")
        True
    """

    def __init__(
        self,
        model: str | Iterable[str] = "stub-model",
        *,
        faults: Mapping[int, str | int] | None = None,
        fault_rule: FaultRule | None = None,
        responder: Responder | None = None,
        latency: float = 0.02,
        honour_n: bool = True,
        api_key: str | None = None,
        retry_after: float = 1,
        hang_seconds: float = 30.0,
        record_requests: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.models = [model] if isinstance(model, str) else list(model)
        self.faults = {int(k): str(v) for k, v in (faults or {}).items()}
        unknown = set(self.faults.values()) - FAULTS
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; expected one of {sorted(FAULTS)}")
        self.fault_rule = fault_rule
        self.responder = responder or default_responder
        self.latency = latency
        self.honour_n = honour_n
        self._auth = None if api_key is None else f"Bearer {api_key}"
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.record_requests = record_requests
        self.host, self.port = host, port
        self._lock = threading.Lock()
        self._count = 0
        self._prompt_counts: Counter[str] = Counter()
        self._requests: list[dict] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None

    # ----------------------------------------------------------- counters
    @property
    def request_count(self) -> int:
        """Number of chat-completion requests received so far."""
        with self._lock:
            return self._count

    @property
    def prompt_counts(self) -> dict[str, int]:
        """A copy of the per-prompt request counts, keyed by last user message."""
        with self._lock:
            return dict(self._prompt_counts)

    @property
    def requests(self) -> list[dict]:
        """A copy of the list of chat-completion request bodies received."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Clears the counters; request numbering for ``faults`` restarts at 1."""
        with self._lock:
            self._count = 0
            self._prompt_counts.clear()
            self._requests.clear()

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url`` of the running server (``http://HOST:PORT/v1``)."""
        return f"http://{self.host}:{self.port}/v1"

    # ----------------------------------------------------------- app
    def build_app(self) -> web.Application:
        """Returns the aiohttp application (to embed it or serve it yourself)."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._list_models)
        app.router.add_get("/stub/stats", self._stats)
        return app

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if self._auth is None or request.headers.get("Authorization") == self._auth:
            return None
        return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")

    async def _list_models(self, request: web.Request) -> web.Response:
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "stub"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _stats(self, request: web.Request) -> web.Response:
        with self._lock:
            stats = {"requests": self._count, "distinct_prompts": len(self._prompt_counts)}
        return web.json_response(stats)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Request body is not valid JSON.", "invalid_request_error", None)
        if not isinstance(body, dict):
            return _error(400, "Request body must be a JSON object.", "invalid_request_error", None)
        with self._lock:
            self._count += 1
            number = self._count
            self._prompt_counts[last_user_text(body)] += 1
            if self.record_requests:
                self._requests.append(body)

        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        model = body.get("model")
        if model not in self.models:
            return _error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        if body.get("stream"):
            return _error(400, "The stub server does not support streaming.", "invalid_request_error", None)
        n = body.get("n") or 1
        if not isinstance(n, int) or n < 1:
            return _error(400, f"Invalid value for 'n': {n!r}.", "invalid_request_error", "invalid_value")

        fault = self.faults.get(number)
        if fault is None and self.fault_rule is not None:
            fault = self.fault_rule(number, body)
            fault = None if fault is None else str(fault)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if fault is not None and fault != "empty":
            return await self._fault(request, fault)

        count = n if self.honour_n else 1
        contents = ["" if fault == "empty" else self.responder(body, i) for i in range(count)]
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        prompt_tokens = sum(len(_text_of(m.get("content")).split()) for m in messages)  # ~words
        completion_tokens = sum(len(c.split()) for c in contents)
        return web.json_response(
            {
                "id": f"chatcmpl-stub-{number}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": i,
                        "message": {"role": "assistant", "content": c},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                    for i, c in enumerate(contents)
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    async def _fault(self, request: web.Request, fault: str) -> web.StreamResponse:
        if fault == "429":
            headers = {"Retry-After": f"{self.retry_after:g}"}
            message = "Rate limit reached (stub fault)."
            return _error(429, message, "requests", "rate_limit_exceeded", **headers)
        if fault == "500":
            return _error(500, "The server had an error (stub fault).", "server_error", None)
        if fault == "no_json_schema":
            message = "1 validation error: response_format.type: Input should be 'text' or 'json_object' [input_value='json_schema']"
            return _error(500, message, "server_error", None)
        if fault == "503":
            return _error(503, "The server is overloaded (stub fault).", "server_error", None)
        if fault == "malformed":
            return web.Response(status=200, text=_MALFORMED_BODY, content_type="application/json")
        if fault == "hang":
            assert self._stopping is not None
            try:  # wait, but let stop() cut the wait short
                await asyncio.wait_for(self._stopping.wait(), self.hang_seconds)
            except asyncio.TimeoutError:
                pass
        elif fault != "drop":
            raise ValueError(f"unknown fault {fault!r}")
        # "hang" (after waiting) and "drop": close the connection without a response;
        # aiohttp then fails to write the returned response and ignores that quietly.
        if request.transport is not None:
            request.transport.abort()
        return web.Response()

    # ----------------------------------------------------------- lifecycle
    async def _start_async(self) -> None:
        self._stopping = asyncio.Event()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, backlog=1024).start()

    async def _stop_async(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # releases "hang" faults so shutdown is quick
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> StubServer:
        """Starts serving on a background thread; returns ``self`` once ready."""
        if self._thread is not None:
            raise RuntimeError("StubServer already started")
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._start_async())
            except BaseException as exc:  # noqa: BLE001 - re-raised in start()
                failure.append(exc)
                self._loop.close()
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._stop_async())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="stub-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stops the server and joins its thread (idempotent)."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> StubServer:  # noqa: PYI034
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def serve_forever(self, on_start: Callable[[str], None] | None = None) -> None:
        """Serves on the running event loop until cancelled (used by the CLI).

        Args:
            on_start: Called with :attr:`base_url` once the server listens.

        Example:
            ``asyncio.run(StubServer(port=8000).serve_forever(print))`` prints
            ``http://127.0.0.1:8000/v1`` and serves until interrupted.
        """
        await self._start_async()
        try:
            if on_start is not None:
                on_start(self.base_url)
            await asyncio.Event().wait()
        finally:
            await self._stop_async()


def _parse_fault(text: str) -> tuple[int, str]:
    number, _, name = text.partition("=")
    if not name or name not in FAULTS:
        raise argparse.ArgumentTypeError(f"expected N=FAULT with FAULT in {sorted(FAULTS)}, got {text!r}")
    return int(number), name


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: serve in the foreground until Ctrl-C.

    Example:
        ``python -m distilabel_nb.stub_server --port 8000 --latency 0.02 --model stub-model``
    """
    parser = argparse.ArgumentParser(description="OpenAI-compatible stub server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per chat completion")
    parser.add_argument("--model", action="append", help="served model name (repeatable)")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--no-honour-n", action="store_true", help="always answer with one choice")
    parser.add_argument(
        "--fault", action="append", type=_parse_fault, default=[], help="N=FAULT, e.g. 3=500 (repeatable)"
    )
    args = parser.parse_args(argv)
    server = StubServer(
        args.model or ["stub-model"],
        faults=dict(args.fault),
        latency=args.latency,
        honour_n=not args.no_honour_n,
        api_key=args.api_key,
        record_requests=False,
        host=args.host,
        port=args.port,
    )

    def announce(base_url: str) -> None:
        print(base_url, flush=True)  # alone on its line, easy for scripts to read
        print(f"stub server: models {server.models}, latency {server.latency}s", file=sys.stderr, flush=True)

    async def serve() -> None:
        task = asyncio.ensure_future(server.serve_forever(announce))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # stop cleanly on Ctrl-C / terminate()
            try:
                loop.add_signal_handler(sig, task.cancel)
            except (NotImplementedError, RuntimeError):  # e.g. Windows
                pass
        try:
            await task
        except asyncio.CancelledError:
            pass

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
