"""Shared fixtures: a scripted fake LLM, the bundled model, a real llama.cpp server."""

from __future__ import annotations

import _thread
import contextlib
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Callable

import pytest

from distilabel_nb import runtime
from distilabel_nb.llms.models import default_model_path
from scripted import ScriptedLLM


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own empty call cache."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("DISTILABEL_NB_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def paused_runtime():
    """A context manager that holds the runtime's event loop still until its block ends.

    Lets a test subscribe to a run before the run can send its first event.
    """

    @contextlib.contextmanager
    def paused():
        gate = threading.Event()
        runtime.get_loop().call_soon_threadsafe(gate.wait, 10)
        try:
            yield
        finally:
            gate.set()

    return paused


@pytest.fixture
def scripted_llm():
    return ScriptedLLM


@pytest.fixture(scope="session")
def model_path() -> Path:
    return default_model_path()


@pytest.fixture(scope="session")
def shared_llama(model_path):
    """One loaded llama_cpp.Llama for the session (loading takes a moment)."""
    import llama_cpp

    return llama_cpp.Llama(model_path=str(model_path), n_ctx=4096, verbose=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def llama_server(model_path, tmp_path_factory):
    """A real OpenAI-compatible server: ``python -m llama_cpp.server`` on the bundled model.

    Yields ``(base_url, model_alias)``; stopped after the session.
    """
    port = free_port()
    alias = "smollm2"
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--model_alias", alias,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"llama_cpp.server did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)
    yield base_url, alias
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture
def interrupt_when():
    """``interrupt_when(condition)``: interrupt the main thread, as Ctrl-C or Jupyter's ■ does, once ``condition()`` holds.

    The watching thread gives up (without interrupting) after 30 s or when the test ends.
    """
    over = threading.Event()

    def start(condition: Callable[[], bool]) -> None:
        def watch() -> None:
            deadline = time.monotonic() + 30
            while not over.is_set() and time.monotonic() < deadline:
                if condition():
                    _thread.interrupt_main()
                    return
                time.sleep(0.005)

        threading.Thread(target=watch, name="interrupter", daemon=True).start()

    yield start
    over.set()
