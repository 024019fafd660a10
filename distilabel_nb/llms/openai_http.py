"""The HTTP side of :class:`~distilabel_nb.llms.openai.OpenAILLM`: the SDK's client, its deadline, what a failure means.

Example:
    >>> bucket(30)  # 30 requests a minute: a bucket of one, refilled every 2 s
    (1.0, 2.0)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import itertools
import ssl
from typing import Any, Iterator

from distilabel_nb import runtime


@functools.lru_cache(maxsize=None)
def _tls_context(http_library: str) -> ssl.SSLContext:
    """The TLS context the SDK's HTTP library builds by default, built once per process.

    It is that library's own choice (the system's trust store on macOS and Windows,
    ``SSL_CERT_FILE`` where set). Each new client would otherwise build it again, reading
    the certificate bundle (about 20 ms) on the first request of every run the panel starts.
    """
    return importlib.import_module(http_library).create_ssl_context()


def aiohttp_client(deadline: float | None = None) -> Any:
    """The SDK's aiohttp-based HTTP client, or ``None`` when aiohttp is not installed.

    With ``deadline``, each attempt (sending the request and reading the whole answer)
    is abandoned after that many seconds, as a read timeout the SDK retries: a server
    that trickles its answer a byte at a time never trips a read timeout, which only
    bounds the wait between two bytes.
    """
    import openai

    factory = getattr(openai, "DefaultAioHttpClient", None)  # openai >= 1.88
    if factory is None:
        return None
    # The SDK's clients are httpx clients (httpx2 in openai >= 3): ask that library.
    http_library = next((c.__module__.split(".")[0] for c in factory.__mro__
                         if c.__module__.split(".")[0] in ("httpx2", "httpx")), None)
    try:
        client = factory(verify=_tls_context(http_library)) if http_library else factory()
    except RuntimeError:  # the SDK says the aiohttp extra is missing
        return None
    if deadline is not None and http_library is not None:
        _add_deadline(client, deadline, importlib.import_module(http_library))
    return client


def _add_deadline(client: Any, seconds: float, http_library: Any) -> None:
    send = client.send

    async def send_within_deadline(request: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.wait_for(send(request, **kwargs), seconds)
        except TimeoutError:
            raise http_library.ReadTimeout(f"no whole answer within {seconds:g}s", request=request) from None

    client.send = send_within_deadline


def close_on_runtime(http_client: Any) -> None:
    """Close an HTTP client on the runtime loop, if that loop still runs (never starts it)."""
    loop = runtime.running_loop()
    if loop is None or http_client.is_closed:
        return
    try:
        future = asyncio.run_coroutine_threadsafe(http_client.aclose(), loop)
    except RuntimeError:  # the loop closed meanwhile
        return
    if not runtime.in_runtime_thread():
        with contextlib.suppress(Exception):
            future.result(timeout=2)


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what caused it (``__cause__``, else ``__context__``), and so on; each once."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def transport_failure(exc: BaseException) -> BaseException | None:
    """The transport error under an SDK timeout, when it was no timeout at all.

    The SDK's aiohttp transport reports a refused or dropped connection as a connect
    timeout; the error it wraps tells the truth.
    """
    for seen in itertools.islice(causes(exc), 1, None):
        if isinstance(seen, TimeoutError):
            return None
        if type(seen).__module__.startswith("aiohttp"):
            return seen
    return None


def worth_retrying(exc: Exception) -> bool:
    """What the client retries: dropped connections, timeouts, 408, 409, 429 and 5xx."""
    import openai

    if isinstance(exc, openai.APIConnectionError):
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code in (408, 409, 429) or exc.status_code >= 500)


def bucket(per_minute: float) -> tuple[float, float]:
    """``(capacity, seconds)`` of a token bucket for a rate per minute.

    Buckets of one second spread requests over the minute instead of sending them in one
    burst; below one a second, the bucket holds one and refills over ``60 / per_minute``
    seconds (a capacity under one would refuse every request).
    """
    if per_minute >= 60:
        return per_minute / 60, 1.0
    return 1.0, 60 / per_minute


def token_count(value: Any) -> int:
    """A token count as the server reports it, or 0 for anything that is not a count."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def rejects_json_schema(exc: Exception) -> bool:
    import openai

    return isinstance(exc, openai.APIStatusError) and exc.status_code in (400, 422, 500) and "json_schema" in str(exc)
