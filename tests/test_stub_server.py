"""Tests for the OpenAI-compatible stub server, through real HTTP and the real SDK."""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import aiohttp
import openai
import pydantic
import pytest

from distilabel_nb.testing import StubServer, instance_from_schema

MODEL = "stub-model"


def client(
    server: StubServer, *, api_key: str = "test-key", timeout: float = 5.0, max_retries: int = 0
) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=api_key, max_retries=max_retries, timeout=timeout)


def ask(c: openai.OpenAI, prompt: str = "hello", **kwargs):
    kwargs.setdefault("model", MODEL)
    return c.chat.completions.create(messages=[{"role": "user", "content": prompt}], **kwargs)


def raw_post(server: StubServer, body: object, timeout: float = 5.0, headers: dict | None = None):
    """POSTs with urllib; returns (status, headers, raw body bytes) even for HTTP errors."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        server.base_url + "/chat/completions",
        data=data,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def body(prompt: str = "hello", **extra) -> dict:
    return {"model": MODEL, "messages": [{"role": "user", "content": prompt}], **extra}


# --------------------------------------------------------------------- happy path


def test_chat_completion_follows_openai_schema():
    with StubServer(latency=0.0) as server:
        status, headers, raw = raw_post(server, body("one two three"))
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    data = json.loads(raw)
    assert set(data) >= {"id", "object", "created", "model", "choices", "usage"}
    assert data["object"] == "chat.completion"
    assert data["model"] == MODEL
    assert isinstance(data["created"], int)
    [choice] = data["choices"]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"]
    usage = data["usage"]
    assert usage["prompt_tokens"] == 3
    assert usage["completion_tokens"] == len(choice["message"]["content"].split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_default_reply_is_deterministic_and_depends_on_the_prompt():
    with StubServer(latency=0.0) as server:
        c = client(server)
        first = ask(c, "alpha").choices[0].message.content
        again = ask(c, "alpha").choices[0].message.content
        other = ask(c, "beta").choices[0].message.content
    assert first == again
    assert first != other
    assert "alpha" in first and "beta" in other


def test_n_is_honoured_with_distinct_choices():
    with StubServer(latency=0.0) as server:
        reply = ask(client(server), n=3)
    assert [ch.index for ch in reply.choices] == [0, 1, 2]
    assert len({ch.message.content for ch in reply.choices}) == 3


def test_n_can_be_ignored_like_some_servers():
    with StubServer(latency=0.0, honour_n=False) as server:
        reply = ask(client(server), n=3)
    assert len(reply.choices) == 1


def test_custom_responder_gets_request_and_choice_index():
    seen = []

    def responder(request_json: dict, index: int) -> str:
        seen.append((request_json["temperature"], index))
        return f"custom-{index}"

    with StubServer(latency=0.0, responder=responder) as server:
        reply = ask(client(server), n=2, temperature=0.5)
    assert [ch.message.content for ch in reply.choices] == ["custom-0", "custom-1"]
    assert seen == [(0.5, 0), (0.5, 1)]


def test_latency_delays_each_reply():
    with StubServer(latency=0.3) as server:
        c = client(server)
        start = time.perf_counter()
        ask(c)
        elapsed = time.perf_counter() - start
    assert elapsed >= 0.3


def test_models_endpoint_lists_configured_models():
    with StubServer(["m-a", "m-b"], latency=0.0) as server:
        c = client(server)
        assert [m.id for m in c.models.list()] == ["m-a", "m-b"]
        assert ask(c, model="m-b").model == "m-b"


# --------------------------------------------------------------------- errors


def test_wrong_model_is_404_not_found_with_openai_error_body():
    with StubServer(latency=0.0) as server:
        with pytest.raises(openai.NotFoundError) as info:
            ask(client(server), model="no-such-model")
        status, _, raw = raw_post(server, body(model="no-such-model"))
    assert info.value.status_code == 404
    assert status == 404
    error = json.loads(raw)["error"]
    assert {"message", "type", "code"} <= set(error)
    assert error["code"] == "model_not_found"
    assert "no-such-model" in error["message"]


def test_api_key_is_checked_and_never_stored():
    with StubServer(latency=0.0, api_key="sk-right") as server:
        with pytest.raises(openai.AuthenticationError) as info:
            ask(client(server, api_key="sk-wrong"))
        with pytest.raises(openai.AuthenticationError):
            client(server, api_key="sk-wrong").models.list()
        assert ask(client(server, api_key="sk-right")).choices[0].message.content
        recorded = json.dumps(server.requests)
    assert info.value.status_code == 401
    assert info.value.body["code"] == "invalid_api_key"
    assert "sk-right" not in recorded and "sk-wrong" not in recorded


def test_invalid_json_request_is_400_and_not_counted():
    with StubServer(latency=0.0) as server:
        status, _, raw = raw_post(server, b"{not json")
        assert status == 400
        assert json.loads(raw)["error"]["type"] == "invalid_request_error"
        assert server.request_count == 0


# --------------------------------------------------------------------- faults


@pytest.mark.parametrize("retry_after, header", [(1, "1"), (2.5, "2.5")])
def test_fault_429_is_rate_limit_error_with_retry_after(retry_after, header):
    with StubServer(latency=0.0, faults={1: "429"}, retry_after=retry_after) as server:
        c = client(server)
        with pytest.raises(openai.RateLimitError) as info:
            ask(c)
        assert ask(c).choices[0].message.content  # only request 1 is faulted
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == header
    assert info.value.body["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize("fault", ["500", "503"])
def test_fault_5xx_is_internal_server_error(fault):
    with (
        StubServer(latency=0.0, faults={1: fault}) as server,
        pytest.raises(openai.InternalServerError) as info,
    ):
        ask(client(server))
    assert info.value.status_code == int(fault)
    assert info.value.body["type"] == "server_error"


def test_fault_hang_makes_the_client_time_out():
    with StubServer(latency=0.0, faults={1: "hang"}, hang_seconds=5.0) as server:
        c = client(server, timeout=0.3)
        start = time.perf_counter()
        with pytest.raises(openai.APITimeoutError):
            ask(c)
        assert time.perf_counter() - start < 2.0
        assert ask(c).choices[0].message.content  # the server is still healthy


def test_fault_hang_closes_the_connection_after_hang_seconds():
    with StubServer(latency=0.0, faults={1: "hang"}, hang_seconds=0.3) as server:
        start = time.perf_counter()
        with pytest.raises(http.client.RemoteDisconnected):
            raw_post(server, body(), timeout=5.0)
        assert 0.3 <= time.perf_counter() - start < 3.0


def test_stopping_the_server_releases_hanging_requests():
    server = StubServer(latency=0.0, faults={1: "hang"}, hang_seconds=30.0).start()
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            ask(client(server, timeout=20.0))
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    while server.request_count == 0:
        time.sleep(0.01)
    start = time.perf_counter()
    server.stop()
    thread.join(timeout=5)
    assert time.perf_counter() - start < 0.5  # aiohttp alone would wait its 1 s shutdown timeout
    assert not thread.is_alive()
    assert type(outcome[0]) is openai.APIConnectionError


def test_fault_drop_is_a_connection_error():
    with StubServer(latency=0.0, faults={1: "drop"}) as server:
        c = client(server)
        start = time.perf_counter()
        with pytest.raises(openai.APIConnectionError) as info:
            ask(c)
        assert time.perf_counter() - start < 2.0
        assert ask(c).choices[0].message.content
    assert type(info.value) is openai.APIConnectionError  # not a timeout
    with StubServer(latency=0.0, faults={1: "drop"}) as server, pytest.raises(http.client.RemoteDisconnected):
        raw_post(server, body())


def test_fault_malformed_body_raises_json_decode_error_in_the_sdk():
    with StubServer(latency=0.0, faults={1: "malformed", 2: "malformed"}) as server:
        status, headers, raw = raw_post(server, body())
        assert status == 200
        assert headers["Content-Type"].startswith("application/json")
        with pytest.raises(json.JSONDecodeError):
            json.loads(raw)
        # The SDK does not wrap this: it is a bare json.JSONDecodeError, not an openai error.
        with pytest.raises(json.JSONDecodeError) as info:
            ask(client(server))
    assert not isinstance(info.value, openai.OpenAIError)


def test_fault_empty_returns_empty_content():
    with StubServer(latency=0.0, faults={1: "empty"}) as server:
        c = client(server)
        reply = ask(c, n=2)
        assert ask(c).choices[0].message.content != ""
    assert [ch.message.content for ch in reply.choices] == ["", ""]
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens == 0


def test_fault_rule_faults_every_matching_request():
    def rule(number: int, request_json: dict) -> str | None:
        return "500" if request_json["messages"][-1]["content"].startswith("bad") else None

    with StubServer(latency=0.0, fault_rule=rule, faults={3: "503"}) as server:
        c = client(server)
        for prompt in ["bad 1", "bad 2"]:
            with pytest.raises(openai.InternalServerError) as info:
                ask(c, prompt)
            assert info.value.status_code == 500
        with pytest.raises(openai.InternalServerError) as info:
            ask(c, "bad 3")  # request 3: the `faults` entry wins over the rule
        assert info.value.status_code == 503
        assert ask(c, "good").choices[0].message.content


def test_unknown_fault_name_is_rejected():
    with pytest.raises(ValueError, match="unknown fault"):
        StubServer(faults={1: "teapot"})
    assert StubServer(faults={1: 429}).faults == {1: "429"}


# --------------------------------------------------------------------- counters


def test_sdk_retries_are_counted_per_request_and_per_prompt():
    with StubServer(latency=0.0, faults={1: "429", 2: "429"}, retry_after=0.01) as server:
        reply = ask(client(server, max_retries=2), "retry me")
        assert reply.choices[0].message.content
        assert server.request_count == 3
        assert server.prompt_counts == {"retry me": 3}
        assert [r["messages"][-1]["content"] for r in server.requests] == ["retry me"] * 3


def test_prompt_counts_are_keyed_by_last_user_message():
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "answer"},
        {"role": "user", "content": [{"type": "text", "text": "second question"}]},
        {"role": "assistant", "content": "prefilled"},
    ]
    with StubServer(latency=0.0) as server:
        c = client(server)
        c.chat.completions.create(model=MODEL, messages=messages)
        c.chat.completions.create(model=MODEL, messages=messages)
        ask(c, "other")
        assert server.prompt_counts == {"second question": 2, "other": 1}
        assert server.requests[0]["messages"] == messages
        server.reset()
        assert (server.request_count, server.prompt_counts, server.requests) == (0, {}, [])


def test_counts_are_exact_under_concurrency():
    async def burst(base_url: str) -> list[int]:
        async with aiohttp.ClientSession() as session:

            async def one(i: int) -> int:
                async with session.post(f"{base_url}/chat/completions", json=body(f"p{i % 10}")) as resp:
                    await resp.read()
                    return resp.status

            return await asyncio.gather(*(one(i) for i in range(300)))

    with StubServer(latency=0.01, faults={7: "500", 50: "503"}) as server:
        statuses = asyncio.run(burst(server.base_url))
        assert server.request_count == 300
        assert len(server.requests) == 300
        assert server.prompt_counts == {f"p{i}": 30 for i in range(10)}
    assert sorted(statuses)[-2:] == [500, 503]
    assert statuses.count(200) == 298


# --------------------------------------------------------------------- response_format


def test_response_format_json_object_returns_json():
    with StubServer(latency=0.0) as server:
        reply = ask(client(server), response_format={"type": "json_object"})
    assert isinstance(json.loads(reply.choices[0].message.content), dict)


def test_response_format_json_schema_works_with_sdk_parse():
    class Inner(pydantic.BaseModel):
        tag: str

    class Out(pydantic.BaseModel):
        name: str
        score: int
        ratio: float
        ok: bool
        inner: Inner
        items: list[Inner]
        kind: str = "default-kind"

    with StubServer(latency=0.0) as server:
        c = client(server)
        parse = getattr(c.chat.completions, "parse", None) or c.beta.chat.completions.parse  # older SDKs
        reply = parse(model=MODEL, messages=[{"role": "user", "content": "hi"}], response_format=Out)
    parsed = reply.choices[0].message.parsed
    expected = Out(name="x", score=1, ratio=1.0, ok=True, inner=Inner(tag="x"), items=[], kind="default-kind")
    assert parsed == expected


def test_instance_from_schema_minimal_instances():
    schema = {
        "type": "object",
        "required": ["a", "b", "c", "d"],
        "properties": {
            "a": {"type": "string", "enum": ["red", "blue"]},
            "b": {"type": "array", "items": {"type": "integer", "minimum": 5}, "minItems": 2},
            "c": {"anyOf": [{"type": "null"}, {"type": "string", "minLength": 3}]},
            "d": {"type": ["null", "number"]},
            "optional": {"type": "string"},
        },
    }
    assert instance_from_schema(schema) == {"a": "red", "b": [5, 5], "c": "xxx", "d": 1.0}


# --------------------------------------------------------------------- CLI


def test_cli_serves_in_foreground_and_prints_base_url():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distilabel_nb.testing",
            "--port",
            "0",
            "--latency",
            "0",
            "--model",
            "cli-model",
            "--fault",
            "1=503",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        c = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0, timeout=5)
        with pytest.raises(openai.InternalServerError):
            ask(c, model="cli-model")
        assert ask(c, model="cli-model").model == "cli-model"
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
