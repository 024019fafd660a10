"""The stub server: an OpenAI-compatible aiohttp app served on a background thread.

It speaks enough of the OpenAI HTTP API (``POST /v1/chat/completions`` and
``GET /v1/models``) for the real ``openai`` SDK to talk to it, answers
deterministically (:mod:`~distilabel_nb.testing.replies`) and can inject faults
(:mod:`~distilabel_nb.testing.faults`: rate limits, server errors, hangs, dropped
connections, malformed or empty bodies) on chosen requests.

Example:
    >>> import openai
    >>> with StubServer(model="stub-model", faults={2: "429"}, latency=0.0) as server:
    ...     client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    ...     reply = client.chat.completions.create(
    ...         model="stub-model", messages=[{"role": "user", "content": "hi"}]
    ...     )
    ...     server.request_count
    1

From a shell (for benchmarks), ``python -m distilabel_nb.testing``: see
:mod:`distilabel_nb.testing.__main__`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from aiohttp import web

from distilabel_nb.testing.faults import FAULTS, FaultRule, error_response, fault_response, trickle_response
from distilabel_nb.testing.replies import Responder, default_responder, last_user_text, message_text

__all__ = ["StubServer"]


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
    * ``"html"``: status 200 with an HTML page, as a proxy's login page.
    * ``"trickle"``: a valid completion whose body is sent one byte every
      ``trickle_seconds`` (a read timeout never fires; only a deadline stops it).

    A ``responder`` may return a text, or ``{"content": <any JSON>, "finish_reason": ...}``
    to send a content that is not a string (a list of parts, a number) or an answer
    cut at ``max_tokens`` (``"finish_reason": "length"``).

    Every chat-completion request first waits ``latency`` seconds. Streaming
    (``stream=True``) is not supported and gets a 400. The counters
    (:attr:`request_count`, :attr:`prompt_counts`, :attr:`requests`) are safe
    to read from any thread; request headers (so the API key) are never kept.

    Args:
        model: The served model name, or several names; any other name gets 404.
        listed: The names ``GET /v1/models`` lists (default: every served one), to play a
            server that serves names it does not list (llama.cpp's lists only its alias).
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
        usage: Optional ``(request_json, contents) -> (prompt_tokens, completion_tokens)``,
            the usage each answer reports; by default the words of the messages and of
            the answers. :attr:`usage_totals` adds up what was reported.
        trickle_seconds: Seconds between two bytes of a ``"trickle"`` fault's body.
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
        listed: Iterable[str] | None = None,
        faults: Mapping[int, str | int] | None = None,
        fault_rule: FaultRule | None = None,
        responder: Responder | None = None,
        latency: float = 0.02,
        honour_n: bool = True,
        api_key: str | None = None,
        retry_after: float = 1,
        hang_seconds: float = 30.0,
        trickle_seconds: float = 0.5,
        record_requests: bool = True,
        usage: Callable[[dict, list[str]], tuple[int, int]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.models = [model] if isinstance(model, str) else list(model)
        self.listed = None if listed is None else list(listed)
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
        self.trickle_seconds = trickle_seconds
        self.record_requests = record_requests
        self.usage = usage
        self._usage_totals = {"prompt_tokens": 0, "completion_tokens": 0, "answered": 0}
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

    @property
    def usage_totals(self) -> dict[str, int]:
        """The usage reported so far: ``prompt_tokens``, ``completion_tokens``, and ``answered`` (requests answered 200)."""
        with self._lock:
            return dict(self._usage_totals)

    def reset(self) -> None:
        """Clears the counters; request numbering for ``faults`` restarts at 1."""
        with self._lock:
            self._usage_totals = dict.fromkeys(self._usage_totals, 0)
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
        return error_response(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")

    async def _list_models(self, request: web.Request) -> web.Response:
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        names = self.models if self.listed is None else self.listed
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "stub"} for m in names]
        return web.json_response({"object": "list", "data": data})

    async def _stats(self, request: web.Request) -> web.Response:
        with self._lock:
            stats = {"requests": self._count, "distinct_prompts": len(self._prompt_counts), **self._usage_totals}
        return web.json_response(stats)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return error_response(400, "Request body is not valid JSON.", "invalid_request_error", None)
        if not isinstance(body, dict):
            return error_response(400, "Request body must be a JSON object.", "invalid_request_error", None)
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
            return error_response(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        if body.get("stream"):
            return error_response(400, "The stub server does not support streaming.", "invalid_request_error", None)
        n = body.get("n") or 1
        if not isinstance(n, int) or n < 1:
            return error_response(400, f"Invalid value for 'n': {n!r}.", "invalid_request_error", "invalid_value")

        fault = self.faults.get(number)
        if fault is None and self.fault_rule is not None:
            fault = self.fault_rule(number, body)
            fault = None if fault is None else str(fault)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if fault is not None and fault not in ("empty", "trickle"):
            assert self._stopping is not None
            return await fault_response(
                request, fault, retry_after=self.retry_after, hang_seconds=self.hang_seconds, stopping=self._stopping
            )

        count = n if self.honour_n else 1
        replies = [{"content": ""} if fault == "empty" else self.responder(body, i) for i in range(count)]
        replies = [reply if isinstance(reply, dict) else {"content": reply} for reply in replies]
        contents = [reply.get("content") for reply in replies]
        if self.usage is not None:
            prompt_tokens, completion_tokens = self.usage(body, contents)
        else:
            messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
            prompt_tokens = sum(len(message_text(m.get("content")).split()) for m in messages)  # ~words
            completion_tokens = sum(len(message_text(c).split()) for c in contents)
        with self._lock:
            self._usage_totals["prompt_tokens"] += prompt_tokens
            self._usage_totals["completion_tokens"] += completion_tokens
            self._usage_totals["answered"] += 1
        answer = (
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
                        "finish_reason": reply.get("finish_reason", "stop"),
                    }
                    for i, (c, reply) in enumerate(zip(contents, replies))
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )
        if fault == "trickle":
            assert self._stopping is not None
            return await trickle_response(request, json.dumps(answer).encode(), self.trickle_seconds, self._stopping)
        return web.json_response(answer)

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
