"""Local GGUF models through llama.cpp: its server as the local engine, or llama-cpp-python in-process."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from distilabel_nb import runtime
from distilabel_nb.llms.base import LLM, BackendFacts, BackendUnavailable, Completion, ErrorKind, GenerationParams
from distilabel_nb.llms.engine import Engine, EngineFailed, engine_for
from distilabel_nb.llms.engine_build import BUILD_HINT, find_server_binary
from distilabel_nb.llms.models import DEFAULT_MODEL_NAME, INSTALL_HINT, default_model_path
from distilabel_nb.prompt import FormattedPrompt
from distilabel_nb.tasks.base import Task

if TYPE_CHECKING:
    import llama_cpp

    from distilabel_nb.llms.engine_client import EngineClient

DEFAULT_CONTEXT_SIZE = 4096
ENGINES = ("auto", "server", "in-process")
SERVER_CONCURRENCY = 8  # default max_concurrency on the engine: llama.cpp's batching pays off from here
_noted = threading.Event()
# One model loads at a time in the process: llama-cpp-python silences a load by swapping the
# process's stdout and stderr, and two loads overlapping on two threads would leave them
# swapped for good.
_LOADING = threading.Lock()


@lru_cache(maxsize=64)
def _grammar_from_json(schema_json: str):
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_json_schema(schema_json, verbose=False)


def _grammar_for(schema: dict[str, Any]):
    """A llama.cpp grammar for a JSON schema, built once per distinct schema.

    Properties keep the schema's order (the model writes them in that order, e.g. a
    rationale before its rating), so the key is not sorted.
    """
    return _grammar_from_json(json.dumps(schema))


class LlamaCppParams(GenerationParams):
    """The shared generation parameters, plus llama.cpp's own samplers (``None``: llama.cpp's default)."""

    top_k: int | None = Field(None, ge=0, description="sample from the k likeliest tokens; 0 turns it off")
    repeat_penalty: float | None = Field(None, gt=0.0, description="penalty on repeated tokens; 1.0 is none")
    min_p: float | None = Field(None, ge=0.0, le=1.0, description="drop tokens below this share of the likeliest")


#: The LlamaCppParams fields llama.cpp's calls take under the same name.
_OWN_SAMPLERS = ("top_k", "repeat_penalty", "min_p")


class LlamaCppLLM(LLM):
    """A GGUF model run by llama.cpp: in llama.cpp's own server (the local engine), or in-process.

    The model's own chat template (from the GGUF metadata) is the default prompt format.
    With ``llama-server`` available (``make install`` or ``distilabel-nb build-engine``
    builds it; see :mod:`distilabel_nb.llms.engine_build`), calls go to one engine
    process per model file, shared with the other LLMs on that file, with continuous
    batching over ``max_concurrency`` calls at once (see :mod:`distilabel_nb.llms.engine`).
    Without it, and for a ``llama_cpp.Llama`` you pass, the model loads in-process on first
    use and calls run one at a time in a worker thread. Both paths share cache keys.

    Args:
        task: The task to run.
        model: ``None`` for the bundled SmolLM2-135M-Instruct, a path to a ``.gguf``
            file, or a loaded ``llama_cpp.Llama`` (always in-process).
        n_ctx: Context window in tokens of one call (per engine slot).
        n_threads: CPU threads for llama.cpp (default: the engine uses every CPU this
            process may run on; in-process, llama-cpp-python's own choice). Not 0.x's
            ``num_threads``, which is ``max_concurrency`` here.
        engine: ``"auto"`` (the server when its binary is found, else in-process with a
            one-line note), ``"server"`` or ``"in-process"``.
        max_concurrency: Calls in flight at once (default 8 with the server, 1 in-process).
        **kwargs: Prompt format and generation parameters, see :class:`LLM`; also
            llama.cpp's ``top_k``, ``repeat_penalty`` and ``min_p`` (:class:`LlamaCppParams`).

    Raises:
        FileNotFoundError: when the model file does not exist, or ``engine="server"``
            and there is no ``llama-server``.

    Example:
        >>> from distilabel_nb import LlamaCppLLM, TextGenerationTask
        >>> llm = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=32, top_k=40, repeat_penalty=1.1)
        >>> llm.model_name
        'SmolLM2-135M-Instruct'
    """

    backend = "llama.cpp"
    can_constrain_output = True  # a grammar from the JSON schema
    params_class = LlamaCppParams

    def __init__(
        self,
        task: Task,
        model: "str | Path | llama_cpp.Llama | None" = None,
        *,
        n_ctx: int = DEFAULT_CONTEXT_SIZE,
        n_threads: int | None = None,
        engine: str = "auto",
        max_concurrency: int | None = None,
        **kwargs: Any,
    ):
        if engine not in ENGINES:
            raise ValueError(f"Invalid engine={engine!r} (allowed: {', '.join(map(repr, ENGINES))})")
        self._llama: "llama_cpp.Llama | None" = None
        self._server: Engine | None = None
        self._client: EngineClient | None = None
        self._load_lock = threading.Lock()
        self._call_lock = threading.Lock()
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        if model is None:
            self.model_path = default_model_path()
            self._model_name = DEFAULT_MODEL_NAME
        elif isinstance(model, (str, Path)):
            self.model_path = Path(model).expanduser()
            if not self.model_path.is_file():
                raise FileNotFoundError(
                    f"No GGUF model file at {str(self.model_path)!r}. Pass the path of a .gguf file, "
                    f"or model=None for the bundled SmolLM2-135M-Instruct ({INSTALL_HINT})."
                )
            self._model_name = self.model_path.stem
        elif type(model).__name__ == "Llama" and hasattr(model, "create_chat_completion"):
            if engine == "server":
                raise ValueError("A loaded llama_cpp.Llama runs in-process: pass its .gguf path for engine='server'")
            self._llama = model
            self.model_path = Path(model.model_path)
            self._model_name = self.model_path.stem
            self.n_ctx = model.n_ctx()
        else:
            raise TypeError(f"model must be None, a .gguf path or a llama_cpp.Llama, got {type(model).__name__}")
        self.engine = "in-process" if engine == "in-process" or self._llama is not None else self._find_server(engine)
        if max_concurrency is None and kwargs.get("num_threads") is None and self.engine == "server":
            max_concurrency = SERVER_CONCURRENCY
        super().__init__(task, max_concurrency=max_concurrency, **kwargs)
        if self.engine == "server":
            self._engine().attach(self)

    def _find_server(self, engine: str) -> str:
        if find_server_binary() is not None:
            return "server"
        if engine == "server":
            raise FileNotFoundError(f"engine='server' needs llama.cpp's llama-server, which is not built: {BUILD_HINT}")
        _note_in_process_once()
        return "in-process"

    def _engine(self) -> Engine:
        """The engine of this LLM's model file, context and threads (found again after unpickling)."""
        if self._server is None:
            binary = find_server_binary()
            if binary is None:
                raise EngineFailed(f"llama.cpp's llama-server is not built on this machine: {BUILD_HINT}")
            self._server = engine_for(self.model_path, binary, self.n_ctx, self.n_threads)
        return self._server

    def close(self) -> None:
        """Let go of the engine (it stops when no other LLM of the process uses it) and close the client to it.

        The LLM can still be used: its next call starts the engine again.
        """
        if self._server is not None:
            self._server.detach(id(self))
        client, self._client = self._client, None
        if client is not None:
            client.close()

    @property
    def loaded(self) -> bool:
        """Whether the model is loaded: in this process, or in a running engine."""
        return self._llama is not None or (self._server is not None and self._server.running)

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def model_identity(self) -> dict[str, Any]:
        """What identifies the weights: file path, size and modification time."""
        stat = self.model_path.stat()
        return {"path": str(self.model_path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    def facts(self) -> BackendFacts:
        settings = tuple((name, "auto" if value is None else f"{value:,}")
                         for name, value in (("n_ctx", self.n_ctx), ("n_threads", self.n_threads)))
        engine = "llama.cpp's server (local engine)" if self.engine == "server" else "llama.cpp in-process"
        return BackendFacts(self.backend, "local file", str(self.model_path), (*settings, ("engine", engine)))

    @property
    def llama(self) -> "llama_cpp.Llama":
        """The loaded ``llama_cpp.Llama`` (loads the model on first access)."""
        with self._load_lock:
            if self._llama is None:
                try:
                    import llama_cpp
                except ImportError as exc:
                    raise ImportError(f"LlamaCppLLM needs llama-cpp-python; {INSTALL_HINT}") from exc
                try:
                    with _LOADING:
                        self._llama = llama_cpp.Llama(
                            model_path=str(self.model_path), n_ctx=self.n_ctx, n_threads=self.n_threads, verbose=False
                        )
                except Exception as exc:
                    raise BackendUnavailable(f"could not load the GGUF model {str(self.model_path)!r}: {exc}") from exc
            return self._llama

    def _sampling_kwargs(self, generation_index: int) -> dict[str, Any]:
        p = self.params
        return dict(
            max_tokens=p.max_new_tokens,
            temperature=p.temperature,
            top_p=p.top_p,
            frequency_penalty=p.frequency_penalty,
            presence_penalty=p.presence_penalty,
            # One seed per answer: the same seed for every answer would repeat the first one.
            seed=None if p.seed is None else p.seed + generation_index,
            stop=p.stop or [],
            **{name: getattr(p, name) for name in _OWN_SAMPLERS if getattr(p, name) is not None},
        )

    def _complete_blocking(
        self, prompt: FormattedPrompt, num_generations: int, schema: dict[str, Any] | None, cancelled: threading.Event
    ) -> list[Completion]:
        from llama_cpp import LogitsProcessorList, StoppingCriteriaList

        llama = self.llama
        end_of_text = llama.token_eos()

        def force_end_when_cancelled(input_ids, scores):
            # Called once per decoded token: once cancelled, only end-of-text can follow, so the
            # decode ends at the next token (an exception here would be swallowed by llama.cpp).
            if cancelled.is_set():
                scores[:] = -float("inf")
                scores[end_of_text] = 0.0
            return scores

        completions = []
        with self._call_lock:
            for index in range(num_generations):
                if cancelled.is_set():
                    break
                kwargs = self._sampling_kwargs(index)
                if isinstance(prompt, str):
                    # Raw completions check a stopping criterion in Python: safe with a grammar too.
                    kwargs["stopping_criteria"] = StoppingCriteriaList([lambda ids, logits: cancelled.is_set()])
                    if schema is not None:
                        kwargs["grammar"] = _grammar_for(schema)
                    response = llama.create_completion(prompt=prompt, **kwargs)
                    text = response["choices"][0]["text"]
                    finish = response["choices"][0].get("finish_reason")
                else:
                    if schema is None:
                        kwargs["logits_processor"] = LogitsProcessorList([force_end_when_cancelled])
                    else:
                        # A schema's grammar forbids end-of-text mid-answer (forcing it aborts
                        # llama.cpp), so a constrained chat call runs to its end.
                        kwargs["response_format"] = {"type": "json_object", "schema": schema}
                    response = llama.create_chat_completion(messages=prompt, **kwargs)
                    text = response["choices"][0]["message"]["content"] or ""
                    finish = response["choices"][0].get("finish_reason")
                usage = response.get("usage") or {}
                completions.append(Completion(text, {k: usage.get(k, 0) for k in ("prompt_tokens", "completion_tokens")},
                                              finish_reason=finish))
        return completions

    async def _complete(self, prompt: FormattedPrompt, num_generations: int, schema: dict[str, Any] | None = None) -> list[Completion]:
        if self.engine == "server":
            return await self._complete_on_engine(prompt, num_generations, schema)
        cancelled = threading.Event()
        try:
            return await asyncio.to_thread(self._complete_blocking, prompt, num_generations, schema, cancelled)
        except asyncio.CancelledError:
            cancelled.set()  # the worker thread stops at its next token
            raise

    async def _complete_on_engine(self, prompt: FormattedPrompt, num_generations: int, schema: dict[str, Any] | None) -> list[Completion]:
        if not runtime.in_runtime_thread():  # the engine's start and its client live on the runtime loop
            return await asyncio.wrap_future(runtime.submit(self._complete_on_engine(prompt, num_generations, schema)))
        engine = self._engine()
        engine.attach(self)  # again: a copy of this LLM (copy.copy) is a user too
        base_url = await engine.ensure_running()
        # Its own client: one made by replace() shares this LLM's attributes, not its task and parameters.
        if self._client is None or self._client.owner is not self or self._client.base_url != base_url:
            from distilabel_nb.llms.engine_client import EngineClient

            self._client = EngineClient(self, base_url)
        engine.call_started()
        try:
            completions = await self._client._complete(prompt, num_generations, schema)
        finally:
            engine.call_ended()
        read = max((c.usage.get("prompt_tokens", 0) for c in completions), default=0)
        if read > self.n_ctx:  # llama-server sometimes reads past a slot's context instead of refusing
            raise ValueError(f"the prompt's {read} tokens exceed the context window of {self.n_ctx}")
        return completions

    def __getstate__(self) -> dict[str, Any]:
        """Settings only: the other side loads ``model_path`` (or starts its engine) on its first call."""
        state = super().__getstate__()
        state["_llama"] = state["_server"] = state["_client"] = None
        del state["_load_lock"], state["_call_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._load_lock = threading.Lock()
        self._call_lock = threading.Lock()

    def describe_error(self, exc: BaseException) -> tuple[ErrorKind, str]:
        too_long = f"prompt too long for the model's context ({self.n_ctx} tokens)"
        if isinstance(exc, ValueError) and "context window" in str(exc):
            return "input", f"{too_long}: {exc}"
        if self.engine != "server" or isinstance(exc, BackendUnavailable):
            return super().describe_error(exc)
        failure = self._server.failure() if self._server is not None else None
        if failure is not None:
            return "call", failure
        if self._client is None:
            return super().describe_error(exc)
        kind, message = self._client.describe_error(exc)
        message = message.replace(f"{self._client.base_url} (model {self._client.model!r})",
                                  f"the local llama.cpp engine ({self._client.base_url})")
        if "exceed" in message and "context" in message:
            return "input", f"{too_long}: {message}"
        return kind, message


def _note_in_process_once() -> None:
    """Say once per process that local models run in-process, and how to get the fast engine."""
    if not _noted.is_set():
        _noted.set()
        print(f"note: llama.cpp's llama-server is not built, so local models run in-process (slower); {BUILD_HINT}.",
              file=sys.stderr)
