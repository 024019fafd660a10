"""Usage, prices, budgets and forecasts against the stub server, whose usage per request is known."""

import math
import re
import traceback
import warnings
import zlib

import pandas as pd
import pytest

from distilabel_nb import LlamaCppLLM, OpenAILLM, Pipeline, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.budget import BUDGET_ERROR
from distilabel_nb.cells import dollars as dollars_shown
from distilabel_nb.errors import InvalidArgument
from distilabel_nb.pricing import Price, listed_price, price_of
from distilabel_nb.testing import StubServer

WRITER_PRICE = {"input": 2.0, "output": 8.0}
JUDGE_PRICE = {"input": 1.0, "output": 4.0}


def spread(text: str, low: int, high: int) -> int:
    """A number in [low, high) fixed by the text: the stub's usage varies by row, the same on every run."""
    return low + zlib.crc32(text.encode()) % (high - low)


def question(body) -> str:
    return body["messages"][-1]["content"]


def known_usage(body, contents):
    """Writer: 40 prompt tokens, 10-90 completion tokens by question; judge: 200 + 30."""
    if body["model"] == "judge":
        return 200, 30
    return 40, sum(spread(question(body) + str(i), 10, 90) for i in range(len(contents)))


def reply(body, i):
    if body["model"] == "judge":
        text = question(body)
        a, b = spread(text, 1, 6), spread(text[::-1], 1, 6)
        return f"#### Output for Text 1\nRating: {a}\nRationale: ok\n#### Output for Text 2\nRating: {b}\nRationale: ok"
    return f"answer {i} to {question(body)}"


@pytest.fixture
def server():
    with StubServer(model=["writer", "judge"], latency=0.005, usage=known_usage, responder=reply) as stub:
        yield stub


def stub_pipe(server, *, concurrency=4, writer_price=WRITER_PRICE, judge=True, max_new_tokens=100, **writer_kwargs):
    writer = OpenAILLM("writer", TextGenerationTask(), base_url=server.base_url, max_concurrency=concurrency,
                       price=writer_price, max_new_tokens=max_new_tokens, **writer_kwargs)
    labeller = OpenAILLM("judge", UltraFeedbackTask(structured=False), base_url=server.base_url,
                         max_concurrency=concurrency, price=JUDGE_PRICE, max_new_tokens=64) if judge else None
    return Pipeline(generator=writer, labeller=labeller)


def rows(n, start=0):
    return [{"input": f"question number {i}"} for i in range(start, start + n)]


def dollars(prompt, completion, price):
    return (prompt * price["input"] + completion * price["output"]) / 1e6


def test_per_row_usage_sums_to_what_the_server_reported(server):
    pipe = stub_pipe(server)
    df = pipe.generate(rows(12), num_generations=2, display_progress_bar=False)
    totals = server.usage_totals
    assert totals["answered"] == server.request_count == 24  # one writer and one judge call per row
    gen_prompt, gen_completion = int(df["generation_prompt_tokens"].sum()), int(df["generation_completion_tokens"].sum())
    lab_prompt, lab_completion = int(df["labelling_prompt_tokens"].sum()), int(df["labelling_completion_tokens"].sum())
    assert (gen_prompt, lab_prompt) == (12 * 40, 12 * 200) and lab_completion == 12 * 30
    assert gen_prompt + lab_prompt == totals["prompt_tokens"] and gen_completion + lab_completion == totals["completion_tokens"]
    expected = dollars(gen_prompt, gen_completion, WRITER_PRICE) + dollars(lab_prompt, lab_completion, JUDGE_PRICE)
    assert df["generation_cost"].sum() + df["labelling_cost"].sum() == pytest.approx(expected, rel=1e-12)
    state = pipe.last_run.state
    assert (state.prompt_tokens, state.completion_tokens) == (totals["prompt_tokens"], totals["completion_tokens"])
    assert state.cost == pytest.approx(expected, rel=1e-12)
    assert df["generation_latency_s"].gt(0).all() and not df["generation_cached"].any()
    assert df["generation_cost"].dtype.kind == "f" and set(pipe.result_schema(["input"]).usage) >= {"generation_cost", "labelling_cost"}

    again = pipe.generate(rows(12), num_generations=2, display_progress_bar=False)  # all from the cache
    assert server.request_count == 24 and again["generation_cached"].all() and again["labelling_cached"].all()
    assert again["generation_cost"].sum() == 0 and again["labelling_latency_s"].sum() == 0
    assert again["generation_completion_tokens"].sum() == gen_completion  # what the answers took, as first counted
    assert (pipe.last_run.state.cost, pipe.last_run.state.prompt_tokens) == (0, 0)


