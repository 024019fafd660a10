"""Structured output: strict schemas from pydantic models, and real constrained decoding.

UltraFeedback's own structured schema and answers are tested with the family, in
``test_ultrafeedback.py``.

The real-model tests run the bundled SmolLM2-135M-Instruct under a JSON-schema grammar on
llama.cpp (chat and raw-completion paths) and through ``python -m llama_cpp.server``.
"""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from distilabel_nb.llms.llama_cpp import LlamaCppLLM
from distilabel_nb.llms.openai import OpenAILLM
from distilabel_nb.tasks import Task, UltraFeedbackTask
from distilabel_nb.tasks.structured import strict_json_schema

from task_cases import ROW, structured_answer

QUICKSTART = [  # the rows of notebooks/01_quickstart, where free text failed on every row
    {"input": "Give me two tips for writing clear emails.",
     "generations": ["Keep it short and put the request first.", "Use a clear subject line."]},
    {"input": "What is the boiling point of water at sea level?", "generations": ["100 °C.", "About 50 °C."]},
    {"input": "Write a two-line poem about autumn.", "generations": ["Leaves fall slow,\nthe year lets go.", "Autumn."]},
]







def test_strict_schema_tightens_nested_objects():
    class Inner(BaseModel):
        x: int = 0

    class Outer(BaseModel):
        inner: Inner
        note: str = ""

    class Tricky(BaseModel):
        properties: dict[str, int]
        items: list[Inner] | None = None

    schema = strict_json_schema(Outer)
    assert schema["required"] == ["inner", "note"] and schema["$defs"]["Inner"]["required"] == ["x"]
    assert schema["$defs"]["Inner"]["additionalProperties"] is False
    tricky = strict_json_schema(Tricky)  # fields named like schema keywords stay fields
    assert tricky["required"] == ["properties", "items"]
    assert "required" not in tricky["properties"]["properties"]




# -- real constrained decoding --
def structured_llm(model, **kwargs):
    task = UltraFeedbackTask(structured=True, rationale_max_chars=40)
    return LlamaCppLLM(task=task, model=model, max_new_tokens=64, temperature=0, **kwargs)


def assert_schema_followed(output, count=2):
    data = json.loads(output.raw_output)
    assert len(data["ratings"]) == count
    assert all(item["rating"] in range(1, 6) and 1 <= len(item["rationale"]) <= 40 for item in data["ratings"])
    # SmolLM2 under a grammar sometimes copies the "<one sentence>" placeholder: valid JSON,
    # but no rationale, which the task reports.
    assert output.ok or "the rationale is the placeholder" in output.error, output.error
    assert output.parsed_output["rating"] == [int(item["rating"]) for item in data["ratings"]]


@pytest.mark.slow
def test_llama_cpp_chat_path_decodes_under_the_schema(shared_llama):
    rows = [ROW, {"input": "Name a prime.", "generations": ["7", "9", "11"]}]
    first, second = (outputs[0] for outputs in structured_llm(shared_llama).generate(rows))
    assert_schema_followed(first, 2)
    assert_schema_followed(second, 3)


@pytest.mark.slow
def test_llama_cpp_raw_completion_path_decodes_under_the_grammar(shared_llama):
    (output,) = structured_llm(shared_llama, prompt_format="chatml").generate([ROW])[0]
    assert_schema_followed(output, 2)


@pytest.mark.slow
def test_openai_backend_against_llama_cpp_server(llama_server):
    """llama_cpp.server rejects response_format type "json_schema" (HTTP 500); the backend
    then sends the schema inside {"type": "json_object", "schema": ...}, which the server
    turns into a grammar. The answer must follow the schema."""
    base_url, model = llama_server
    task = UltraFeedbackTask(structured=True, rationale_max_chars=40)
    llm = OpenAILLM(model, task, base_url=base_url, max_new_tokens=64, temperature=0)
    (output,) = llm.generate([ROW])[0]
    assert_schema_followed(output, 2)
    assert llm._response_format({"type": "object"})["type"] == "json_object"


def test_openai_backend_sends_the_schema_as_json_schema_to_a_server_that_takes_it():
    from distilabel_nb.testing import StubServer, last_user_text

    def respond(body, i):  # one rating for the second row's two answers: breaks the schema
        return structured_answer(("Right.", 5)) if "3+3" in last_user_text(body) else structured_answer(("Right.", 5), ("Wrong sum.", 1))

    with StubServer(model="judge", latency=0, responder=respond) as server:
        llm = OpenAILLM("judge", UltraFeedbackTask(structured=True), base_url=server.base_url, cache=False)
        (good,), (short,) = llm.generate([ROW, ROW | {"input": "What is 3+3?"}])
        sent, again = (request["response_format"] for request in server.requests)
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"] == UltraFeedbackTask(structured=True).response_schema(ROW)
    assert again["type"] == "json_schema"  # the server took it: no fallback
    assert good.ok and good.parsed_output == {"rating": [5, 1], "rationale": ["Right.", "Wrong sum."]}
    assert not short.ok and "2" in short.error and short.error_kind == "parse"  # one rating for two texts


def test_a_server_refusing_json_schema_is_found_out_without_retries():
    """llama.cpp's server answers json_schema with HTTP 500: the first refusal switches the
    LLM to json_object at once, instead of waiting out max_retries rounds of backoff."""
    from distilabel_nb.testing import StubServer

    def refuse(number, body):
        return "no_json_schema" if (body.get("response_format") or {}).get("type") == "json_schema" else None

    with StubServer(model="judge", latency=0, fault_rule=refuse,
                    responder=lambda body, i: structured_answer(("Right.", 5), ("Wrong sum.", 1))) as server:
        llm = OpenAILLM("judge", UltraFeedbackTask(structured=True), base_url=server.base_url, max_retries=4, cache=False)
        (first,), (second,) = llm.generate([ROW, ROW | {"input": "What is 3+3?"}])
        kinds = [request["response_format"]["type"] for request in server.requests]
    assert first.ok and second.ok, (first.error, second.error)
    # One try per row at most with json_schema (both rows may start before the first refusal
    # comes back), none of them retried; then json_object for every row.
    assert kinds.count("json_schema") <= 2 and kinds.count("json_object") == 2, kinds
    assert llm._schema_style == "json_object" and llm._schema_style_known


