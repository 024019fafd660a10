"""The LLM base class: prompts rendered, calls bounded, cached and sent, answers parsed.

A backend implements one coroutine, :meth:`LLM._complete`, that sends an already
formatted prompt and returns ``num_generations`` :class:`Completion` s. The base class
renders prompts, bounds concurrency, turns failures into errors on the output (the run
goes on) and parses answers with the task.
"""

from __future__ import annotations

import asyncio
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Sequence

from distilabel_nb import runtime
from distilabel_nb.cache import CallCache, shared_cache
from distilabel_nb.cache_claims import POLL_SECONDS as CLAIM_POLL_SECONDS
from distilabel_nb.errors import CacheUnavailable, count_argument
from distilabel_nb.llms.outputs import BackendFacts, BackendUnavailable, Completion, ErrorKind, LLMOutput, PreparedCall
from distilabel_nb.llms.params import GenerationParams, make_generation_params
from distilabel_nb.prompt import CHAT_TEMPLATE, FormattedPrompt, FormattingFn, Prompt, checked_prompt, resolve_format
from distilabel_nb.rich_repr import HTMLRepr
from distilabel_nb.schema import task_scales
from distilabel_nb.tasks.base import OutputParseError, Task

__all__ = ["LLM", "BackendFacts", "BackendUnavailable", "Completion", "ErrorKind", "GenerationParams", "LLMOutput",
           "PreparedCall", "make_generation_params"]


