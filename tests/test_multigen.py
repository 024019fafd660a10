"""Several generators per row, answers shuffled before labelling, and which model wins.

Two generators are two model names on one stub server (real HTTP, the real SDK) and the
bundled model at two temperatures; the judge is scripted to rate by content, so a
rating that did not follow its answer through the shuffle would show.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from scripted import BAD, GOOD, ScriptedLLM, blocks, by_content, by_position, texts_of
from distilabel_nb import OpenAILLM, Pipeline, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.errors import InvalidArgument, InvalidType
from distilabel_nb.export import to_preference_pairs
from distilabel_nb.progress_bars import ProgressBars
from distilabel_nb.schema import LABELLING_ORDER
from distilabel_nb.shuffle import in_order, restore, row_order
from distilabel_nb.testing import StubServer
from distilabel_nb.testing.replies import last_user_text

QUESTIONS = [{"input": f"question {i}?"} for i in range(12)]







def two_models(body, i) -> str:
    """The stub's answers: model-a writes careful answers, model-b nonsense."""
    question = last_user_text(body)
    return f"{GOOD} to {question} ({i})" if body["model"] == "model-a" else f"{BAD} {i}"


def stub_generators(server, **kwargs):
    return [OpenAILLM(name, TextGenerationTask(), base_url=server.base_url, max_retries=0, **kwargs)
            for name in ("model-a", "model-b")]


def test_two_models_answer_every_row_and_ratings_follow_their_answers_through_the_shuffle():
    judge = ScriptedLLM(UltraFeedbackTask(), by_content, name="judge")
    with StubServer(model=["model-a", "model-b"], responder=two_models, latency=0) as server:
        pipe = Pipeline(generator=stub_generators(server), labeller=judge)
        df = pipe.generate(QUESTIONS, num_generations=2, display_progress_bar=False)
        sent = server.request_count
        assert df["generation_model"].tolist() == [["model-a", "model-a", "model-b", "model-b"]] * len(QUESTIONS)
        for _, row in df.iterrows():
            assert [("careful" in text) for text in row["generations"]] == [True, True, False, False]
            assert row["rating"] == [5, 5, 1, 1]  # in the answers' order, whatever order the judge saw
            assert texts_of(row["labelling_prompt"]) == in_order(row["generations"], row[LABELLING_ORDER])
        orders = [tuple(order) for order in df[LABELLING_ORDER]]
        assert len(set(orders)) > 3 and all(sorted(order) == [0, 1, 2, 3] for order in orders)
        # per-generator progress in the run's state
        state = pipe.last_run.state
        assert state.generators == ("model-a", "model-b")
        assert state.generated_by == {"model-a": len(QUESTIONS), "model-b": len(QUESTIONS)}
        from distilabel_nb.display import describe

        assert f"  model-b  {len(QUESTIONS)} / {len(QUESTIONS)}" in describe(state) and "· model-b" in state._repr_html_()
        # a re-run sends the same shuffled prompts: every answer comes from the cache
        calls = len(judge.history)
        again = pipe.generate(QUESTIONS, num_generations=2, display_progress_bar=False)
        assert server.request_count == sent and len(judge.history) == calls
        assert again[LABELLING_ORDER].tolist() == df[LABELLING_ORDER].tolist()
        assert again["rating"].tolist() == df["rating"].tolist()
        assert pipe.last_run.state.generated_by == {"model-a": len(QUESTIONS), "model-b": len(QUESTIONS)}
    pairs = to_preference_pairs(df, strategy="best_each")
    assert set(pairs["chosen_model"]) == {"model-a"} and set(pairs["rejected_model"]) == {"model-b"}
    assert all("careful" in text for text in pairs["chosen"]) and len(pairs) == 2 * len(QUESTIONS)


