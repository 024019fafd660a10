"""Local GGUF models through llama-cpp-python, in-process."""

from __future__ import annotations

import asyncio
import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from distilabel_nb.llms.base import LLM, BackendFacts, BackendUnavailable, Completion, ErrorKind, GenerationParams
from distilabel_nb.llms.models import DEFAULT_MODEL_NAME, INSTALL_HINT, default_model_path
from distilabel_nb.prompt import FormattedPrompt
from distilabel_nb.tasks.base import Task

if TYPE_CHECKING:
    import llama_cpp

DEFAULT_CONTEXT_SIZE = 4096
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
    """A GGUF model run in-process by llama.cpp.

    The model's own chat template (from the GGUF metadata) is the default prompt format.
    The model loads on first use, once; calls run one at a time in a worker thread.

    Args:
        task: The task to run.
        model: ``None`` for the bundled SmolLM2-135M-Instruct, a path to a ``.gguf``
            file, or a loaded ``llama_cpp.Llama``.
        n_ctx: Context window in tokens (when this class loads the model).
        n_threads: CPU threads for llama.cpp (default: its own choice). Not 0.x's
            ``num_threads``, which is ``max_concurrency`` here.
        **kwargs: Prompt format and generation parameters, see :class:`LLM`; also
            llama.cpp's ``top_k``, ``repeat_penalty`` and ``min_p`` (:class:`LlamaCppParams`).

    Raises:
        FileNotFoundError: when the model file does not exist.

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
        **kwargs: Any,
    ):
        super().__init__(task, **kwargs)
        self._llama: "llama_cpp.Llama | None" = None
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
            self._llama = model
            self.model_path = Path(model.model_path)
            self._model_name = self.model_path.stem
            self.n_ctx = model.n_ctx()
        else:
            raise TypeError(f"model must be None, a .gguf path or a llama_cpp.Llama, got {type(model).__name__}")

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
        return BackendFacts(self.backend, "local file", str(self.model_path), settings)

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
                else:
                    if schema is None:
                        kwargs["logits_processor"] = LogitsProcessorList([force_end_when_cancelled])
                    else:
                        # A schema's grammar forbids end-of-text mid-answer (forcing it aborts
                        # llama.cpp), so a constrained chat call runs to its end.
                        kwargs["response_format"] = {"type": "json_object", "schema": schema}
                    response = llama.create_chat_completion(messages=prompt, **kwargs)
                    text = response["choices"][0]["message"]["content"] or ""
                usage = response.get("usage") or {}
                completions.append(Completion(text, {k: usage.get(k, 0) for k in ("prompt_tokens", "completion_tokens")}))
        return completions

    async def _complete(self, prompt: FormattedPrompt, num_generations: int, schema: dict[str, Any] | None = None) -> list[Completion]:
        cancelled = threading.Event()
        try:
            return await asyncio.to_thread(self._complete_blocking, prompt, num_generations, schema, cancelled)
        except asyncio.CancelledError:
            cancelled.set()  # the worker thread stops at its next token
            raise

    def __getstate__(self) -> dict[str, Any]:
        """Settings only: the other side loads ``model_path`` on its first call (once per process)."""
        state = super().__getstate__()
        state["_llama"] = None
        del state["_load_lock"], state["_call_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._load_lock = threading.Lock()
        self._call_lock = threading.Lock()

    def describe_error(self, exc: BaseException) -> tuple[ErrorKind, str]:
        if isinstance(exc, ValueError) and "context window" in str(exc):
            return "input", f"prompt too long for the model's context ({self.n_ctx} tokens): {exc}"
        return super().describe_error(exc)
