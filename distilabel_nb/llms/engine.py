"""The local engine: llama.cpp's own ``llama-server``, started, shared, watched and stopped by the toolkit.

:class:`~distilabel_nb.llms.llama_cpp.LlamaCppLLM` sends its calls here when the server
binary is found (see :mod:`distilabel_nb.llms.engine_build`). One engine process serves
one GGUF file for every LLM of the process that uses that file with the same ``n_ctx`` and
``n_threads`` (a generator and its labeller share it). It starts on the first call, on a free ``127.0.0.1`` port, with one
slot per call the LLMs on the file may have in flight (their ``max_concurrency`` added up,
at most :data:`MAX_SLOTS`), ``n_ctx`` tokens of context per slot, and continuous batching.
It stops when the last of those LLMs is closed or collected, when the Python process
exits (``atexit``) or, on Linux, when it is killed (the engine gets ``SIGKILL`` with its
parent). A call that finds it dead starts a new one; the calls it was serving fail with
the exit status and the end of its log.

Example:
    >>> engine = engine_for(default_model_path())  # doctest: +SKIP
    >>> engine.describe()  # doctest: +SKIP
    'llama-server pid 4242 on http://127.0.0.1:39113, 16 slots × 4096 tokens, 2 threads'
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Iterable

from distilabel_nb.llms.base import BackendUnavailable

MAX_SLOTS = 16  # continuous batching gains little past this on a CPU, and each slot holds n_ctx of KV cache
START_TIMEOUT = 300.0  # seconds to load a model (a large GGUF on a slow disk)
PROMPT_CACHE_MIB = 256  # host memory for llama-server's cross-slot prompt cache (its default is 8 GiB)
LOG_DIR = Path(tempfile.gettempdir()) / "distilabel_nb-engines"  # one log per engine start
_LISTENING = re.compile(rb"listening on (http://127\.0\.0\.1:\d+)")


def default_threads() -> int:
    """CPU threads for the engine: every CPU this process may run on (``os.sched_getaffinity``).

    The engine's idle threads sleep (``OMP_WAIT_POLICY=PASSIVE``), so that they leave the CPU
    to Python and to other work between batches. With hyper-threading, the number of
    physical cores may be faster; pass ``n_threads=`` to the LLM.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


class EngineFailed(BackendUnavailable):
    """The engine process did not start, or died while serving calls."""


def _exit_status(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"


@functools.lru_cache(maxsize=1)
def _prctl() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True).prctl


