"""OpenAILLM against a real OpenAI-compatible server: llama.cpp's, serving the bundled model."""

import asyncio
import subprocess
import sys
import time

import pytest

from distilabel_nb import OpenAILLM, TextGenerationTask, UltraFeedbackTask


def test_constructor_makes_no_network_call(monkeypatch):
    import socket

    attempts = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: attempts.append(address))
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: attempts.append(args) or [])
    llm = OpenAILLM("any", TextGenerationTask(), base_url="http://10.255.255.1:9/v1", timeout=30)
    assert attempts == [] and llm._client is not None  # the client is ready, no connection is open


def test_no_key_for_openai_itself_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        OpenAILLM("gpt-4o-mini", TextGenerationTask())


@pytest.mark.parametrize("kwargs, message", [({"timeout": 0}, "timeout"), ({"max_retries": -1}, "max_retries"), ({"temperature": 9}, "temperature")])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:1/v1", **kwargs)


def test_generate_against_llama_cpp_server(llama_server):
    base_url, model = llama_server
    llm = OpenAILLM(model, TextGenerationTask(), base_url=base_url, max_new_tokens=16, temperature=0.8, max_concurrency=2)
    results = llm.generate([{"input": "Name a fruit."}, {"input": "Name a planet."}, {"input": "Name a river."}], num_generations=2)
    assert [len(r) for r in results] == [2, 2, 2]
    for outputs in results:
        for output in outputs:
            assert output.ok, output.error
            assert output.model_name == model and output.raw_output.strip()
            assert output.parsed_output["generations"] == output.raw_output.strip()
    assert results[1][0].prompt_used[-1] == {"role": "user", "content": "Name a planet."}
    assert sum(o.usage["completion_tokens"] for r in results for o in r) > 0
    # llama.cpp's server answers one choice whatever n is: the client noticed and asked again.
    assert llm._server_honours_n is False


def test_generate_works_from_inside_a_running_event_loop(llama_server):
    """Jupyter runs cells inside an asyncio loop: the sync API must still work there."""
    base_url, model = llama_server
    llm = OpenAILLM(model, TextGenerationTask(), base_url=base_url, max_new_tokens=8)

    async def cell():
        assert asyncio.get_running_loop().is_running()
        return llm.generate([{"input": "Say hi."}])

    (outputs,) = asyncio.run(cell())
    assert outputs[0].ok and outputs[0].raw_output


def test_unreachable_server_is_an_unavailable_error_naming_the_url():
    llm = OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:9/v1", api_key="sk-planted-secret-123", max_retries=0, timeout=5)
    (output,) = llm.generate([{"input": "hi"}])[0]
    assert output.error_kind == "unavailable"
    assert "http://127.0.0.1:9/v1" in output.error and "sk-planted-secret-123" not in output.error
    assert "sk-planted-secret-123" not in repr(llm)


def test_labeller_over_http(llama_server):
    base_url, model = llama_server
    llm = OpenAILLM(model, UltraFeedbackTask(), base_url=base_url, max_new_tokens=64, temperature=0)
    (output,) = llm.generate([{"input": "What is 2+2?", "generations": ["4", "22"]}])[0]
    assert output.raw_output
    assert output.ok or (output.error_kind == "parse" and len(output.parsed_output["rating"]) == 2)


SDK_LOADING = """
import sys
import distilabel_nb
from distilabel_nb import OpenAILLM, TextGenerationTask
named = "openai" in sys.modules
OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:9/v1")
print(named, "openai" in sys.modules)
"""


def test_the_sdk_loads_with_the_first_openai_llm_not_with_the_package():
    """``import distilabel_nb`` stays light; the SDK's second of loading is paid when the backend is built."""
    out = subprocess.run([sys.executable, "-c", SDK_LOADING], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "True"]


def test_clients_share_the_tls_context_their_http_library_would_build(monkeypatch):
    """One context per process, and the library's own kind: the system trust store on macOS."""
    import platform

    import truststore

    from distilabel_nb.llms import openai_http as backend

    a = OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:9/v1")
    b = OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:9/v1")
    assert a.client._client is not b.client._client  # two HTTP clients...
    assert backend._tls_context.cache_info().currsize == 1  # ...one context
    backend._tls_context.cache_clear()
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    try:
        assert isinstance(backend._tls_context("httpx2"), truststore.SSLContext)
    finally:
        backend._tls_context.cache_clear()