def test_a_position_judge_is_spread_over_the_answers_by_the_shuffle_and_the_audit_still_finds_it():
    from distilabel_nb.audit import audit_labels

    rows = pd.DataFrame({"input": [f"q{i}" for i in range(20)], "generations": [[GOOD, BAD]] * 20})
    echo = ScriptedLLM(UltraFeedbackTask(), by_position, name="echo")
    shuffled = Pipeline(labeller=echo).generate(rows, display_progress_bar=False)
    kept = Pipeline(labeller=echo).generate(rows, display_progress_bar=False, shuffle_before_labelling=False)
    assert kept["rating"].tolist() == [[1, 2]] * 20 and kept[LABELLING_ORDER].tolist() == [[0, 1]] * 20
    assert {tuple(r) for r in shuffled["rating"]} == {(1, 2), (2, 1)}  # the echo now lands on either answer
    for rating, order in zip(shuffled["rating"], shuffled[LABELLING_ORDER]):
        assert rating == restore([1, 2], order)
    audit = audit_labels(shuffled, echo)  # reverses the order the judge saw, not the answers' order
    assert (audit.position_consistency.count, audit.position_consistency.total) == (0, 20)
    assert audit.position_preference()[0] == 2 and audit.by_position["shown_here_mean"].tolist() == [1.0, 2.0]


def test_the_order_is_the_rows_own_and_the_seed_changes_it():
    inputs = {"input": "q", "generations": ["a", "b", "c", "d"]}
    assert row_order(inputs, "generations") == row_order(dict(inputs), "generations")
    seeds = {tuple(row_order(inputs, "generations", seed)) for seed in range(20)}
    assert len(seeds) > 5
    rows = pd.DataFrame({"input": [f"q{i}" for i in range(8)], "generations": [["a", "b", "c"]] * 8})
    judge = ScriptedLLM(UltraFeedbackTask(), by_content, name="judge")
    first = Pipeline(labeller=judge).generate(rows, display_progress_bar=False, seed=1)
    other = Pipeline(labeller=judge).generate(rows, display_progress_bar=False, seed=2)
    assert first[LABELLING_ORDER].tolist() != other[LABELLING_ORDER].tolist()
    with pytest.raises(InvalidArgument, match="shuffle_before_labelling"):
        Pipeline(labeller=judge).generate(rows, shuffle_before_labelling="yes")
    with pytest.raises(InvalidArgument, match="seed"):
        Pipeline(labeller=judge).generate(rows, seed=1.5)


def test_each_generator_keeps_its_own_concurrency_and_the_bars_show_each_one():
    fast = ScriptedLLM(TextGenerationTask(), lambda p, i: "fast", name="fast", delay=0.01, max_concurrency=2)
    slow = ScriptedLLM(TextGenerationTask(), lambda p, i: "slow", name="slow", delay=0.02, max_concurrency=1)
    pipe = Pipeline(generator=[fast, slow])
    stream = io.StringIO()
    bars = ProgressBars(stream)
    run = pipe.start(QUESTIONS)
    bars.follow(run)
    bars.close()
    df = run.wait()
    assert fast.max_in_flight == 2 and slow.max_in_flight == 1
    assert df["generation_model"].tolist() == [["fast", "slow"]] * len(QUESTIONS)
    text = stream.getvalue()
    assert "Generating · fast" in text and "Generating · slow" in text and f"{len(QUESTIONS)}/{len(QUESTIONS)}" in text


def test_one_generator_failing_a_row_is_counted_for_that_generator_and_the_row_is_not_labelled():
    fail = lambda n, body: "500" if body["model"] == "model-b" and "question 3?" in str(body["messages"]) else None
    judge = ScriptedLLM(UltraFeedbackTask(), by_content, name="judge")
    with StubServer(model=["model-a", "model-b"], responder=two_models, fault_rule=fail, latency=0) as server:
        pipe = Pipeline(generator=stub_generators(server, cache=False), labeller=judge)
        df = pipe.generate(QUESTIONS, display_progress_bar=False)
    state = pipe.last_run.state
    assert state.generation_failures_by == {"model-a": 0, "model-b": 1} and state.generation_failures == 1
    assert df.loc[3, "generation_error"].startswith("generation 2 (model-b): ") and df.loc[3, "labelling_error"].startswith("not labelled")
    assert df.loc[3, "generations"][0].startswith(GOOD)  # the other model's answer is kept
    assert df["labelling_error"].isna().sum() == len(QUESTIONS) - 1