class LLM(HTMLRepr, ABC):
    """A model, the task it runs and its generation parameters.

    Args:
        task: The task that builds prompts and parses answers.
        prompt_format: A registered format name (``"chat_template"`` hands chat
            messages to the backend, which applies the model's own template).
        prompt_formatting_fn: A function ``Prompt -> str | messages``; takes precedence
            over ``prompt_format``.
        max_concurrency: Most calls in flight at once (default: the backend's
            ``default_max_concurrency``).
        num_threads: distilabel 0.x's name for ``max_concurrency`` (how many requests run
            at once, not CPU threads); giving both with different values is an error.
        cache: ``True`` (default) stores every answer and reuses it for the same call;
            ``"refresh"`` calls again and overwrites; ``False`` turns caching off; or a
            :class:`~distilabel_nb.cache.CallCache` to use a given database.
        **generation_kwargs: See :class:`GenerationParams` (and the backend's ``params_class``).
    """

    backend: ClassVar[str] = "llm"
    default_format: ClassVar[str] = CHAT_TEMPLATE
    default_max_concurrency: ClassVar[int] = 1
    #: The generation parameters this backend takes and sends.
    params_class: ClassVar[type[GenerationParams]] = GenerationParams
    #: Parameters other backends take that this one cannot send: name -> why, and what to do instead.
    refused_params: ClassVar[Mapping[str, str]] = {}
    #: Whether answers can be held to a JSON schema; ``structured="auto"`` follows it (``Task.with_backend``).
    can_constrain_output: ClassVar[bool] = False

    def __init__(
        self,
        task: Task,
        *,
        prompt_format: str | None = None,
        prompt_formatting_fn: FormattingFn | None = None,
        max_concurrency: int | None = None,
        num_threads: int | None = None,
        cache: "bool | Literal['refresh'] | CallCache" = True,
        **generation_kwargs: Any,
    ):
        if not isinstance(task, Task):
            raise TypeError(f"task must be a distilabel_nb Task, got {type(task).__name__}")
        if prompt_formatting_fn is not None and not callable(prompt_formatting_fn):
            raise TypeError("prompt_formatting_fn must be callable: Prompt -> str | list[dict]")
        fmt = resolve_format(prompt_format or self.default_format)
        max_concurrency = self._concurrency(max_concurrency, num_threads)
        refused = [f"{type(self).__name__} cannot send {name}: {self.refused_params[name]}"
                   for name in generation_kwargs if name in self.refused_params]
        if refused:
            raise ValueError(" ".join(refused))
        self.task, self.prompt_format = task.with_backend(self.can_constrain_output), fmt
        self.prompt_formatting_fn, self.max_concurrency = prompt_formatting_fn, max_concurrency
        try:
            self.params = make_generation_params(self.params_class, **generation_kwargs)
        except ValueError as error:
            raise error.with_traceback(None) from None  # the validation's frames say nothing to the user
        self._semaphore: asyncio.Semaphore | None = None
        self._keyer: tuple[Any, Any] | None = None  # (what it was made for, CallCache.keyer(...))
        if isinstance(cache, CallCache):
            self.cache, self.cache_refresh = cache, False
        elif cache is True or cache == "refresh":
            try:
                self.cache, self.cache_refresh = shared_cache(), cache == "refresh"
            except CacheUnavailable as error:  # its message names the fix; the cache's frames say nothing more
                raise error.with_traceback(None) from None
        elif cache is False or cache is None:
            self.cache, self.cache_refresh = None, False
        else:
            raise ValueError(f"Invalid cache={cache!r} (allowed: True, False, 'refresh' or a CallCache)")

    @classmethod
    def _concurrency(cls, max_concurrency: int | None, num_threads: int | None) -> int:
        """``max_concurrency``, or 0.x's ``num_threads``, or the backend's default; checked."""
        if max_concurrency is not None and num_threads is not None and max_concurrency != num_threads:
            raise ValueError(
                f"max_concurrency={max_concurrency!r} and num_threads={num_threads!r} disagree: num_threads is "
                "distilabel 0.x's name for max_concurrency (requests at once). Pass only one of them."
            )
        value = next((v for v in (max_concurrency, num_threads) if v is not None), cls.default_max_concurrency)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            name = "max_concurrency" if max_concurrency is not None else "num_threads"
            raise ValueError(f"Invalid {name}={value!r} (allowed: int >= 1)")
        return value

    @property
    def model_identity(self) -> dict[str, Any]:
        """What identifies the model in the cache key; backends add where it runs."""
        return {"model": self.model_name}

    @property
    @abstractmethod
    def model_name(self) -> str:
        """The model's name as it appears in the output columns."""

    @abstractmethod
    async def _complete(self, prompt: FormattedPrompt, num_generations: int, schema: dict[str, Any] | None = None) -> list[Completion]:
        """Send one formatted prompt; return ``num_generations`` completions or raise.

        ``schema``, when given, is a JSON schema the answers must follow.
        """

    def facts(self) -> BackendFacts:
        """Where and how this LLM runs, for its card and text twin; backends override it."""
        return BackendFacts(self.backend)

    def replace(self, **settings: Any) -> "LLM":
        """A copy with other settings that shares this LLM's model (once loaded) and client.

        Args:
            **settings: ``task``, ``prompt_format``, ``prompt_formatting_fn``,
                ``max_concurrency``, ``cache`` or generation parameters (``temperature``, …);
                the rest is kept. ``cache=True`` keeps this LLM's cache (the shared one if
                it had none), ``"refresh"`` asks again and stores there, ``False`` is off.

        Raises:
            ValueError: naming an unknown setting, or a value it does not allow.

        Example:
            >>> llm = LlamaCppLLM(TextGenerationTask(), max_new_tokens=32)  # doctest: +SKIP
            >>> llm.replace(max_new_tokens=8, cache=False).params.max_new_tokens  # doctest: +SKIP
            8
        """
        params = list(type(self.params).model_fields)
        own = ["task", "prompt_format", "prompt_formatting_fn", "max_concurrency", "cache"]
        unknown = sorted(set(settings) - set(own) - set(params))
        if unknown:
            raise ValueError(f"replace() got unknown setting(s) {unknown}; it takes {', '.join(own)} "
                             f"and the generation parameters ({', '.join(params)})")
        mode = settings.pop("cache", "refresh" if self.cache_refresh else self.cache is not None)
        cache = self.cache if mode in (True, "refresh") and self.cache is not None else mode
        kept = {"task": self.task, "prompt_format": self.prompt_format, "prompt_formatting_fn": self.prompt_formatting_fn,
                "max_concurrency": self.max_concurrency, **self.params.model_dump()}
        new = object.__new__(type(self))  # not copy.copy: that goes through pickling, which drops the model and client
        new.__dict__.update(self.__dict__)
        # The base constructor on the copy: the checks of a new LLM, its own semaphore and cache keys.
        try:
            LLM.__init__(new, **{**kept, **settings}, cache=cache)
        except ValueError as error:
            raise error.with_traceback(None) from None
        new.cache_refresh = mode == "refresh"
        return new

    def close(self) -> None:
        """Close the backend's client (a server's connections); the next call opens a new one.

        Does nothing for backends that hold none. LLMs made by :meth:`replace` share it.
        """

    def format_prompt(self, prompt: Prompt) -> FormattedPrompt:
        """Render a prompt as this LLM sends it (formatting function first, then format)."""
        if self.prompt_formatting_fn is not None:
            return checked_prompt(self.prompt_formatting_fn(prompt))
        return prompt.format_as(self.prompt_format)

    async def acheck(self) -> None:
        """Check, before any row, that the backend can serve (a server's URL, key and model).

        Raises:
            DryRunError: naming what is wrong and the fix. The default checks nothing.
        """

    def describe_error(self, exc: BaseException) -> tuple[ErrorKind, str]:
        """Classify a backend exception; backends refine this."""
        if isinstance(exc, BackendUnavailable):
            return "unavailable", str(exc)
        return "call", f"{type(exc).__name__}: {exc}"

    def _outputs_for_error(self, prompt_used, kind: ErrorKind, message: str, count: int) -> list[LLMOutput]:
        return [
            LLMOutput(self.model_name, prompt_used, None, None, error=message, error_kind=kind)
            for _ in range(count)
        ]

    def prepare(self, inputs: dict[str, Any], num_generations: int = 1) -> PreparedCall:
        """Render one row's prompt and cache keys (no lookup, no call).

        A bad input does not raise: it is kept on the call and becomes every output's error.
        """
        try:
            prompt_used = self.format_prompt(self.task.generate_prompt(**inputs))
            schema = self.task.response_schema(inputs)
        except (ValueError, TypeError) as exc:
            return PreparedCall(inputs, None, None, [], [None] * num_generations, input_error=str(exc))
        keys: list[str] = []
        if self.cache is not None:
            make_key = self._make_key()
            keys = [make_key(prompt_used, i, schema) for i in range(num_generations)]
        return PreparedCall(inputs, prompt_used, schema, keys, [None] * num_generations)

    @property
    def reads_cache(self) -> bool:
        """Whether calls are answered from the cache (not with ``cache=False`` or ``"refresh"``)."""
        return self.cache is not None and not self.cache_refresh

    def look_up(self, calls: Sequence[PreparedCall]) -> None:
        """Fill in the answers the cache holds for these calls, in one query.

        Does nothing without a cache or with ``cache="refresh"``.
        """
        if not self.reads_cache:
            return
        found = self.cache.get_many([key for call in calls for key in call.keys])
        if not found:
            return
        for call in calls:
            if not call.keys:  # a bad input: nothing was to be sent
                continue
            call.answers = [
                Completion.from_cache(found[key]) if key in found else answer
                for key, answer in zip(call.keys, call.answers)
            ]

    def outputs_from_cache(self, call: PreparedCall) -> list[LLMOutput] | None:
        """The call's parsed outputs when every answer came from the cache (or the input was bad), else ``None``."""
        if call.input_error is not None:
            return self._outputs_for_error(None, "input", call.input_error, len(call.answers))
        if not call.answered:
            return None
        return [self._parse(call.prompt_used, answer, call.inputs) for answer in call.answers]

    async def acomplete(self, call: PreparedCall) -> list[LLMOutput]:
        """Ask the backend for the answers the cache did not have, store them, parse them all.

        Never raises for a bad row or a failed call: the error is on each output.
        """
        ready = self.outputs_from_cache(call)
        if ready is not None:
            return ready
        held = await self._wait_for_others(call) if self.reads_cache and self.cache.path != ":memory:" else []
        try:
            return await self._send(call)
        finally:
            if held:
                self.cache.claims.release(held)

    async def _wait_for_others(self, call: PreparedCall) -> list[str]:
        """Claim the call's missing answers; wait for those another process has in flight (filled in as they come).

        Returns the keys this process claimed (released once its answers are stored).
        """
        claims = self.cache.claims
        wanted = [key for key, answer in zip(call.keys, call.answers) if answer is None]

        def fill(keys: list[str]) -> set[str]:
            found = self.cache.get_many(keys) if keys else {}
            for i, key in enumerate(call.keys):
                if key in found and call.answers[i] is None:
                    call.answers[i] = Completion.from_cache(found[key])
            return set(found)

        others = claims.take(wanted)
        held = [key for key in wanted if key not in others]
        fill(held)  # stored (and its claim ended) by another process since our lookup: not sent again
        while others:
            await asyncio.sleep(CLAIM_POLL_SECONDS)
            found = fill(others)
            rest = [key for key in others if key not in found]
            others = claims.take(rest) if rest else []  # a claim gone without an answer (failed, or stale): ours
            mine = [key for key in rest if key not in others]
            fill(mine)
            held += mine
        return held

    async def _send(self, call: PreparedCall) -> list[LLMOutput]:
        if call.answered:  # another process answered it all meanwhile
            return [self._parse(call.prompt_used, answer, call.inputs) for answer in call.answers]
        missing = [i for i, answer in enumerate(call.answers) if answer is None]
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        try:
            async with self._semaphore:
                fresh = await self._complete(call.prompt_used, len(missing), call.schema)
            if len(fresh) != len(missing):
                raise RuntimeError(f"the backend returned {len(fresh)} answers for {len(missing)} asked")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed call becomes the row's error; the run goes on
            kind, message = self.describe_error(exc)
            return self._outputs_for_error(call.prompt_used, kind, message, len(call.answers))
        for i, answer in zip(missing, fresh):
            call.answers[i] = answer
            # An empty answer is a fault more often than a choice: a re-run asks again.
            # A write that fails keeps the answer (in the result, and for a later write): never raises.
            if self.cache is not None and answer.text.strip():
                self.cache.store(call.keys[i], answer.text, answer.usage, answer.finish_reason)
        return [self._parse(call.prompt_used, answer, call.inputs) for answer in call.answers]

    async def agenerate_one(self, inputs: dict[str, Any], num_generations: int = 1) -> list[LLMOutput]:
        """Generate and parse ``num_generations`` answers for one row's inputs.

        Never raises for a bad row or a failed call: the error is on each output.
        """
        call = self.prepare(inputs, num_generations)
        self.look_up([call])
        return await self.acomplete(call)

    def _make_key(self):
        """``CallCache.keyer`` for this LLM as it is now: remade when its model or parameters change."""
        made_for = (self.model_identity, list(self.params.__dict__.values()))
        if self._keyer is None or self._keyer[0] != made_for:
            keyer = CallCache.keyer(backend=self.backend, model=made_for[0], params=self.params.key_fields())
            self._keyer = (made_for, keyer)
        return self._keyer[1]

    def _parse(self, prompt_used: FormattedPrompt, completion: Completion, inputs: dict[str, Any]) -> LLMOutput:
        output = LLMOutput(self.model_name, prompt_used, completion.text, None, usage=completion.usage, cached=completion.cached,
                           scales=task_scales(self.task), finish_reason=completion.finish_reason)
        try:
            output.parsed_output = self.task.parse_output_for(completion.text, inputs)
        except OutputParseError as exc:
            output.parsed_output, output.error, output.error_kind = exc.partial, str(exc), "parse"
        except Exception as exc:  # a parser bug must not stop the run either
            output.error, output.error_kind = f"parser failed: {type(exc).__name__}: {exc}", "parse"
        if completion.finish_reason == "length" and self.task.needs_whole_answer:
            cut = (f"the answer was cut at max_new_tokens={self.params.max_new_tokens} (finish_reason 'length'), so it "
                   "cannot be read whole; raise max_new_tokens")
            output.error = cut if output.error is None else f"{output.error} ({cut})"
            output.error_kind = "parse"
        return output

    async def agenerate(self, inputs: Sequence[dict[str, Any]], num_generations: int = 1) -> list[list[LLMOutput]]:
        """Async :meth:`generate`: at most ``max_concurrency`` rows pending at once."""
        results: list[list[LLMOutput]] = [[] for _ in inputs]
        limit = max(1, self.max_concurrency)

        async def one(row: dict[str, Any]) -> list[LLMOutput]:
            return await self.agenerate_one(row, num_generations)

        async for index, outputs in runtime.bounded_map(one, inputs, limit):
            results[index] = outputs
        return results

    def generate(self, inputs: Sequence[dict[str, Any]], num_generations: int = 1) -> list[list[LLMOutput]]:
        """Generate ``num_generations`` answers per input row.

        Args:
            inputs: One dict per row, keyed by the task's ``input_args_names``.
            num_generations: Answers per row.

        Returns:
            One list of :class:`LLMOutput` per input, in input order.

        Example:
            >>> llm = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=16)  # doctest: +SKIP
            >>> llm.generate([{"input": "Say hi"}])[0][0].parsed_output  # doctest: +SKIP
            {'generations': 'Hi!'}
        """
        if isinstance(inputs, dict):
            raise TypeError("generate() takes a list of input dicts; wrap a single row as [row]")
        num_generations = count_argument("num_generations", num_generations, "the answers written per input")
        return runtime.run_sync(self.agenerate(list(inputs), num_generations))

    def __getstate__(self) -> dict[str, Any]:
        """What travels when the LLM is pickled (e.g. to a Dask worker): its settings.

        Live resources stay behind: the cache travels as its file path and is reopened on
        the other side, the concurrency semaphore is rebuilt on first use.
        """
        state = self.__dict__.copy()
        state["_semaphore"] = None
        state["_keyer"] = None
        if isinstance(self.cache, CallCache):
            path = self.cache.path
            state["cache"], state["_cache_path"] = None, path if path == ":memory:" else os.path.abspath(path)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        path = state.pop("_cache_path", None)
        if path is not None:
            state["cache"] = shared_cache(path)
        self.__dict__.update(state)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.model_dump(exclude_none=True).items())
        return f"{type(self).__name__}(model={self.model_name!r}, task={self.task.name}, {params})"
