"""Checking an OpenAI-compatible server before any row: reached, key accepted, model served.

A run asks each server for its models list first (``GET /models``, one try, a few
seconds at most): a dead URL, a wrong key or an unknown model name fails the run at
once, with the URL, the cause in plain words and the fix, before a local model spends
time on the first row. A server without a models list, or one that fails it with a
server error, is left to the first row (the dry run).

Example:
    >>> plain_cause(ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 9)"))
    'connection refused (nothing listens on that port)'
"""

from __future__ import annotations

import difflib
import errno
import re
import socket
import ssl
from typing import TYPE_CHECKING, Any

from distilabel_nb.errors import DryRunError
from distilabel_nb.llms.openai_http import causes
from distilabel_nb.llms.openai_replies import NotAnAPIReply, read_choices  # noqa: F401  (NotAnAPIReply: a 200 that is no answer)
from distilabel_nb.redact import redact_url

if TYPE_CHECKING:
    from distilabel_nb.llms.openai import OpenAILLM

#: The longest the check waits for the models list (less when the LLM's own ``timeout`` is shorter).
CHECK_SECONDS = 5.0
_SSL_NOISE = re.compile(r"\s*ssl:(default|None|True|False|<[^>]*>)")


def plain_cause(exc: BaseException) -> str:
    """Why a connection failed, in plain words (no ``ssl:default``, no nested reprs)."""
    for cause in causes(exc):
        os_error = getattr(cause, "os_error", None)  # aiohttp's connector errors wrap the OSError
        for error in (cause, os_error):
            if isinstance(error, ConnectionRefusedError) or getattr(error, "errno", None) == errno.ECONNREFUSED:
                return "connection refused (nothing listens on that port)"
            if isinstance(error, socket.gaierror):
                return "the host name is not known (check the spelling of base_url)"
            if isinstance(error, ssl.SSLError):
                return f"the TLS handshake failed ({error.reason or error}); is it http:// rather than https://?"
            if isinstance(error, TimeoutError):
                return "no answer in time"
        if type(cause).__name__ == "ServerDisconnectedError":
            return "the server closed the connection without an answer"
    text = str(next((c for c in causes(exc) if type(c).__module__.startswith("aiohttp")), exc))
    return _SSL_NOISE.sub("", text) or type(exc).__name__


async def check_server(llm: OpenAILLM) -> None:
    """Reach ``llm``'s server and check its key and model; raise :class:`DryRunError` naming the fix.

    Raises:
        DryRunError: nothing answers at the URL, the key is refused, the URL is not an
            OpenAI-compatible API, or the server does not list the model.
    """
    import openai

    url = redact_url(llm.base_url)
    seconds = min(CHECK_SECONDS, llm.timeout)
    fix_url = "Fix: start the server, or correct base_url= (an OpenAI-compatible server's URL ends in /v1)."
    try:
        listing: Any = await llm.client.with_options(timeout=seconds, max_retries=0).get("/models", cast_to=object)
    except openai.AuthenticationError:
        raise DryRunError(f"{url} rejected the API key (HTTP 401). Fix: set OPENAI_API_KEY, or pass api_key= "
                          "with a key this server accepts.") from None
    except openai.PermissionDeniedError as exc:
        raise DryRunError(f"{url} refused access (HTTP 403): {llm.scrub(str(exc.message))}. Fix: use a key that "
                          "may reach it.") from None
    except openai.NotFoundError:
        if not llm.base_url.rstrip("/").endswith("/v1"):
            raise DryRunError(f"{url} has no /models (HTTP 404), so it is not the root of an OpenAI-compatible "
                              f"API. Fix: pass its /v1 URL, e.g. base_url={url + '/v1'!r}.") from None
        return  # a server without a models list: the first row tells the rest
    except openai.APIStatusError:
        return  # a server error: the first row, with its retries, tells more
    except openai.APITimeoutError as exc:
        cause = plain_cause(exc)
        if cause == "no answer in time" or exc.__cause__ is None:
            raise DryRunError(f"cannot reach {url}: no answer within {seconds:g} s. Fix: check that the server is up "
                              "and base_url= is right (a server still loading its model answers once it is ready).") from None
        raise DryRunError(f"cannot reach {url}: {cause}. {fix_url}") from None
    except openai.APIConnectionError as exc:
        raise DryRunError(f"cannot reach {url}: {plain_cause(exc)}. {fix_url}") from None
    except Exception as exc:  # the transport refused the request itself (e.g. user:password@ in base_url)
        hint = (" (the SDK's aiohttp transport sends no user:password@ of a base_url along with an API key: "
                "pass a base_url without them)") if "encoded in URL" in str(exc) else ""
        raise DryRunError(f"cannot reach {url}: {type(exc).__name__}: {llm.scrub(str(exc))}{hint}. {fix_url}") from None
    if not isinstance(listing, dict):
        try:
            read_choices(listing, chat=True)
        except NotAnAPIReply as exc:
            raise DryRunError(f"{url}/models: {exc}. Fix: base_url must be the /v1 URL of an OpenAI-compatible "
                              "server (a proxy or a login page may be in the way).") from None
        return
    served = [m.get("id") for m in listing.get("data") or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]
    if served and llm.model not in served and await _refuses_model(llm, seconds):
        close = difflib.get_close_matches(llm.model, served, n=3)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        shown = ", ".join(map(repr, served[:10])) + (f" and {len(served) - 10} more" if len(served) > 10 else "")
        raise DryRunError(f"{url} does not serve the model {llm.model!r}; it lists {shown}.{hint} Fix: pass one of "
                          "those as the model name.")


async def _refuses_model(llm: OpenAILLM, seconds: float) -> bool:
    """Whether the server answers 404 to a one-token request for a model it does not list.

    Some servers (llama.cpp's, llama-cpp-python's) serve any model name and list only
    their own alias: for them the request goes through, and the run goes on.
    """
    import openai

    body = {"model": llm.model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    try:
        await llm.client.with_options(timeout=seconds, max_retries=0).post("/chat/completions", body=body, cast_to=object)
    except openai.NotFoundError:
        return True
    except Exception:  # anything else: the first row tells more
        return False
    return False