def test_two_generators_of_one_model_are_named_by_their_settings_and_mistakes_are_named():
    a = ScriptedLLM(TextGenerationTask(), name="m", temperature=0.2, cache=False)
    b = a.replace(temperature=1.2)
    pipe = Pipeline(generator=[a, b])
    assert pipe.generators.names == ("m (temperature=0.2)", "m (temperature=1.2)")
    assert pipe.generator is a
    from distilabel_nb.display import describe

    assert "2 models: m (temperature=0.2), m (temperature=1.2)" in pipe._repr_html_()
    assert "generator 2" in describe(pipe) and "temperature=1.2" in describe(pipe)
    named = Pipeline(generator={"cold": a, "hot": b})
    assert named.generate(QUESTIONS[:2], display_progress_bar=False)["generation_model"].tolist() == [["cold", "hot"]] * 2
    assert Pipeline(generator=[a, a]).generators.names == ("m #1", "m #2")
    with pytest.raises(InvalidArgument, match=r"generator=\[\] has no LLM"):
        Pipeline(generator=[])
    with pytest.raises(InvalidType, match="generator 2 must be an LLM"):
        Pipeline(generator=[a, "gpt-4o"])
    from distilabel_nb.tasks import SelfInstructTask

    with pytest.raises(InvalidArgument, match="write different columns"):
        Pipeline(generator=[a, ScriptedLLM(SelfInstructTask())])


def test_win_rates_count_wins_ties_losses_and_the_answers_that_could_not_be_compared():
    from distilabel_nb import compare_models, win_rates

    judge = ScriptedLLM(UltraFeedbackTask(), by_content, name="judge")
    with StubServer(model=["model-a", "model-b"], responder=two_models, latency=0) as server:
        df = Pipeline(generator=stub_generators(server), labeller=judge).generate(QUESTIONS, num_generations=2,
                                                                                 display_progress_bar=False)
    df.loc[5, "labelling_error"] = "text 2: no rating found"  # a failed row is counted, not dropped
    df.at[6, "rating"] = [5, None, 1, 1]  # and so is a missing rating
    table = win_rates(df).set_index("model")
    a, b = table.loc["model-a"], table.loc["model-b"]
    assert list(table.index) == ["model-a", "model-b"]  # the better first
    assert (a.answers, a.failed, a.missing, a.rated) == (24, 2, 1, 21)
    assert (b.answers, b.failed, b.missing, b.rated) == (24, 2, 0, 22)
    # each row compares every answer of one model with every answer of the other: 2 x 2, less the missing one
    assert (a.wins, a.ties, a.losses) == (10 * 4 + 2, 0, 0) and (b.wins, b.ties, b.losses) == (0, 0, 42)
    assert a.win_rate == 1.0 and 0.9 < a.win_rate_low < 1.0 and b.win_rate_high < 0.1
    assert a.mean_rating == 5.0 and b.mean_rating == 1.0
    comparison = compare_models(df)
    assert comparison.verdict().startswith("model-a won 42 of 42 decisive comparisons against the other (100%, 95% CI")
    assert "5 answers could not be compared" in comparison.verdict() and comparison.judge == "judge"
    assert "model-b: win rate 0 of 42" in repr(comparison)
    ties = pd.DataFrame({"generation_model": [["x", "y"]] * 4, "generations": [["p", "q"]] * 4, "rating": [[3, 3]] * 4})
    assert compare_models(ties).verdict().startswith("no comparison was decisive (4 tied, of 4 rows compared)")
    with pytest.raises(ValueError, match=r"needs the column\(s\) \['generation_model'\]"):
        win_rates(ties.drop(columns="generation_model"))


def test_the_win_rate_card_keeps_hostile_model_names_as_text_and_has_a_plot():
    from test_audit_cards import HOSTILE, checked

    from distilabel_nb import compare_models

    df = pd.DataFrame({"generation_model": [[HOSTILE, "plain"], [HOSTILE, "plain"], ["plain", HOSTILE]],
                       "generations": [["x", "y"]] * 3, "rating": [[5, 1], [4, 2], [1, 3]],
                       "labelling_model": [HOSTILE] * 3})
    comparison = compare_models(df)
    page = checked(comparison._repr_html_())
    text = " ".join(page.text)
    assert HOSTILE in text and page.svg_count == 1 and "3 of 3" in text and "win rate" in text
    assert comparison._repr_mimebundle_()["text/plain"] == repr(comparison)
    three = pd.DataFrame({"generation_model": [["a", "b", "c"]] * 2, "generations": [["x", "y", "z"]] * 2,
                          "rating": [[3, 2, 1]] * 2})
    card = compare_models(three)._repr_html_()
    assert "Head to head" in card and len(compare_models(three).pairs) == 6


