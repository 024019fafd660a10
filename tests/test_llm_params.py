"""Generation parameters are validated on construction with errors that name the fix."""

import pytest

from distilabel_nb import TextGenerationTask
from distilabel_nb.llms.base import make_generation_params


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": 3}, "temperature=3 (allowed: float >= 0.0 and <= 2.0)"),
        ({"temperature": -0.1}, "temperature=-0.1 (allowed: float >= 0.0 and <= 2.0)"),
        ({"max_new_tokens": 0}, "max_new_tokens=0 (allowed: int >= 1 and <= 1000000)"),
        ({"top_p": 0}, "top_p=0 (allowed: float > 0.0 and <= 1.0)"),
        ({"presence_penalty": 5}, "presence_penalty=5 (allowed: float >= -2.0 and <= 2.0)"),
        ({"max_tokens": 5}, "unknown parameter 'max_tokens'"),
        ({"temperature": "hot"}, "temperature='hot'"),
    ],
)
def test_bad_parameter_names_the_parameter_and_the_range(kwargs, message, scripted_llm):
    with pytest.raises(ValueError) as info:
        scripted_llm(TextGenerationTask(), **kwargs)
    assert message in str(info.value)


def test_good_parameters_are_kept():
    params = make_generation_params(temperature=0.2, max_new_tokens=12, seed=3, stop=["\n"])
    assert (params.temperature, params.max_new_tokens, params.seed, params.stop) == (0.2, 12, 3, ["\n"])


@pytest.mark.parametrize("value", [0, -1, 1.5, "2"])
def test_bad_max_concurrency(value, scripted_llm):
    with pytest.raises(ValueError, match="max_concurrency"):
        scripted_llm(TextGenerationTask(), max_concurrency=value)


def test_generate_rejects_a_single_dict_and_bad_num_generations(scripted_llm):
    llm = scripted_llm(TextGenerationTask())
    with pytest.raises(TypeError, match=r"wrap a single row as \[row\]"):
        llm.generate({"input": "x"})
    with pytest.raises(ValueError, match="num_generations"):
        llm.generate([{"input": "x"}], num_generations=0)