def test_prices_given_local_listed_or_unknown(server, model_path):
    task = TextGenerationTask()
    given = OpenAILLM("writer", task, base_url="https://api.example.com/v1", api_key="x", price={"input": 1, "output": 3})
    assert price_of(given).price == Price(input=1, output=3) and price_of(given).source == "given"
    assert price_of(given.replace(max_new_tokens=8)).price == Price(input=1, output=3)
    from distilabel_nb.display import describe, to_html

    assert "$1 / $3 per M tokens in / out (given)" in describe(given) and "(given)" in to_html(given)
    assert price_of(OpenAILLM("writer", task, base_url=server.base_url)).price == Price(input=0, output=0)
    assert price_of(LlamaCppLLM(task, str(model_path))).price == Price(input=0, output=0)
    listed = price_of(OpenAILLM("gpt-4o-mini", task, api_key="sk-test"))
    assert listed.known and listed.price.input > 0 and listed.price.output > listed.price.input and "genai-prices" in listed.source
    unknown = price_of(OpenAILLM("our-own-finetune-7", task, base_url="https://api.example.com/v1", api_key="x"))
    assert not unknown.known and unknown.cost(10, 10) is None and "price=" in str(unknown)
    assert not listed_price("no-such-model-anywhere").known
    for bad in ({"input": -1, "output": 2}, {"input": math.inf, "output": 2}, {"input": "1", "output": 2}, 0.5,
                {"in": 1, "output": 2}):
        with pytest.raises(ValueError, match=r"price=.*allowed: None or \{'input': dollars") as raised:
            OpenAILLM("writer", task, base_url=server.base_url, price=bad)
        assert "unknown parameter" not in str(raised.value)
        ours = [f for f in traceback.extract_tb(raised.value.__traceback__) if "distilabel_nb" in f.filename]
        assert len(ours) <= 2, ours  # raised from the public call
    with pytest.raises(ValueError, match=r"price=-3") as raised:
        given.replace(price=-3)
    assert len([f for f in traceback.extract_tb(raised.value.__traceback__) if "distilabel_nb" in f.filename]) <= 2


def test_an_unknown_price_is_shown_as_unknown_not_as_zero(server, monkeypatch):
    monkeypatch.setattr("distilabel_nb.pricing.LOOPBACK_HOSTS", frozenset())  # the stub as if hosted elsewhere
    unpriced = OpenAILLM("writer", TextGenerationTask(), base_url=server.base_url)
    pipe = Pipeline(generator=unpriced)
    df = pipe.generate(rows(3), display_progress_bar=False)
    assert df["generation_cost"].isna().all() and df["generation_prompt_tokens"].sum() == 3 * 40
    assert pipe.last_run.state.cost is None and pipe.last_run.state.prompt_tokens == 3 * 40
    with pytest.raises(InvalidArgument, match="max_cost= needs the price of 'writer'"):
        pipe.generate(rows(3), max_cost=1, display_progress_bar=False)


def test_the_budget_stops_within_the_calls_in_flight_and_a_larger_one_goes_on(server):
    concurrency, max_new_tokens = 4, 100
    pipe = stub_pipe(server, concurrency=concurrency, judge=False, max_new_tokens=max_new_tokens)
    # A writer call costs at most 40 prompt + 90 completion tokens; 60 rows cost about 60 * (40*2 + 50*8) / 1e6.
    budget = 0.01
    df = pipe.generate(rows(60), max_cost=budget, display_progress_bar=False)
    sent = server.request_count
    stopped = df["generation_error"].fillna("").str.startswith("not sent: the run's budget")
    assert len(df) == 60 and 0 < sent < 60 and stopped.sum() == 60 - sent  # every row back; the unsent ones say why
    assert BUDGET_ERROR.format(limits="max_cost=$0.01") in set(df["generation_error"].dropna())
    spent = pipe.last_run.state.cost
    assert spent <= budget and spent == pytest.approx(df["generation_cost"].sum())
    # It stopped no earlier than it had to: one more call for each call in flight could have gone over.
    reserve = dollars(40 * 4, max_new_tokens, WRITER_PRICE)  # the prompt's reservation is about 4 times its 40 tokens
    assert spent + (concurrency + 1) * reserve > budget
    assert not df.loc[stopped, "generation_cost"].any() and df.loc[~stopped, "generations"].map(len).eq(1).all()

    more = pipe.generate(rows(60), max_cost=1.0, display_progress_bar=False)  # goes on from the cache
    assert more["generation_error"].isna().all() and server.request_count == 60
    assert more["generation_cached"].sum() == sent