def by_length(prompt, _i) -> str:
    """A judge that reads the texts: a rating from each text's length (1 to 5)."""
    return blocks(1 + len(text) % 5 for text in texts_of(prompt))


@pytest.mark.slow
def test_the_bundled_model_at_two_temperatures_and_ratings_that_follow_the_answers(shared_llama):
    from distilabel_nb import LlamaCppLLM, compare_models

    cold = LlamaCppLLM(task=TextGenerationTask(), model=shared_llama, max_new_tokens=16, temperature=0.2, seed=3)
    hot = cold.replace(temperature=1.2)
    judge = ScriptedLLM(UltraFeedbackTask(), by_length, name="length judge")
    pipe = Pipeline(generator=[cold, hot], labeller=judge)
    rows = QUESTIONS[:4]
    df = pipe.generate(rows, num_generations=2, display_progress_bar=False)
    names = pipe.generators.names
    assert names == (f"{cold.model_name} (temperature=0.2)", f"{cold.model_name} (temperature=1.2)")
    assert cold.model_name.startswith("SmolLM2-135M-Instruct")
    assert df["generation_error"].isna().all() and df["labelling_error"].isna().all()
    for _, row in df.iterrows():
        assert row["generation_model"] == [names[0]] * 2 + [names[1]] * 2
        assert row["rating"] == [1 + len(text) % 5 for text in row["generations"]]
        assert texts_of(row["labelling_prompt"]) == in_order(row["generations"], row[LABELLING_ORDER])
    assert df["generation_cached"].eq(False).all()
    calls = len(judge.history)
    again = pipe.generate(rows, num_generations=2, display_progress_bar=False)
    assert again["generation_cached"].all() and again["labelling_cached"].all() and len(judge.history) == calls
    assert again["generations"].tolist() == df["generations"].tolist()
    table = compare_models(df).table
    assert set(table["model"]) == set(names) and (table["comparisons"] == 4 * len(rows)).all()


def test_the_panel_adds_and_removes_generators_shows_each_answer_s_model_and_the_win_rate_card():
    import json
    from html import unescape

    from distilabel_nb.widgets import Panel

    def models_and_judge(body, i) -> str:
        if body.get("response_format"):  # the judge (structured UltraFeedback) rates by content
            shown = texts_of(body["messages"][-1]["content"])
            return json.dumps({"ratings": [{"rationale": "ok", "rating": 5 if "careful" in t else 1} for t in shown]})
        return two_models(body, i)

    def on_stub(section, model):
        section.backend.value, section.model.value = "openai", model
        section.base_url.value, section.key_source.value = server.base_url, "none"

    with StubServer(model=["model-a", "model-b", "judge"], responder=models_and_judge, latency=0) as server:
        panel = Panel(pd.DataFrame({"input": [f"question {i}?" for i in range(6)]}))
        panel.cache.value = False
        on_stub(panel.generator, "model-a")
        panel.generator.num_generations.value = 1
        on_stub(panel.labeller, "judge")
        second = panel.add_generator()
        assert len(panel.generator_sections()) == 2 and second.num_generations is None
        on_stub(second, "model-b")
        extra = panel.add_generator(temperature=1.5)
        panel.remove_generator(extra)
        panel.more_generators.add_button.click()  # the tab's buttons do the same
        clicked = panel.generator_sections()[-1]
        assert len(panel.generator_sections()) == 3 and clicked.backend.value == "local"
        with pytest.raises(ValueError, match="add_generator\\(\\) got colour="):
            panel.add_generator(colour="red")
        panel.remove_generator(clicked)
        assert panel.generator_sections() == [panel.generator, second]
        assert "model-b" in unescape(panel.header.value)
        assert panel.run() is not None, (panel.message.value, panel.last_error)
        result = panel.wait(timeout=60)
        assert result["generation_model"].tolist() == [["model-a", "model-b"]] * 6
        assert result["rating"].tolist() == [[5, 1]] * 6  # followed their answers through the shuffle
        assert panel.pipeline.generators.names == ("model-a", "model-b")
        bars = panel.progress.generator_bars  # progress per generator, in place of the one generation bar
        assert list(bars) == ["model-a", "model-b"] and [bar.value for bar, _ in bars.values()] == [6, 6]
        assert "model-b" in unescape(bars["model-b"][1].value) and panel.progress._generation_row.layout.display == "none"
        table = unescape(panel.table.value)
        assert table.count('<span class="dnb-model">model-a</span> a careful') >= 1
        assert '<span class="dnb-model">model-b</span> nonsense' in table
        card = unescape(panel.win_rate_card.value)
        assert "Model comparison" in card and "model-a won 6 of 6 decisive comparisons" in card
        panel.remove_generator(second)  # one generator again: no card
        panel.run() and panel.wait(timeout=60)
        assert panel.pipeline.generators.names == ("model-a",) and panel.win_rate_card.value == ""
        assert panel.progress.generator_bars == {} and panel.progress._generation_row.layout.display == ""
        assert len(panel.progress.widget.children) == 3  # the generation bar, the labelling bar, the numbers


