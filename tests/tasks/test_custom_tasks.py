"""Custom tasks from a template string: the golden prompt, rendering, parsing, checks, and the sandbox."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from distilabel_nb.tasks import OutputParseError, Task, TemplateTask
from distilabel_nb.tasks.base import SecurityError

from task_cases import GoldenChecks


GOLDEN_CASES = {
    "custom_template": (
        Task.from_template("Summarize in {{ words }} words:\n{{ text }}", inputs=["text"], system_prompt="Be brief.", words=12),
        {"text": "The quick brown fox jumps over the lazy dog."},
    ),
}


class TestGoldenPrompts(GoldenChecks):
    golden = GOLDEN_CASES


def summarize(**kwargs):
    return Task.from_template("Summarize in {{ words }} words:\n{{ text }}", inputs=["text"], words=10, **kwargs)


def test_a_template_task_renders_inputs_and_variables():
    task = summarize(system_prompt="Be brief.", name="Summarize")
    prompt = task.generate_prompt("A long text.")
    assert (prompt.system_prompt, prompt.formatted_prompt) == ("Be brief.", "Summarize in 10 words:\nA long text.")
    assert task.name == "Summarize" and isinstance(task, TemplateTask)
    assert type(task).input_args_names == ["text"] and type(task).output_args_names == ["generations"]
    assert task.kind == "generator" and task.template_source().startswith("Summarize in")
    assert repr(task).startswith("Summarize(")


def test_each_template_task_has_its_own_class():
    one = Task.from_template("{{ a }}", inputs=["a"], outputs=["x"], name="One")
    two = Task.from_template("{{ b }}", inputs=["b"], outputs=["y"], kind="labeller", name="Two")
    assert (one.input_args_names, one.output_args_names, one.kind) == (["a"], ["x"], "generator")
    assert (two.input_args_names, two.output_args_names, two.kind) == (["b"], ["y"], "labeller")


def test_the_template_is_compiled_once(monkeypatch):
    task = summarize()
    compiled = task._template()
    for _ in range(3):
        task.generate_prompt("x")
    assert task._template() is compiled


def test_default_parse_gives_the_stripped_answer_and_refuses_an_empty_one():
    task = summarize()
    assert task.parse_output("  A summary.\n") == {"generations": "A summary."}
    with pytest.raises(OutputParseError, match="empty answer"):
        task.parse_output("  ")


def test_a_parse_function_returning_a_dict_or_a_bare_value():
    words = Task.from_template("List words in {{ text }}", inputs=["text"], outputs=["words"], parse=lambda t: t.split())
    assert words.parse_output("a b") == {"words": ["a", "b"]}
    pair = Task.from_template(
        "Q: {{ q }}", inputs=["q"], outputs=["answer", "confidence"],
        parse=lambda t: {"answer": t.split("|")[0].strip(), "confidence": float(t.split("|")[1])},
    )
    assert pair.parse_output("Paris | 0.9") == {"answer": "Paris", "confidence": 0.9}


def test_parse_failures_become_parse_errors_with_the_cause():
    pair = Task.from_template(
        "Q: {{ q }}", inputs=["q"], outputs=["answer", "confidence"],
        parse=lambda t: {"answer": t.split("|")[0].strip(), "confidence": float(t.split("|")[1])},
    )
    with pytest.raises(OutputParseError, match="parse function failed: IndexError") as info:
        pair.parse_output("Paris")
    assert info.value.partial == {"answer": None, "confidence": None}
    missing = Task.from_template("Q: {{ q }}", inputs=["q"], outputs=["answer", "confidence"], parse=lambda t: {"answer": t})
    with pytest.raises(OutputParseError, match=r"no value for \['confidence'\]") as info:
        missing.parse_output("Paris")
    assert info.value.partial == {"answer": "Paris", "confidence": None}
    wrong_type = Task.from_template("Q: {{ q }}", inputs=["q"], outputs=["a", "b"], parse=lambda t: t)
    with pytest.raises(OutputParseError, match="returned a str; it must return a dict"):
        wrong_type.parse_output("x")


def test_a_parse_function_may_raise_output_parse_error_itself():
    def strict(text):
        raise OutputParseError("no verdict", partial={"verdict": None})

    task = Task.from_template("{{ q }}", inputs=["q"], outputs=["verdict"], parse=strict)
    with pytest.raises(OutputParseError, match="no verdict"):
        task.parse_output("hmm")


class Verdict(BaseModel):
    verdict: bool
    reason: str


def test_an_output_model_makes_a_structured_task():
    task = Task.from_template("Is {{ claim }} true?", inputs=["claim"], output_model=Verdict, kind="labeller")
    assert task.output_args_names == ["verdict", "reason"]
    schema = task.response_schema({"claim": "x"})
    assert schema["required"] == ["verdict", "reason"] and schema["additionalProperties"] is False
    assert task.parse_output('```json\n{"verdict": true, "reason": "known"}\n```') == {"verdict": True, "reason": "known"}
    with pytest.raises(OutputParseError, match="does not match the schema: reason: Field required") as info:
        task.parse_output('{"verdict": false}')
    assert info.value.partial == {"verdict": False, "reason": None}


def test_a_parse_function_result_is_validated_against_the_output_model():
    task = Task.from_template("{{ claim }}", inputs=["claim"], output_model=Verdict,
                              parse=lambda t: {"verdict": t.startswith("yes"), "reason": t[4:] or None})
    assert task.parse_output("yes because") == {"verdict": True, "reason": "because"}
    with pytest.raises(OutputParseError, match="reason: Input should be a valid string"):
        task.parse_output("no")


@pytest.mark.parametrize(
    "template, kwargs, message",
    [
        ("Hello {{ name", {"inputs": ["name"]}, "template syntax error on line 1"),
        ("{{ text }} in {{ language }}", {"inputs": ["text"]}, "uses ['language'], which is neither an input"),
        ("  ", {"inputs": ["text"]}, "the template is empty"),
        ("{{ a }}", {"inputs": []}, "inputs must be a non-empty list"),
        ("{{ a }}", {"inputs": "a"}, "inputs must be a non-empty list"),
        ("{{ a }}", {"inputs": ["a"], "outputs": ["x", "y"]}, "need a parse= function"),
        ("{{ a }}", {"inputs": ["a"], "kind": "judge"}, "kind must be 'generator' or 'labeller'"),
        ("{{ a }}", {"inputs": ["a"], "name": "my task"}, "name must be a Python identifier"),
        ("{{ a }}", {"inputs": ["a"], "a": 1}, "both an input and a variable"),
        ("{{ a }}", {"inputs": ["a"], "outputs": ["x"], "output_model": Verdict}, "outputs must be the fields of output_model"),
    ],
)
def test_mistakes_in_a_custom_task_are_named_on_construction(template, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Task.from_template(template, **kwargs)


def test_non_callable_parse_and_bad_output_model_are_type_errors():
    with pytest.raises(TypeError, match="parse must be a function"):
        Task.from_template("{{ a }}", inputs=["a"], parse="split")
    with pytest.raises(TypeError, match="output_model must be a pydantic BaseModel"):
        Task.from_template("{{ a }}", inputs=["a"], output_model=dict)


def test_jinja_builtins_still_work_in_the_sandbox():
    task = Task.from_template(
        "{% for item in items %}{{ loop.index }}. {{ item | upper }}\n{% endfor %}{{ items | length }} {{ range(3) | list }}",
        inputs=["items"],
    )
    assert task.generate_prompt(["a", "b"]).formatted_prompt == "1. A\n2. B\n2 [0, 1, 2]"


# Templates that try to climb out of the sandbox. Literal "_" names are refused when the
# task is made; the others get past that check and are stopped by the sandbox at render.
ATTACKS_REFUSED_AT_CONSTRUCTION = [
    "{{ ''.__class__.__mro__ }}",
    "{{ text.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ text['__class__'] }}",
    "{{ self._TemplateReference__context }}",
    "{{ text | attr('__class__') | attr('__mro__') }}",
    "{{ cycler | attr('__init__') | attr('__globals__') }}",
]
ATTACKS_STOPPED_WHEN_RENDERED = [
    "{{ text | attr('_' ~ '_class__') }}",
    "{{ text | attr('_' ~ '_class__') | attr('_' ~ '_mro__') }}",
    "{{ cycler | attr('_' ~ '_init__') | attr('_' ~ '_globals__') }}",
    "{% set name = '_' ~ '_globals__' %}{{ lipsum | attr(name) }}",
    "{{ '{0.__class__.__mro__}'.format(text) }}",
    "{{ text[('_' ~ '_class_' ~ '_')] }}",
    "{% set parts = [] %}{{ parts.append(1) }}",
    "{{ {}.update(a=1) }}",
]


@pytest.mark.parametrize("template", ATTACKS_REFUSED_AT_CONSTRUCTION)
def test_templates_naming_python_internals_are_refused(template):
    with pytest.raises(ValueError, match="templates may not reach Python internals") as info:
        Task.from_template(template, inputs=["text"])
    assert isinstance(info.value.__cause__, SecurityError)


@pytest.mark.parametrize("template", ATTACKS_STOPPED_WHEN_RENDERED)
def test_the_sandbox_stops_indirect_attacks_with_a_clear_value_error(template):
    task = Task.from_template(template, inputs=["text"])
    with pytest.raises(ValueError, match="the sandbox stopped its template") as info:
        task.generate_prompt("hello")
    assert isinstance(info.value.__cause__, SecurityError)


def test_a_sandbox_violation_is_a_row_input_error_in_a_run(scripted_llm):
    task = Task.from_template("{{ text | attr('_' ~ '_class__') }}", inputs=["text"])
    llm = scripted_llm(task)
    (output,) = llm.generate([{"text": "hello"}])[0]
    assert output.error_kind == "input" and "sandbox stopped" in output.error
    assert llm.history == []


def test_a_template_task_survives_pickling():
    """Tasks travel to worker processes (pickle, or cloudpickle for a lambda parse)."""
    import pickle

    import cloudpickle

    task = Task.from_template("Shout {{ text }} in {{ lang }}", inputs=["text"], outputs=["loud"], parse=str.upper,
                              name="Shout", kind="labeller", system_prompt="s", lang="en")
    for dumps, loads in ((pickle.dumps, pickle.loads), (cloudpickle.dumps, cloudpickle.loads)):
        copy = loads(dumps(task))
        assert (copy.name, copy.kind, copy.input_args_names, copy.output_args_names) == ("Shout", "labeller", ["text"], ["loud"])
        assert copy.generate_prompt("hi") == task.generate_prompt("hi")
        assert copy.parse_output("ok") == {"loud": "OK"}
    with_lambda = cloudpickle.loads(cloudpickle.dumps(Task.from_template("{{ a }}", inputs=["a"], outputs=["n"], parse=lambda t: len(t))))
    assert with_lambda.parse_output("abc") == {"n": 3}
    structured = pickle.loads(pickle.dumps(Task.from_template("{{ claim }}", inputs=["claim"], output_model=Verdict)))
    assert structured.parse_output('{"verdict": true, "reason": "r"}') == {"verdict": True, "reason": "r"}