def test_a_transient_failure_of_the_first_schema_request_is_still_retried():
    from distilabel_nb.testing import StubServer

    with StubServer(model="judge", latency=0, faults={1: "503"},
                    responder=lambda body, i: structured_answer(("Right.", 5), ("Wrong sum.", 1))) as server:
        llm = OpenAILLM("judge", UltraFeedbackTask(structured=True), base_url=server.base_url, max_retries=2, cache=False)
        ((output,),) = llm.generate([ROW])
        kinds = [request["response_format"]["type"] for request in server.requests]
    assert output.ok and kinds == ["json_schema", "json_schema"]  # the 503, then the answer
    assert llm._schema_style == "json_schema" and llm._schema_style_known


@pytest.mark.slow
def test_llama_cpp_server_refuses_the_json_schema_response_format(llama_server):
    """Pins the server behaviour the fallback above exists for: llama-cpp-python's server
    validates response_format.type against 'text' | 'json_object' and answers HTTP 500
    (a pydantic literal_error) to 'json_schema'."""
    import openai

    base_url, model = llama_server
    client = openai.OpenAI(base_url=base_url, api_key="none", max_retries=0)
    schema = UltraFeedbackTask(structured=True).response_schema(ROW)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(
            model=model, max_tokens=4, messages=[{"role": "user", "content": "hi"}],
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}},
        )
    assert info.value.status_code == 500
    assert "Input should be 'text' or 'json_object'" in str(info.value) and "json_schema" in str(info.value)


def test_a_custom_structured_task_on_the_llama_cpp_backend(shared_llama):
    class Capital(BaseModel):
        city: str

    task = Task.from_template("What is the capital of {{ country }}? Answer in JSON.", inputs=["country"], output_model=Capital)
    llm = LlamaCppLLM(task=task, model=shared_llama, max_new_tokens=24, temperature=0)
    (output,) = llm.generate([{"country": "France"}])[0]
    assert output.ok, output.error
    assert isinstance(output.parsed_output["city"], str)


# -- structured="auto": on where the backend can enforce a schema --
def test_auto_follows_what_the_backend_can_constrain(scripted_llm):
    task = UltraFeedbackTask()
    assert task.structured == "auto" and task.response_schema(ROW) is None  # no backend yet: free text
    remote = OpenAILLM("judge", task, base_url="http://127.0.0.1:9/v1", cache=False)
    assert OpenAILLM.can_constrain_output and remote.task.structured is True
    assert remote.task.response_schema(ROW) == UltraFeedbackTask(structured=True).response_schema(ROW)
    assert scripted_llm(task).task.structured is False  # a backend that cannot: the free-text layout
    assert task.structured == "auto"  # the user's task is not changed; each LLM holds its own copy
    for explicit in (True, False):
        assert OpenAILLM("judge", UltraFeedbackTask(structured=explicit), base_url="http://127.0.0.1:9/v1").task.structured is explicit


def test_auto_calls_share_the_cache_keys_of_the_explicit_setting(scripted_llm):
    """Explicit ``structured=True``/``False`` keep their prompts and keys; ``"auto"`` reuses them."""
    url = "http://127.0.0.1:9/v1"

    def keys(llm):
        return llm.prepare(ROW, 2).keys

    assert keys(OpenAILLM("judge", UltraFeedbackTask(), base_url=url)) == keys(OpenAILLM("judge", UltraFeedbackTask(structured=True), base_url=url))
    free = scripted_llm(UltraFeedbackTask(structured=False), name="judge")
    auto = scripted_llm(UltraFeedbackTask(), name="judge")
    auto.respond = free.respond  # the scripted model's identity includes its responder
    assert keys(auto) == keys(free)
    assert "Answer in exactly this layout" in UltraFeedbackTask().generate_prompt(**ROW).formatted_prompt


def test_the_default_labeller_sends_its_schema_to_an_openai_compatible_server():
    from distilabel_nb.testing import StubServer

    with StubServer(model="judge", latency=0, responder=lambda body, i: structured_answer(("Right.", 5), ("Wrong sum.", 1))) as server:
        (output,) = OpenAILLM("judge", UltraFeedbackTask(), base_url=server.base_url, cache=False).generate([ROW])[0]
        (request,) = server.requests
    assert request["response_format"]["json_schema"]["schema"] == UltraFeedbackTask(structured=True).response_schema(ROW)
    assert output.ok and output.parsed_output["rating"] == [5, 1]


@pytest.mark.slow
def test_the_default_labeller_on_the_bundled_model_rates_every_quickstart_row(shared_llama):
    """The quickstart's first labelling run: plain ``UltraFeedbackTask()``, every row read."""
    llm = LlamaCppLLM(task=UltraFeedbackTask(), model=shared_llama, max_new_tokens=256, temperature=0, cache=False)
    outputs = [row[0] for row in llm.generate(QUICKSTART)]
    assert [o.error for o in outputs] == [None] * 3
    assert all(len(o.parsed_output["rating"]) == 2 and set(o.parsed_output["rating"]) <= set(range(1, 6)) for o in outputs)
    assert all("Answer with JSON only" in o.prompt_used[-1]["content"] for o in outputs)