def test_a_server_that_reports_no_usage_costs_unknown_and_the_budget_counts_each_call_at_most():
    with StubServer(model="writer", latency=0.002, usage=lambda body, contents: (0, 0)) as server:
        pipe = stub_pipe(server, judge=False, concurrency=2, max_new_tokens=100)
        df = pipe.generate(rows(4), display_progress_bar=False)
        assert df["generation_error"].isna().all() and df["generation_cost"].isna().all()  # paid, but not $0
        assert pipe.last_run.state.cost is None
        budget = 0.01
        capped = pipe.generate(rows(60, start=10), max_cost=budget, display_progress_bar=False)
        sent = server.request_count - 4
    # each call is counted at its reservation, at least its max_new_tokens at the output price
    assert 0 < sent <= budget // dollars(0, 100, WRITER_PRICE)
    assert capped["generation_error"].fillna("").str.startswith("not sent: the run's budget").sum() == 60 - sent


def test_a_dollar_budget_on_models_priced_at_zero_says_it_cannot_stop_the_run(server):
    from distilabel_nb.errors import RunWarning

    free = Pipeline(generator=OpenAILLM("writer", TextGenerationTask(), base_url=server.base_url))  # on this machine: $0
    with pytest.warns(RunWarning, match=r"max_cost=\$1 cannot stop this run: every LLM is priced at \$0: 'writer' "
                                        r"\(server on this machine\)\. If a server forwards to a paid API, pass its price="):
        df = free.generate(rows(3), max_cost=1, display_progress_bar=False)
    assert df["generation_error"].isna().all() and server.request_count == 3
    priced = stub_pipe(server, judge=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RunWarning)
        priced.generate(rows(3), max_cost=1, display_progress_bar=False)


def test_a_token_budget_and_bad_budgets(server):
    pipe = stub_pipe(server, judge=False, concurrency=2, max_new_tokens=50)
    df = pipe.generate(rows(30), max_tokens=1_500, display_progress_bar=False)
    state = pipe.last_run.state
    assert state.prompt_tokens + state.completion_tokens <= 1_500 and 0 < server.request_count < 30
    assert df["generation_error"].notna().sum() == 30 - server.request_count
    sent = server.request_count
    for bad in (0, -1, "10", True, math.nan, math.inf):  # NaN would never stop the run
        with pytest.raises(InvalidArgument, match=r"Invalid max_cost=.*: pass a number > 0 \(the dollars"):
            pipe.generate(rows(2), max_cost=bad, display_progress_bar=False)
    for bad in (0, 1.5, "10", math.nan):
        with pytest.raises(InvalidArgument, match=r"Invalid max_tokens=.*: pass None or an int >= 1 \(the tokens"):
            pipe.generate(rows(2), max_tokens=bad, display_progress_bar=False)
    assert server.request_count == sent  # refused before any call


def test_the_forecast_of_a_sample_covers_the_full_run():
    from distilabel_nb.export import to_preference_pairs

    failing = lambda n, body: "500" if body["model"] == "writer" and spread(question(body), 0, 10) == 0 else None  # noqa: E731
    with StubServer(model=["writer", "judge"], latency=0.002, usage=known_usage, responder=reply, fault_rule=failing) as server:
        pipe = stub_pipe(server, concurrency=8, max_retries=0)
        dataset = pd.DataFrame(rows(200))
        est = pipe.estimate(dataset, sample=30, seed=7, num_generations=2, display_progress_bar=False)
        assert (est.rows, est.sample) == (200, 30) and server.request_count < 60  # the sample only
        full = pipe.generate(dataset, num_generations=2, display_progress_bar=False)
        answered = est.frame.loc[est.frame["generation_error"].isna(), "input"]
        assert len(answered) > 20 and all(server.prompt_counts[q] == 1 for q in answered)  # the sample came from the cache
        # the labeller's too: over the sample and the run, one judge call per row with answers (a row's answers are
        # shown in the same order in both, so the judge's prompt is the same)
        questions = set(dataset["input"])
        judge_calls = sum(n for prompt, n in server.prompt_counts.items() if prompt not in questions)
        assert judge_calls == full["generation_error"].isna().sum()
    priced = {"generation": WRITER_PRICE, "labelling": JUDGE_PRICE}
    full_cost = sum(dollars(full[f"{step}_prompt_tokens"].sum(), full[f"{step}_completion_tokens"].sum(), price)
                    for step, price in priced.items())
    full_tokens = sum(full[f"{step}_{kind}_tokens"].sum() for step in priced for kind in ("prompt", "completion"))
    assert est.cost_interval[0] <= full_cost <= est.cost_interval[1]
    assert est.tokens_interval[0] <= full_tokens <= est.tokens_interval[1]
    assert est.cost_interval[1] - est.cost_interval[0] > 0  # the stub's answers vary: a real interval
    assert est.cost_to_go == pytest.approx(est.cost * 170 / 200)
    failed = full["generation_error"].notna().sum()
    assert 0 < failed and est.failures.low <= failed / 200 <= est.failures.high
    pairs = to_preference_pairs(full)["source_row"].nunique()
    assert est.pairs_interval[0] <= pairs <= est.pairs_interval[1]
    assert est.wall_seconds is not None and est.wall_seconds > 0
    print(f"forecast ${est.cost:.5f} [{est.cost_interval[0]:.5f}, {est.cost_interval[1]:.5f}] vs full ${full_cost:.5f}; "
          f"tokens {est.tokens:.0f} vs {full_tokens}; pairs {est.usable_pairs:.0f} vs {pairs}; failed {est.failures} vs {failed}")


