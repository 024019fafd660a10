"""Structured output: schemas from pydantic models, validation, and real constrained decoding.

The real-model tests run the bundled SmolLM2-135M-Instruct under a JSON-schema grammar on
llama.cpp (chat and raw-completion paths) and through ``python -m llama_cpp.server``.
"""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from distilabel_nb.llms.llama_cpp import LlamaCppLLM
from distilabel_nb.llms.openai import OpenAILLM
from distilabel_nb.tasks import OutputParseError, Task, UltraFeedbackTask
from distilabel_nb.tasks.base import strict_json_schema

ROW = {"input": "What is 2+2?", "generations": ["4", "22"]}


def answer(*items):
    return json.dumps({"ratings": [{"rationale": r, "rating": v} for r, v in items]})


# -- the schema --
def test_free_text_ultrafeedback_has_no_schema():
    assert UltraFeedbackTask().response_schema(ROW) is None


def test_structured_schema_fixes_the_count_and_the_scale():
    schema = UltraFeedbackTask(structured=True, rationale_max_chars=80).response_schema(ROW)
    ratings = schema["properties"]["ratings"]
    assert (ratings["minItems"], ratings["maxItems"]) == (2, 2)
    item = schema["$defs"]["TextRating"]
    assert item["properties"]["rating"]["enum"] == [1, 2, 3, 4, 5]
    assert item["properties"]["rationale"]["maxLength"] == 80
    assert item["required"] == ["rationale", "rating"] and item["additionalProperties"] is False
    assert schema["required"] == ["ratings"] and schema["additionalProperties"] is False
    three = UltraFeedbackTask(structured=True).response_schema({**ROW, "generations": ["a", "b", "c"]})
    assert three["properties"]["ratings"]["minItems"] == 3


def test_the_scale_of_a_preset_reaches_the_schema():
    from distilabel_nb.tasks.ultrafeedback import RatingLevel

    task = UltraFeedbackTask(structured=True, ratings=[RatingLevel(v, str(v), "") for v in range(0, 11)])
    assert task.response_schema(ROW)["$defs"]["TextRating"]["properties"]["rating"]["enum"] == list(range(11))


def test_the_schema_is_built_once_per_shape():
    task = UltraFeedbackTask(structured=True)
    assert task.response_model(ROW) is UltraFeedbackTask(structured=True).response_model(dict(ROW))


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


# -- reading structured answers --
def test_a_valid_structured_answer_is_read():
    task = UltraFeedbackTask(structured=True)
    parsed = task.parse_output_for(answer(("Right.", 5), ("Wrong.", 1)), ROW)
    assert parsed == {"rating": [5.0, 1.0], "rationale": ["Right.", "Wrong."]}
    fenced = "Here you go:\n```json\n" + answer(("Right.", 4), ("Wrong.", 2)) + "\n```"
    assert task.parse_output_for(fenced, ROW)["rating"] == [4.0, 2.0]
    assert task.parse_output(answer(("Ok.", 3))) == {"rating": [3.0], "rationale": ["Ok."]}


@pytest.mark.parametrize(
    "text, message, partial_ratings",
    [
        (answer(("Right.", 5)), "ratings: List should have at least 2 items", [5.0, None]),
        (answer(("Right.", 5), ("Wrong.", 1), ("Extra.", 3)), "ratings: List should have at most 2 items", [5.0, 1.0]),
        (answer(("Right.", 9), ("Wrong.", 1)), "ratings.0.rating: Input should be 1, 2, 3, 4 or 5", [None, 1.0]),
        (answer(("", 4), ("Wrong.", 1)), "ratings.0.rationale: String should have at least 1 character", [4.0, 1.0]),
        ('{"ratings": [{"rationale": "Right.", "rating": 5}, {"rationale": "Wro', "stops before it is complete (is max_new_tokens too small?)", [None, None]),
        ("I rate them 5 and 1.", "the answer holds no JSON object", [None, None]),
        ('{"scores": [5, 1]}', "ratings: Field required", [None, None]),
        ('{"ratings": [{"rationale": "a", "rating": 5, "extra": 1}, {"rationale": "b", "rating": 2}]}', "ratings.0.extra: Extra inputs are not permitted", [5.0, 2.0]),
    ],
)
def test_answers_that_break_the_schema_are_named_and_salvaged(text, message, partial_ratings):
    with pytest.raises(OutputParseError) as info:
        UltraFeedbackTask(structured=True).parse_output_for(text, ROW)
    assert message in str(info.value)
    assert info.value.partial["rating"] == partial_ratings


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
    assert output.parsed_output["rating"] == [float(item["rating"]) for item in data["ratings"]]


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
        return answer(("Right.", 5)) if "3+3" in last_user_text(body) else answer(("Right.", 5), ("Wrong sum.", 1))

    with StubServer(model="judge", latency=0, responder=respond) as server:
        llm = OpenAILLM("judge", UltraFeedbackTask(structured=True), base_url=server.base_url, cache=False)
        (good,), (short,) = llm.generate([ROW, ROW | {"input": "What is 3+3?"}])
        sent, again = (request["response_format"] for request in server.requests)
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"] == UltraFeedbackTask(structured=True).response_schema(ROW)
    assert again["type"] == "json_schema"  # the server took it: no fallback
    assert good.ok and good.parsed_output == {"rating": [5.0, 1.0], "rationale": ["Right.", "Wrong sum."]}
    assert not short.ok and "2" in short.error and short.error_kind == "parse"  # one rating for two texts


def test_a_server_refusing_json_schema_is_found_out_without_retries():
    """llama.cpp's server answers json_schema with HTTP 500: the first refusal switches the
    LLM to json_object at once, instead of waiting out max_retries rounds of backoff."""
    from distilabel_nb.testing import StubServer

    def refuse(number, body):
        return "no_json_schema" if (body.get("response_format") or {}).get("type") == "json_schema" else None

    with StubServer(model="judge", latency=0, fault_rule=refuse,
                    responder=lambda body, i: answer(("Right.", 5), ("Wrong sum.", 1))) as server:
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
                    responder=lambda body, i: answer(("Right.", 5), ("Wrong sum.", 1))) as server:
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