def test_a_pipeline_with_several_generators_opens_a_panel_with_each_of_them():
    a = ScriptedLLM(TextGenerationTask(), lambda p, i: "a", name="a", cache=False)
    b = ScriptedLLM(TextGenerationTask(), lambda p, i: "b", name="b", cache=False)
    panel = Pipeline(generator=[a, b]).panel(pd.DataFrame({"input": ["q1", "q2"]}))
    sections = panel.generator_sections()
    assert [s.given for s in sections] == [a, b] and sections[1].backend.value == "given"
    panel.labeller.enabled.value = False
    assert panel.run() is not None, panel.message.value
    result = panel.wait(timeout=30)
    assert result["generation_model"].tolist() == [["a", "a", "b", "b"]] * 2 and panel.pipeline.generators.names == ("a", "b")
    assert panel._own_llms == []  # a pipeline's own LLMs keep their clients


def test_each_generator_keeps_its_own_cache():
    with StubServer(model=["model-a", "model-b"], responder=two_models, latency=0) as server:
        cached, uncached = stub_generators(server)
        uncached = uncached.replace(cache=False)
        pipe = Pipeline(generator=[cached, uncached])
        pipe.generate(QUESTIONS, display_progress_bar=False)
        first = server.request_count
        again = pipe.generate(QUESTIONS, display_progress_bar=False)
        assert server.request_count - first == len(QUESTIONS)  # only the generator without a cache asks again
        assert {r["model"] for r in server.requests[first:]} == {"model-b"}
        assert again["generation_cached"].eq(False).all()  # a row is cached only when all its answers are


def test_a_replaced_server_llm_keeps_working_once_the_original_is_gone():
    import gc

    with StubServer(model="model-b", responder=two_models, latency=0) as server:
        hot = OpenAILLM("model-b", TextGenerationTask(), base_url=server.base_url, max_retries=0).replace(temperature=1.2)
        gc.collect()  # the original, which built the shared client, is collected here
        assert hot.generate([{"input": "q"}])[0][0].error is None


def test_a_replaced_server_llm_has_rate_limits_of_its_own():
    with StubServer(model=["model-a", "model-b"], responder=two_models, latency=0) as server:
        cold = OpenAILLM("model-a", TextGenerationTask(), base_url=server.base_url, max_retries=0, requests_per_minute=600)
        cold.generate([{"input": "q"}])
        hot = cold.replace(temperature=1.2)
        Pipeline(generator=[cold, hot]).generate(QUESTIONS[:2], display_progress_bar=False)
        assert hot.client is cold.client and hot._limiters is not cold._limiters
        assert hot._limiters["requests"] is not cold._limiters["requests"]


def test_the_examples_in_the_modules_docstrings_run():
    import doctest
    import importlib

    from distilabel_nb import generators, shuffle
    from distilabel_nb.widgets import more_generators

    win_rates = importlib.import_module("distilabel_nb.win_rates")  # the package's name is the function

    for module in (generators, shuffle, win_rates, more_generators):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
    assert doctest.testmod(shuffle).attempted >= 3 and doctest.testmod(win_rates).attempted >= 2