def die_with_parent() -> Callable[[], None] | None:
    """Linux: a ``preexec_fn`` so that the engine gets SIGKILL when the thread that started it ends.

    That thread is the package's runtime thread, which lives as long as the process: the
    engine dies with a killed kernel. (Elsewhere ``None``: only ``atexit`` stops it.)
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl, parent = _prctl(), os.getpid()  # looked up before the fork: the child only calls

    def in_child() -> None:  # pragma: no cover - runs in the child between fork and exec
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the call above
            os._exit(1)

    return in_child


class Engine:
    """One ``llama-server`` process for one GGUF file, shared by the LLMs that use the file.

    Args:
        model_path: The GGUF file.
        binary: The ``llama-server`` executable.
        n_ctx: Context of one slot, in tokens.
        threads: CPU threads (``None``: :func:`default_threads`).
    """

    def __init__(self, model_path: Path, binary: Path, n_ctx: int = 4096, threads: int | None = None):
        self.model_path = Path(model_path)
        self.binary = Path(binary)
        self.n_ctx = n_ctx
        self.threads = threads or default_threads()
        self.process: subprocess.Popen | None = None
        self.base_url: str | None = None
        self.slots = 0
        self.starts = 0
        self.log_path = LOG_DIR / f"{self.model_path.stem}-{os.getpid()}-{id(self):x}-0.log"
        self._users: dict[int, weakref.ReferenceType] = {}
        self._lock = threading.Lock()
        self._start_locks: dict[int, asyncio.Lock] = {}
        self._in_flight = 0

    # -- who uses it ------------------------------------------------------------------
    def attach(self, llm: Any) -> None:
        """Count ``llm`` (a LlamaCppLLM) among the users; the engine stops when the last one goes."""
        key = id(llm)
        with self._lock:
            if key in self._users and self._users[key]() is llm:
                return
            self._users[key] = weakref.ref(llm)
        weakref.finalize(llm, self.detach, key)

    def detach(self, key: int) -> None:
        """Forget a user (by ``id``); stop the process when none is left."""
        with self._lock:
            self._users.pop(key, None)
            idle = not self._users
        if idle:
            self.stop()

    def _live_users(self) -> list[Any]:
        with self._lock:
            return [llm for llm in (ref() for ref in self._users.values()) if llm is not None]

    def wanted_slots(self) -> int:
        """One slot per call the users may have in flight (their ``max_concurrency`` added up), at most MAX_SLOTS."""
        return min(MAX_SLOTS, max(1, sum(llm.max_concurrency for llm in self._live_users())))

    # -- the process --------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None and self.base_url is not None

    def describe(self) -> str:
        if not self.running:
            return f"llama-server for {self.model_path.name}: not running"
        return (f"llama-server pid {self.process.pid} on {self.base_url}, {self.slots} slots × {self.n_ctx} tokens, "
                f"{self.threads} threads")

    def _start_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._start_locks.get(id(loop))
        if lock is None:
            lock = self._start_locks[id(loop)] = asyncio.Lock()
        return lock

    async def ensure_running(self) -> str:
        """Start the process if it is not running (or is too small for its users and idle); return its base URL.

        Raises:
            EngineFailed: when it does not start, quoting its log.
        """
        if self.running and (self._in_flight or self.wanted_slots() <= self.slots):
            return self.base_url
        async with self._start_lock():
            slots = self.wanted_slots()
            if self.running and (self._in_flight or slots <= self.slots):
                return self.base_url
            self.stop()
            process = self._spawn(slots)
            await self._wait_listening(process)
            return self.base_url

    def command(self, slots: int) -> list[str]:
        """The ``llama-server`` command line for this file with ``slots`` slots."""
        return [
            str(self.binary), "-m", str(self.model_path), "--alias", self.model_path.stem,
            "--host", "127.0.0.1", "--port", "0", "--parallel", str(slots), "--ctx-size", str(self.n_ctx * slots),
            "--no-kv-unified", "--threads", str(self.threads), "--threads-batch", str(self.threads),
            "--cache-ram", str(PROMPT_CACHE_MIB), "--no-webui", "--no-warmup", "--jinja", "--timeout", "3600",
        ]

    def _spawn(self, slots: int) -> subprocess.Popen:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{self.model_path.stem}-{os.getpid()}-{id(self):x}-{self.starts + 1}.log"
        log = open(self.log_path, "wb")
        # llama-server reads LLAMA_ARG_* settings from the environment: only the command line counts here.
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_ARG_")}
        # Idle OpenMP threads sleep instead of spinning between batches: spinning ones take the CPU
        # from the engine's own main thread and from Python, and a busy 2-core machine slows down ~8×.
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            process = subprocess.Popen(
                self.command(slots), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env, start_new_session=True,  # Ctrl-C in a terminal interrupts Python, which frees the slots
                preexec_fn=die_with_parent(),
            )
        except OSError as exc:
            raise EngineFailed(f"could not start {self.binary}: {exc}") from exc
        finally:
            log.close()
        self.process, self.base_url = process, None
        self.slots = slots
        self.starts += 1
        _ALL.add(self)
        return process

    async def _wait_listening(self, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            found = _LISTENING.search(self._read_log(limit=1 << 20))
            if found:
                self.base_url = found.group(1).decode() + "/v1"
                return
            if process.poll() is not None:
                raise EngineFailed(self.failure() or f"llama-server {_exit_status(process.returncode)} while starting")
            if time.monotonic() > deadline:
                self.stop()
                raise EngineFailed(f"llama-server did not load {self.model_path.name} in {START_TIMEOUT:g}s"
                                   f"{self._quoted_log()}")
            await asyncio.sleep(0.05)

    def failure(self) -> str | None:
        """What happened to a dead engine (exit status and the end of its log), or ``None`` while it runs."""
        process = self.process
        if process is None:
            return None
        try:
            code = process.wait(timeout=0.5)  # a dropped connection is seen a moment before the exit
        except subprocess.TimeoutExpired:
            return None
        return (f"the local llama.cpp engine for {self.model_path.name} (llama-server pid {process.pid}) "
                f"{_exit_status(code)}{self._quoted_log()}")

    def _read_log(self, limit: int) -> bytes:
        try:
            with open(self.log_path, "rb") as log:
                size = log.seek(0, os.SEEK_END)
                log.seek(max(0, size - limit))
                return log.read()
        except OSError:
            return b""

    def _quoted_log(self, lines: int = 8) -> str:
        tail = self._read_log(limit=16_384).decode(errors="replace").strip().splitlines()[-lines:]
        if not tail:
            return f" (its log, {self.log_path}, is empty)"
        return f"; the end of its log ({self.log_path}):\n" + "\n".join(f"  {line}" for line in tail)

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 5 s). Safe to call at any time.

        The log of a process stopped here is deleted; the log of one that had died is kept.
        """
        process, self.process, self.base_url = self.process, None, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.log_path.unlink(missing_ok=True)

    # -- calls ------------------------------------------------------------------------------
    def call_started(self) -> None:
        with self._lock:
            self._in_flight += 1

    def call_ended(self) -> None:
        with self._lock:
            self._in_flight -= 1


_ENGINES: dict[tuple[str, int, int], Engine] = {}
_ENGINES_LOCK = threading.Lock()
_ALL: "weakref.WeakSet[Engine]" = weakref.WeakSet()  # every engine that started a process


def engine_for(model_path: Path, binary: Path, n_ctx: int = 4096, threads: int | None = None) -> Engine:
    """The process's engine for a GGUF file, context and thread count (made once; it starts on its first call)."""
    path, threads = Path(model_path).resolve(), threads or default_threads()
    key = (str(path), n_ctx, threads)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None or engine.binary != Path(binary):
            engine = _ENGINES[key] = Engine(path, Path(binary), n_ctx, threads)
        return engine


def running_engines() -> list[Engine]:
    """The engines of this process whose process runs."""
    return [engine for engine in list(_ALL) if engine.running]


def stop_all(engines: Iterable[Engine] | None = None) -> None:
    """Stop every engine of this process (registered with ``atexit``)."""
    for engine in list(_ALL if engines is None else engines):
        engine.stop()


atexit.register(stop_all)