def test_live_cost_in_the_bars_and_the_cards(server, capsys):
    from distilabel_nb.display import describe, to_html

    pipe = stub_pipe(server)
    df = pipe.generate(rows(6), num_generations=2, display_progress_bar=True)
    bars = capsys.readouterr().err
    state = pipe.last_run.state
    assert "Labelling" in bars and "cost=$" in bars and "tokens=" in bars
    shown = f"${state.cost:.2g}"
    assert shown in describe(state) and shown in to_html(pipe.last_run)
    assert ">Run</span>" in to_html(pipe.last_run) and "&lt;class" not in to_html(pipe)  # the kind, not the class's repr
    text = describe(pipe.last_run.state)
    assert f"tokens in / out {state.prompt_tokens:,} / {state.completion_tokens:,}" in text
    assert re.search(rf"cost +{re.escape(dollars_shown(state.cost))} ·", describe(pipe.last_run))  # the run's text twin
    assert [dollars_shown(v) for v in (0.000033, 0.0042, 0.25, 12.345)] == ["$0.000033", "$0.0042", "$0.25", "$12.35"]
    from distilabel_nb.display import show_results

    view = show_results(df)
    assert "generation_cost" not in [c.name for c in view.columns] and f"{shown} · " in describe(view)


def test_the_projection_prices_the_rows_to_do_at_what_a_paid_row_cost():
    from distilabel_nb.run import RunEvent, RunState

    state = RunState(total_rows=100, status="running")
    for row in range(50):  # a run going on from the cache: these rows cost nothing now
        state.apply(RunEvent("row_generated", row, tokens=30))
        state.apply(RunEvent("row_done", row))
    assert state.cost == 0 and state.projected_cost is None  # nothing to price the rest by yet, not "$0"
    for row in range(50, 60):
        state.apply(RunEvent("row_generated", row, tokens=30, prompt_tokens=10, completion_tokens=20, cost=0.01))
        state.apply(RunEvent("row_done", row))
    assert state.projected_cost == pytest.approx(0.10 + 40 * 0.01)  # not 0.10 / 60 rows * 100
    fresh = RunState(total_rows=10, done=5, cost=0.02)  # no cached rows (or a Dask run's totals): the pace so far
    assert fresh.projected_cost == pytest.approx(0.04)


def test_the_estimate_card_and_text_say_the_same(server):
    from distilabel_nb.display import describe, to_html

    pipe = stub_pipe(server)
    est = pipe.estimate(rows(40), sample=8, seed=1, num_generations=2, display_progress_bar=False)
    text, html = describe(est), to_html(est)
    for fact in ("cost", "95% interval", "wall time", "failure rate", "preference pairs", "still to pay"):
        assert fact in text and fact in html
    assert text.startswith("Estimate 40 rows · ~$") and "seed=1" in text
    again = pipe.estimate(rows(40), sample=8, seed=1, num_generations=2, display_progress_bar=False)
    assert again.cost == est.cost and again.wall_seconds is None and "from the cache" in describe(again)
    uncached = Pipeline(generator=pipe.generator.replace(cache=False)).estimate(rows(40), sample=8, display_progress_bar=False)
    assert uncached.cost_to_go == uncached.cost and "pays for them again" in describe(uncached)
    assert "(the sample is not cached: it is paid again)" in describe(uncached) and "(the sample is cached)" in text
    refreshed = Pipeline(generator=pipe.generator.replace(cache="refresh")).estimate(rows(40), sample=8, display_progress_bar=False)
    assert not refreshed.sample_cached and refreshed.cost_to_go == refreshed.cost  # "refresh" asks again: paid again
    whole = Pipeline(generator=pipe.generator.replace(cache=False)).estimate(rows(4), sample=8, display_progress_bar=False)
    assert whole.sample == whole.rows == 4 and "(the sample is not cached" in describe(whole)


