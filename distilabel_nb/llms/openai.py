"""Any OpenAI-compatible server through the ``openai`` SDK's async client."""

from __future__ import annotations

import asyncio
import math
import os
import weakref
from numbers import Real
from typing import TYPE_CHECKING, Any

from distilabel_nb import runtime
from distilabel_nb.llms.base import LLM, BackendFacts, Completion, ErrorKind
from distilabel_nb.llms.openai_http import (aiohttp_client, bucket, close_on_runtime, rejects_json_schema, token_count,
                                            transport_failure, worth_retrying)
from distilabel_nb.llms.openai_replies import NotAnAPIReply, read_choices
from distilabel_nb.redact import redact_url, scrub, seal, unseal
from distilabel_nb.prompt import FormattedPrompt
from distilabel_nb.tasks.base import Task

if TYPE_CHECKING:
    import openai

OPENAI_BASE_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"  # sent to servers that need none; the SDK requires some value


class _ClientHolder:
    """Held by every LLM that shares one HTTP client (an LLM and its ``replace()`` copies); its
    finalizer closes the client once the last of them is gone."""


class OpenAILLM(LLM):
    """A model behind an OpenAI-compatible API (OpenAI, vLLM, llama.cpp server, …).

    Nothing touches the network until the first call. The first ``OpenAILLM`` of a
    process loads the ``openai`` SDK (about a second), so that a run starts at once;
    ``import distilabel_nb`` does not load it. Requests run on the package's
    background event loop, at most ``max_concurrency`` at a time; ``num_generations``
    uses the API's ``n`` and falls back to one request per answer when a server
    ignores ``n``.

    Args:
        model: The model name the server knows.
        task: The task to run.
        base_url: The server's ``/v1`` URL (default: OpenAI's).
        api_key: The key (default: ``OPENAI_API_KEY``; servers on another
            ``base_url`` may need none). Never shown in reprs, errors or outputs.
        max_concurrency: Most requests in flight (default 8; ``num_threads`` is 0.x's name for it).
        timeout: Seconds before a request is abandoned.
        max_retries: Retries on rate limits (honouring ``Retry-After``), server errors,
            timeouts and dropped connections, with exponential backoff and jitter.
        requests_per_minute: Optional cap on requests sent per minute.
        tokens_per_minute: Optional cap on tokens per minute (prompt estimate plus
            ``max_new_tokens``, counted when a request is sent).
        **kwargs: Prompt format and generation parameters, see :class:`LLM`.

    Example:
        >>> llm = OpenAILLM("gpt-4o-mini", TextGenerationTask(), api_key="sk-...")  # doctest: +SKIP
    """

    backend = "openai"
    can_constrain_output = True  # response_format (json_schema, or a schema inside json_object)
    default_format = "openai"
    default_max_concurrency = 8
    refused_params = {
        name: f"the OpenAI API has no field for it. Leave {name}= out, set it where the server is started "
        f"(llama.cpp's llama-server: {flag}), or run the GGUF model with LlamaCppLLM, which sends it."
        for name, flag in (("top_k", "--top-k"), ("repeat_penalty", "--repeat-penalty"), ("min_p", "--min-p"))
    }

    def __init__(
        self,
        model: str,
        task: Task,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        max_concurrency: int | None = None,
        timeout: float = 120.0,
        max_retries: int = 4,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        **kwargs: Any,
    ):
        super().__init__(task, max_concurrency=max_concurrency, **kwargs)
        if not isinstance(model, str) or not model:
            raise ValueError("OpenAILLM needs a model name, e.g. OpenAILLM('gpt-4o-mini', task)")
        if not isinstance(timeout, Real) or isinstance(timeout, bool) or not math.isfinite(timeout) or timeout <= 0:
            raise ValueError(f"Invalid timeout={timeout!r} (allowed: seconds > 0, a finite number)")
        if max_retries < 0:
            raise ValueError(f"Invalid max_retries={max_retries!r} (allowed: int >= 0)")
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL).rstrip("/")
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if self.base_url == OPENAI_BASE_URL:
                raise ValueError("No API key: set the OPENAI_API_KEY environment variable or pass api_key=")
            key = NO_KEY
        self.__api_key = key
        self.timeout = timeout
        self.max_retries = max_retries
        for name, value in (("requests_per_minute", requests_per_minute), ("tokens_per_minute", tokens_per_minute)):
            if value is not None and value <= 0:
                raise ValueError(f"Invalid {name}={value!r} (allowed: a number > 0, or None for no limit)")
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._limiters: dict[str, Any] | None = None
        self._client: "openai.AsyncOpenAI | None" = None
        self._server_honours_n: bool | None = None
        self._schema_style = "json_schema"
        self._schema_style_known = False  # until a server has answered a request with a schema
        # The client is built now, not on a run's first row: the first one in a process
        # loads the openai SDK and its transport (about a second); later ones take ~1 ms.
        _ = self.client

    @property
    def model_name(self) -> str:
        return self.model

    @property
    def model_identity(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": redact_url(self.base_url)}  # never a password in the cache key

    @property
    def client(self) -> "openai.AsyncOpenAI":
        """The async client, built with the LLM (and again after unpickling).

        Its connections open on the runtime loop, where every call runs, at the first call.

        It sends through the SDK's aiohttp transport (``openai[aiohttp]``), which costs
        less per request than its default at high concurrency; without aiohttp
        installed, through the SDK's default.
        """
        if self._client is None:
            import openai

            http_client = aiohttp_client(self.timeout)
            self._client = openai.AsyncOpenAI(
                base_url=self.base_url, api_key=self.__api_key, timeout=self.timeout, max_retries=self.max_retries,
                http_client=http_client,
            )
            if http_client is not None:  # an aiohttp session must be closed on its own loop
                # ... once every LLM that holds the client is gone: replace() copies share the holder,
                # so a copy goes on working after the LLM that built the client is collected.
                self._client_holder = _ClientHolder()
                weakref.finalize(self._client_holder, close_on_runtime, http_client)
        return self._client

    def _request_kwargs(self, n: int, schema: dict[str, Any] | None = None) -> dict[str, Any]:
        p = self.params
        kwargs: dict[str, Any] = dict(
            model=self.model,
            max_tokens=p.max_new_tokens,
            temperature=p.temperature,
            top_p=p.top_p,
            frequency_penalty=p.frequency_penalty,
            presence_penalty=p.presence_penalty,
        )
        if p.seed is not None:
            kwargs["seed"] = p.seed
        if p.stop:
            kwargs["stop"] = p.stop
        if n > 1:
            kwargs["n"] = n
        if schema is not None:
            kwargs["response_format"] = self._response_format(schema)
        return kwargs

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self._schema_style == "json_object":  # llama.cpp's server: a schema inside json_object
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": self.task.name, "schema": schema, "strict": True}}

    async def _respect_rate_limits(self, prompt: FormattedPrompt, n: int) -> None:
        if self.requests_per_minute is None and self.tokens_per_minute is None:
            return
        if self._limiters is None:
            from aiolimiter import AsyncLimiter

            self._limiters = {}
            if self.requests_per_minute:
                self._limiters["requests"] = AsyncLimiter(*bucket(self.requests_per_minute))
            if self.tokens_per_minute:
                self._limiters["tokens"] = AsyncLimiter(*bucket(self.tokens_per_minute))
        if "requests" in self._limiters:
            await self._limiters["requests"].acquire()
        if "tokens" in self._limiters:
            limiter = self._limiters["tokens"]
            text = prompt if isinstance(prompt, str) else " ".join(m["content"] for m in prompt)
            estimate = len(text) // 4 + self.params.max_new_tokens * n  # ~4 characters per token
            await limiter.acquire(min(estimate, limiter.max_rate))

    async def _request(self, prompt: FormattedPrompt, n: int, schema: dict[str, Any] | None, retries: int | None = None) -> list[Completion]:
        await self._respect_rate_limits(prompt, n)
        client = self.client if retries is None else self.client.with_options(max_retries=retries)
        # The client's own POST (retries, backoff, errors, timeouts as for the typed methods)
        # with a body that is already plain JSON and an answer read as JSON: the typed
        # ``create`` methods spend about half of each request's CPU re-checking the one and
        # building models of the other.
        if isinstance(prompt, str):
            body = {"prompt": prompt, **self._request_kwargs(n)}
            response = await client.post("/completions", body=body, cast_to=object)
        else:
            body = {"messages": prompt, **self._request_kwargs(n, schema)}
            response = await client.post("/chat/completions", body=body, cast_to=object)
        choices = read_choices(response, chat=not isinstance(prompt, str))
        usage = response.get("usage") if isinstance(response.get("usage"), dict) else {}
        prompt_tokens = token_count(usage.get("prompt_tokens"))
        completion_tokens = token_count(usage.get("completion_tokens"))
        share, extra = divmod(completion_tokens, len(choices))
        return [
            Completion(text, {"prompt_tokens": prompt_tokens if i == 0 else 0, "completion_tokens": share + (extra if i == 0 else 0)},
                       finish_reason=reason)
            for i, (text, reason) in enumerate(choices)
        ]

    async def _request_with_schema_style(self, prompt: FormattedPrompt, n: int, schema: dict[str, Any] | None) -> list[Completion]:
        """``_request``; while no server has answered a schema yet, the first try is not retried.

        A server that refuses ``json_schema`` (llama.cpp's answers HTTP 500) refuses it on
        every retry too: without this, each of the first rows would wait out the whole
        backoff before the fallback. A failure the client would have retried is sent again
        with the usual retries.
        """
        if schema is None or self._schema_style_known:
            return await self._request(prompt, n, schema)
        try:
            return await self._request(prompt, n, schema, retries=0)
        except Exception as exc:
            if rejects_json_schema(exc) or not worth_retrying(exc):
                raise
        return await self._request(prompt, n, schema)

    async def _complete(self, prompt: FormattedPrompt, num_generations: int, schema: dict[str, Any] | None = None) -> list[Completion]:
        if not runtime.in_runtime_thread():
            # Awaited on another loop (``await llm.agenerate(...)`` in a cell): the client and
            # its connections belong to the runtime loop, so the call is made there.
            return await asyncio.wrap_future(runtime.submit(self._complete(prompt, num_generations, schema)))
        completions: list[Completion] = []
        while len(completions) < num_generations:
            wanted = num_generations - len(completions)
            ask = wanted if self._server_honours_n is not False else 1
            try:
                got = await self._request_with_schema_style(prompt, ask, schema)
            except Exception as exc:
                if schema is None or not rejects_json_schema(exc):
                    raise
                # Servers such as llama.cpp's take the schema inside a json_object format.
                # (Another row may have switched already, while this one was on its way.)
                self._schema_style = "json_object"
                got = await self._request(prompt, ask, schema)
            self._schema_style_known = self._schema_style_known or schema is not None
            if ask > 1:
                self._server_honours_n = len(got) >= ask
            completions.extend(got[:wanted])
        return completions

    def __getstate__(self) -> dict[str, Any]:
        """Settings, the API key sealed (the other side needs it); the client and limiters are rebuilt there.

        The key does not appear as plain text in the pickled bytes (nor in a Dask task
        graph or a log of them), but it is sealed, not encrypted (:func:`~distilabel_nb.redact.seal`):
        whoever holds the bytes can read it back. Send them only over a link you trust
        (e.g. Dask with TLS). The trade: a worker needs the key to call the server, and
        asking every worker for its own ``OPENAI_API_KEY`` would break clusters that have none.
        """
        state = super().__getstate__()
        state["_client"] = None
        state["_limiters"] = None
        state.pop("_client_holder", None)
        state["_OpenAILLM__api_key"] = seal(state["_OpenAILLM__api_key"])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["_OpenAILLM__api_key"] = unseal(state["_OpenAILLM__api_key"])
        super().__setstate__(state)

    def replace(self, **settings: Any) -> "OpenAILLM":
        """See :meth:`LLM.replace`; the copy shares the client, and keeps rate limits of its own
        (two generators made from one LLM each send at their own ``requests_per_minute``)."""
        new = super().replace(**settings)
        new._limiters = None
        return new

    async def acheck(self) -> None:
        """Reach the server before any row: its models list, a few seconds at most (:mod:`~distilabel_nb.llms.server_check`)."""
        from distilabel_nb.llms.server_check import check_server

        if not runtime.in_runtime_thread():
            return await asyncio.wrap_future(runtime.submit(self.acheck()))
        await check_server(self)

    def scrub(self, text: str) -> str:
        """``text`` without the API key (and without a password in a URL)."""
        text = text.replace(self.base_url, redact_url(self.base_url))
        return scrub(text, self.__api_key) if self.__api_key != NO_KEY else text

    def describe_error(self, exc: BaseException) -> tuple[ErrorKind, str]:
        import openai

        from distilabel_nb.llms.server_check import plain_cause

        where = f"{redact_url(self.base_url)} (model {self.model!r})"
        failure = transport_failure(exc) if isinstance(exc, openai.APITimeoutError) else None
        if failure is not None:
            kind, message = "unavailable", f"cannot reach {where}: {plain_cause(failure)}"
        elif isinstance(exc, openai.APITimeoutError):
            kind, message = "call", f"request to {where} timed out after {self.timeout:g}s"
        elif isinstance(exc, openai.APIConnectionError):
            kind, message = "unavailable", f"cannot reach {where}: {plain_cause(exc)}"
        elif isinstance(exc, openai.AuthenticationError):
            kind, message = "unavailable", f"{where} rejected the API key (HTTP 401); check OPENAI_API_KEY or api_key="
        elif isinstance(exc, openai.PermissionDeniedError):
            kind, message = "unavailable", f"{where} denied access (HTTP 403): {exc.message}"
        elif isinstance(exc, openai.NotFoundError) and str(exc.request.url).endswith("/completions") and \
                not str(exc.request.url).endswith("/chat/completions"):
            kind, message = "unavailable", (
                f"{where} answered 404 to /completions: it has no text-completion endpoint (a chat-only server) or "
                f"no such model; the prompt format {self.prompt_format!r} sends raw text there. Use a chat prompt "
                "format (prompt_format='openai', the default) or check the model name")
        elif isinstance(exc, openai.NotFoundError):
            kind, message = "unavailable", f"{where} answered 404 (unknown model or wrong base_url): {exc.message}"
        elif isinstance(exc, openai.APIStatusError):
            kind, message = "call", f"{where} answered HTTP {exc.status_code}: {exc.message}"
        elif isinstance(exc, NotAnAPIReply):
            kind, message = "unavailable", (f"{where}: {exc}; base_url must be the /v1 URL of an OpenAI-compatible "
                                            "server (a proxy or a login page may be in the way)")
        else:
            kind, message = super().describe_error(exc)
        return kind, self.scrub(message)

    def facts(self) -> BackendFacts:
        return BackendFacts(self.backend, "server", redact_url(self.base_url),
                            (("timeout", f"{self.timeout:g} s"), ("max_retries", f"{self.max_retries:,}")))

    def close(self) -> None:
        """Close the HTTP client (on the runtime loop, where its connections are); the next call builds another."""
        client, self._client = self._client, None
        if client is None or client.is_closed():
            return
        if runtime.in_runtime_thread():
            runtime.submit(client.close())
        else:
            runtime.run_sync(client.close())

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", base_url={redact_url(self.base_url)!r})"