def test_bad_estimate_arguments_are_refused_before_any_call(server):
    pipe = stub_pipe(server)
    refused = [
        (dict(sample=0), r"Invalid sample=0: pass an int >= 1"),
        (dict(sample="20"), r"Invalid sample='20': pass an int >= 1"),
        (dict(seed=-1), r"Invalid seed=-1: pass an int >= 0"),
        (dict(seed="x"), r"Invalid seed='x': pass an int >= 0"),
        (dict(min_margin=-1), r"Invalid min_margin=-1: pass a number >= 0"),
        (dict(min_margin="1"), r"Invalid min_margin='1': pass a number >= 0"),
        (dict(num_generations=0), r"Invalid num_generations=0"),
    ]
    for kwargs, message in refused:
        with pytest.raises(InvalidArgument, match=message):
            pipe.estimate(rows(4), display_progress_bar=False, **kwargs)
    for empty in ([], pd.DataFrame({"input": []})):
        with pytest.raises(InvalidArgument, match=r"The dataset has no rows.*pd.DataFrame\(\{'input': \[\.\.\.\]\}\)"):
            pipe.estimate(empty, display_progress_bar=False)
    with pytest.raises(InvalidArgument, match="missing column"):
        pipe.estimate(pd.DataFrame({"question": ["2 + 2?"]}), display_progress_bar=False)
    dd = pytest.importorskip("dask.dataframe")
    with pytest.raises(TypeError, match=r"not a dask DataFrame: pass ddf.compute\(\)"):
        pipe.estimate(dd.from_pandas(pd.DataFrame(rows(4)), npartitions=2), display_progress_bar=False)
    assert server.request_count == 0


def test_on_dask_the_rows_and_the_totals_have_their_usage_and_a_budget_holds(server):
    distributed = pytest.importorskip("distributed")
    pipe = stub_pipe(server, concurrency=2)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as client:
        capped = pipe.generate(pd.DataFrame(rows(4)), client=client, max_cost=1e-6, display_progress_bar=False)
        assert server.request_count == 0  # no call fits in a millionth of a dollar
        assert capped["generation_error"].str.startswith("not sent: the run's budget (max_cost=$1e-06)").all()
        df = pipe.generate(pd.DataFrame(rows(8)), num_generations=2, client=client, npartitions=2, display_progress_bar=False)
    totals, state = server.usage_totals, pipe.last_run.state
    assert len(df) == 8 and df["generation_prompt_tokens"].sum() + df["labelling_prompt_tokens"].sum() == totals["prompt_tokens"]
    assert (state.prompt_tokens, state.completion_tokens) == (totals["prompt_tokens"], totals["completion_tokens"])
    assert state.cost == pytest.approx(df["generation_cost"].sum() + df["labelling_cost"].sum(), rel=1e-9)


def test_the_panel_budget_field_stops_the_run(server):
    pytest.importorskip("ipywidgets")
    pipe = stub_pipe(server, judge=False, concurrency=2, max_new_tokens=50)
    panel = pipe.panel(rows(40))
    panel.data.rows.value = 40
    panel.generator.num_generations.value = 1
    panel.budget.value = 0.004
    panel.run()
    result = panel.wait(timeout=60)
    assert len(result) == 40 and 0 < server.request_count < 40
    assert result["generation_error"].notna().sum() == 40 - server.request_count
    assert panel.pipeline.last_run.state.cost <= 0.004 and "$" in panel.progress.stats.value
    sent = 40 - result["generation_error"].notna().sum()
    assert f"Budget reached: {sent} of 40 rows done; {40 - sent} not sent" in panel.message.value


def test_the_bundled_model_reports_its_usage_and_costs_nothing(shared_llama):
    llm = LlamaCppLLM(task=TextGenerationTask(), model=shared_llama, max_new_tokens=6, temperature=0.0)
    pipe = Pipeline(generator=llm)
    df = pipe.generate(rows(2), display_progress_bar=False)
    assert df["generation_prompt_tokens"].gt(5).all() and df["generation_completion_tokens"].between(1, 6).all()
    assert df["generation_cost"].eq(0).all() and pipe.last_run.state.cost == 0
    assert pipe.last_run.state.prompt_tokens == df["generation_prompt_tokens"].sum()
