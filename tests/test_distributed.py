"""Pipelines on a Dask cluster: two worker processes on this machine, real servers and model.

One ``LocalCluster(n_workers=2, processes=True, threads_per_worker=1)`` serves the module;
the test that kills a worker runs last.
"""

from __future__ import annotations

import io
import os
import pickle
import signal
import sqlite3
import time
import traceback
import warnings

import pandas as pd
import pytest

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")

from distilabel_nb import DryRunError, LlamaCppLLM, OpenAILLM, Pipeline, TextGenerationTask, UltraFeedbackTask  # noqa: E402
from distilabel_nb import distributed as dist  # noqa: E402
from distilabel_nb import schema  # noqa: E402
from distilabel_nb.cache import CallCache  # noqa: E402
from distilabel_nb.errors import RunInterrupted, RunWarning  # noqa: E402
from distilabel_nb.progress_bars import ProgressBars  # noqa: E402
from distilabel_nb.testing import StubServer  # noqa: E402


PACKAGE = os.path.dirname(dist.__file__) + os.sep


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0")
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def assert_same_rows(left, right, **kwargs):
    """The same frames but for the usage columns: latency, cache hits and what they cost differ from run to run."""
    usage = list(schema.USAGE_COLUMNS)
    pd.testing.assert_frame_equal(left.drop(columns=usage, errors="ignore"), right.drop(columns=usage, errors="ignore"), **kwargs)


def questions(n: int, prefix: str = "Question") -> pd.DataFrame:
    return pd.DataFrame({"input": [f"{prefix} {i}: name a colour." for i in range(n)]}, index=pd.RangeIndex(100, 100 + n, name="id"))


def as_dask(data: pd.DataFrame, npartitions: int) -> "dd.DataFrame":
    """A dask DataFrame with the pandas frame's own dtypes (dask would make text string[pyarrow])."""
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_pandas(data, npartitions=npartitions)


def stub_pipeline(server: StubServer, labeller: bool = True, **llm_kwargs) -> Pipeline:
    generator = OpenAILLM("stub-model", TextGenerationTask(), base_url=server.base_url, max_retries=0, max_new_tokens=16, **llm_kwargs)
    rater = OpenAILLM("stub-model", UltraFeedbackTask(), base_url=server.base_url, max_retries=0, max_new_tokens=16, **llm_kwargs)
    return Pipeline(generator=generator, labeller=rater if labeller else None)


# -- without a cluster: what travels to a worker ------------------------------------------------

def test_llms_pickle_without_live_resources_and_keep_their_key(tmp_path):
    with StubServer(api_key="sk-travels-4242", latency=0) as server:
        llm = OpenAILLM("stub-model", TextGenerationTask(), base_url=server.base_url, api_key="sk-travels-4242",
                        cache=CallCache(tmp_path / "calls.sqlite"), max_retries=0)
        assert llm.generate([{"input": "hi"}])[0][0].ok  # client, semaphore and cache now live
        copy = pickle.loads(pickle.dumps(llm))
        assert copy._client is None and copy._semaphore is None
        assert copy.cache.path == str(tmp_path / "calls.sqlite")
        assert copy.generate([{"input": "hi"}])[0][0].cached  # same cache file, reopened
        fresh = copy.generate([{"input": "another"}])[0][0]
        assert fresh.ok and not fresh.cached  # the key travelled: the server accepted it
        assert "sk-travels-4242" not in repr(copy) and "sk-travels-4242" not in copy._repr_html_()


def test_llama_cpp_llm_pickles_without_its_loaded_model(shared_llama):
    llm = LlamaCppLLM(task=TextGenerationTask(), model=shared_llama, max_new_tokens=4)
    copy = pickle.loads(pickle.dumps(llm))
    assert copy._llama is None and copy.model_path == llm.model_path and copy.n_ctx == llm.n_ctx
    assert copy.model_identity == llm.model_identity  # the same cache keys on the other side


def test_dask_options_without_dask_are_refused():
    pipe = Pipeline(generator=OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(ValueError, match="npartitions= and as_pandas= apply to runs on Dask: pass client="):
        pipe.generate([{"input": "a"}], npartitions=2, as_pandas=True)
    with pytest.raises(ValueError, match="as_pandas= applies to runs on Dask"):
        pipe.generate([{"input": "a"}], as_pandas=False)
    with pytest.raises(ValueError, match="npartitions= applies to runs on Dask"):
        pipe.start([{"input": "a"}], npartitions=2)


# -- on the cluster ------------------------------------------------------------------------------

def test_stub_server_dask_dataframe_same_as_local_run(client):
    data = questions(12)
    with StubServer(latency=0.01) as server:
        ddf = dd.from_pandas(data, npartitions=4)  # dask makes text columns string[pyarrow]
        result = stub_pipeline(server).generate(ddf, num_generations=2, display_progress_bar=False)
        assert isinstance(result, dd.DataFrame) and result.npartitions == 4
        distributed_rows = result.compute()
        assert server.request_count == 24  # every call made on the workers, each once
        assert set(server.prompt_counts.values()) == {1}
        local = stub_pipeline(server, cache=False).generate(data, num_generations=2, display_progress_bar=False)
    assert distributed_rows.dtypes.to_dict() == result.dtypes.to_dict()  # partitions match the declared dtypes
    assert distributed_rows["input"].dtype == ddf["input"].dtype  # input columns keep the dask DataFrame's dtypes
    assert [len(g) for g in distributed_rows["generations"]] == [2] * 12  # lists stay lists
    assert_same_rows(distributed_rows, local, check_dtype=False)
    assert list(distributed_rows.index) == list(range(100, 112)) and distributed_rows.index.name == "id"
    assert schema.attached(distributed_rows) == schema.attached(local) is not None  # the result schema, as for a local run


def test_as_pandas_is_the_local_result_exactly(client):
    data = questions(9)
    with StubServer(latency=0.01) as server:
        result = stub_pipeline(server).generate(as_dask(data, 3), as_pandas=True, display_progress_bar=False)
        local = stub_pipeline(server, cache=False).generate(data, display_progress_bar=False)
    assert isinstance(result, pd.DataFrame)
    assert_same_rows(result, local)
    assert result.attrs == local.attrs and schema.attached(result).scores  # the labeller's scale came back from the workers


def test_list_of_dicts_with_client_comes_back_as_pandas_and_reruns_from_cache(client):
    rows = [{"input": f"Row {i}"} for i in range(10)]
    with StubServer(latency=0.01) as server:
        pipe = stub_pipeline(server, labeller=False)
        first = pipe.generate(rows, client=client, npartitions=3, display_progress_bar=False)
        assert isinstance(first, pd.DataFrame) and server.request_count == 10
        again = pipe.generate(rows, client=client, npartitions=5, display_progress_bar=False)
        assert server.request_count == 10  # the workers' shared cache answered everything
        local = stub_pipeline(server, labeller=False, cache=False).generate(rows, display_progress_bar=False)
    assert_same_rows(first, local)
    assert_same_rows(again, local)
    assert again["generation_cached"].all() and again["generation_cost"].sum() == 0
    assert isinstance(pipe.last_run, dist.DaskRun) and pipe.last_run.state.status == "finished"


def test_progress_adds_up_rows_failures_and_tokens_of_all_workers(client):
    data = questions(16)
    data.loc[[103, 108, 113], "input"] = "boom"
    events = []
    with StubServer(latency=0.02, fault_rule=lambda n, body: "500" if "boom" in str(body["messages"]) else None) as server:
        run = stub_pipeline(server).start(as_dask(data, 4), skip_dry_run=True)
        run.subscribe(events.append)
        distributed_rows = run.wait(timeout=60)
        state = run.state
        local_run = stub_pipeline(server, cache=False).start(data, skip_dry_run=True)
        local_run.wait(timeout=60)
    assert state.status == "finished" and state.total_rows == 16
    assert (state.generated, state.labelled, state.done) == (16, 16, 16)
    # the stub answers the labeller's JSON schema (structured="auto"): only the 3 rows without answers fail labelling
    assert state.generation_failures == 3 and state.labelling_failures == 3
    assert state.tokens == local_run.state.tokens > 0
    assert sum(e.kind == "row_done" for e in events) == 16
    assert_same_rows(distributed_rows, local_run.dataframe())


def test_several_generators_show_one_bar_each_with_their_own_failures(client):
    data = questions(12)
    fail = lambda n, body: "500" if body["model"] == "model-b" and "Question 4:" in str(body["messages"]) else None
    stream = io.StringIO()
    with StubServer(model=["model-a", "model-b"], latency=0.01, fault_rule=fail) as server:
        pipe = Pipeline(generator=[OpenAILLM(model, TextGenerationTask(), base_url=server.base_url, max_retries=0, cache=False)
                                   for model in ("model-a", "model-b")])
        bars = ProgressBars(stream)
        run = pipe.start(as_dask(data, 3), skip_dry_run=True)
        bars.follow(run)
        bars.close()
        result = run.wait(timeout=60)
        local = pipe.start(data, skip_dry_run=True)
        local.wait(timeout=60)
    state = run.state
    assert state.generators == local.state.generators == ("model-a", "model-b")
    assert state.generated_by == local.state.generated_by == {"model-a": 12, "model-b": 12}
    assert state.generation_failures_by == local.state.generation_failures_by == {"model-a": 0, "model-b": 1}
    text = stream.getvalue()
    assert "Generating · model-a" in text and "Generating · model-b" in text and "Generating:" not in text
    assert "12/12" in text and "failed=1" in text
    assert_same_rows(result, local.dataframe())


def test_a_worker_s_warning_reaches_the_notebook_once(client):
    """A key rejected on every call: each partition's breaker opens and says so; the notebook says it once."""
    with StubServer(latency=0, api_key="sk-right") as server:
        llm = OpenAILLM("stub-model", TextGenerationTask(), base_url=server.base_url, api_key="sk-wrong", max_retries=0,
                        cache=False, max_concurrency=1)
        pipe = Pipeline(generator=llm)
        stream = io.StringIO()
        bars = ProgressBars(stream)
        run = pipe.start(questions(40), client=client, npartitions=4, skip_dry_run=True)
        bars.follow(run)
        bars.close()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            df = pipe.generate(questions(40), client=client, npartitions=4, skip_dry_run=True, display_progress_bar=False)
        sent = server.request_count
    said = [str(w.message) for w in caught if issubclass(w.category, RunWarning)]
    assert len(said) == 1 and said[0].startswith("stopped calling stub-model: 5 calls in a row failed"), said
    assert run.state.warnings == pipe.last_run.state.warnings == (said[0],)
    assert "backend down: rows not sent" in stream.getvalue()  # the bar's postfix, as in a local run
    assert sent <= 2 * 4 * 5  # each partition's breaker opened after 5 calls: 80 without it
    assert df["generation_error"].str.startswith("not sent: ").sum() >= 40 - 4 * 5


def _wait_for_write_locks(seconds):
    from distilabel_nb import cache

    before, cache.WRITE_WAIT_SECONDS = cache.WRITE_WAIT_SECONDS, seconds
    return before


def test_a_cache_the_workers_cannot_write_keeps_every_answer_and_says_so_once(client, tmp_path):
    """Another process holds the cache file's write lock for the whole run: the workers' writes fail."""
    path = tmp_path / "calls.sqlite"
    CallCache(path)  # the file exists, its tables made
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    waits = client.run(_wait_for_write_locks, 0.05)
    try:
        with StubServer(latency=0) as server:
            llm = OpenAILLM("stub-model", TextGenerationTask(), base_url=server.base_url, max_retries=0, cache=CallCache(path))
            pipe = Pipeline(generator=llm)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                df = pipe.generate(questions(12), client=client, npartitions=3, display_progress_bar=False)
            assert server.request_count == 12
    finally:
        other.execute("ROLLBACK")
        other.close()
        client.run(_wait_for_write_locks, next(iter(waits.values())))
    said = [str(w.message) for w in caught if issubclass(w.category, RunWarning)]
    assert df["generation_error"].isna().all() and all(g[0] for g in df["generations"])
    during = [text for text in said if "writes are retried during the run" in text]
    after = [text for text in said if "answers are in the result but not in the cache" in text]
    assert len(during) == 1 and "database is locked" in during[0], said
    # each partition said it with its worker's count (3 partitions, 2 workers: two counts at least): said once
    assert len(after) == 1 and len(said) == 2, said
    assert after[0].endswith("(figures from one partition; other partitions said the same with other figures)")


def test_a_token_budget_holds_across_the_workers_and_a_larger_one_goes_on(client, tmp_path):
    """Every call uses 40 + 30 tokens; 60 rows would use 4,200: a budget of 3,000 stops the run, whatever the partitions."""
    budget = 3_000
    with StubServer(latency=0.005, usage=lambda body, contents: (40, 30)) as server:
        llm = OpenAILLM("stub-model", TextGenerationTask(), base_url=server.base_url, max_retries=0, max_new_tokens=50,
                        max_concurrency=2, cache=CallCache(tmp_path / "calls.sqlite"))
        pipe = Pipeline(generator=llm)
        df = pipe.generate(questions(60), client=client, npartitions=4, max_tokens=budget, display_progress_bar=False)
        sent, used = server.request_count, server.usage_totals
        state = pipe.last_run.state
        more = pipe.generate(questions(60), client=client, npartitions=4, max_tokens=100_000, display_progress_bar=False)
        assert server.request_count == 60  # the larger budget went on from the cache
        with warnings.catch_warnings(record=True) as caught:  # the notebook and each worker say it: said once
            warnings.simplefilter("always")
            pipe.generate(questions(4), client=client, npartitions=2, max_cost=1.0, display_progress_bar=False)
    spent = used["prompt_tokens"] + used["completion_tokens"]
    assert spent <= budget and spent == sent * 70 == state.prompt_tokens + state.completion_tokens  # counted on the server
    assert spent >= 0.7 * budget  # the partitions shared it: little was held back (41-42 of the 42 calls that fit)
    stopped = df["generation_error"].fillna("").str.startswith("not sent: the run's budget (max_tokens=3,000)")
    assert len(df) == 60 and 0 < sent < 60 and stopped.sum() == 60 - sent and df.loc[~stopped, "generation_error"].isna().all()
    assert more["generation_error"].isna().all() and more["generation_cached"].sum() == sent
    said = [str(w.message) for w in caught if issubclass(w.category, RunWarning)]
    assert len(said) == 1 and said[0].startswith("max_cost=$1 cannot stop this run: every LLM is priced at $0"), said


def test_each_worker_builds_the_pipeline_once_and_loads_the_bundled_model_once(client):
    data = pd.DataFrame({"input": ["Say hi.", "Name a fruit.", "Count to three.", "Name a planet."]})
    before = client.run(dist.worker_report)
    pipe = Pipeline(generator=LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=16, temperature=0))
    result = pipe.generate(as_dask(data, 4), as_pandas=True, display_progress_bar=False)
    after = client.run(dist.worker_report)
    built = {w: after[w]["pipelines_built"] - before[w]["pipelines_built"] for w in after}
    assert sum(built.values()) <= 2 and all(n <= 1 for n in built.values()), built  # 4 partitions, ≤ 1 build per worker
    assert all(after[w]["models_loaded"] <= 1 for w in after) and sum(a["models_loaded"] for a in after.values()) >= 1
    local = Pipeline(generator=LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=16, temperature=0, cache=False))
    assert_same_rows(result, local.generate(data, display_progress_bar=False))
    assert result["generation_error"].isna().all() and all(g[0] for g in result["generations"])


@pytest.mark.slow
def test_llama_cpp_server_same_as_local_run(client, llama_server):
    base_url, model = llama_server
    data = pd.DataFrame({"input": ["What is 2 + 2?", "Name a colour.", "Say thanks.", "Name an animal."]})

    def pipe(**kwargs) -> Pipeline:
        return Pipeline(generator=OpenAILLM(model, TextGenerationTask(), base_url=base_url, max_new_tokens=16, temperature=0, **kwargs))

    result = pipe().generate(data, client=client, npartitions=2, display_progress_bar=False)
    local = pipe(cache=False).generate(data, display_progress_bar=False)
    assert_same_rows(result, local)
    assert result["generation_error"].isna().all()


def test_dry_run_error_comes_back_from_the_workers(client):
    pipe = Pipeline(generator=OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=5))
    with pytest.raises(DryRunError, match="cannot reach http://127.0.0.1:9/v1"):
        pipe.generate(questions(8), client=client, npartitions=2, display_progress_bar=False)
    assert pipe.last_run.state.status == "failed"


def test_missing_columns_are_refused_before_anything_is_sent(client):
    with StubServer(latency=0) as server:
        with pytest.raises(ValueError, match=r"missing column\(s\) \['input'\]") as info:
            stub_pipeline(server).generate(dd.from_pandas(pd.DataFrame({"question": ["a", "b"]}), npartitions=1))
        assert server.request_count == 0
    ours = [f.name for f in traceback.extract_tb(info.value.__traceback__) if f.filename.startswith(PACKAGE)]
    assert ours == ["generate"]  # raised from the public call, not from the executor's checks


def test_an_interrupt_stops_a_dask_run_and_keeps_the_finished_partitions(client, interrupt_when):
    with StubServer(latency=0.1) as server:
        pipe = stub_pipeline(server, labeller=False, max_concurrency=1)
        interrupt_when(lambda: isinstance(pipe.last_run, dist.DaskRun)
                       and any(f.status == "finished" for f in pipe.last_run.partitions))
        with pytest.raises(RunInterrupted) as info:
            pipe.generate(as_dask(questions(40), 8), skip_dry_run=True, as_pandas=True, display_progress_bar=False)
    run, partial = pipe.last_run, info.value.partial_result
    assert run.state.status == "cancelled" and 5 <= len(partial) < 40 and len(partial) % 5 == 0  # whole partitions
    assert partial["generation_error"].isna().all() and list(partial.index) == sorted(partial.index)
    assert str(info.value).startswith(f"Stopped after {run.state.done} of 40 rows; ")
    assert "in `pipe.last_run.dataframe()`" in str(info.value)
    assert_same_rows(partial, run.dataframe())


def test_the_api_key_travels_but_shows_nowhere(client):
    secret = "sk-cluster-secret-9876"
    with StubServer(api_key=secret, latency=0) as server:
        llm = OpenAILLM("stub-model", TextGenerationTask(), base_url=server.base_url, api_key=secret, max_retries=0)
        pipe = Pipeline(generator=llm)
        result = pipe.generate([{"input": f"q{i}"} for i in range(4)], client=client, npartitions=2, display_progress_bar=False)
    assert result["generation_error"].isna().all()  # the server only answers the right key
    run = pipe.last_run
    shown = [repr(run), run._repr_html_(), repr(pipe), result.to_json(), str(client.get_events(dist.PROGRESS_TOPIC)),
             str(client.get_worker_logs()), str(client.get_scheduler_logs()), str([f.key for f in run.partitions])]
    assert not any(secret in text for text in shown)


def test_cancel_stops_the_workers_and_keeps_finished_partitions(client):
    with StubServer(latency=0.1) as server:
        pipe = stub_pipeline(server, labeller=False, max_concurrency=1)
        run = pipe.start(dd.from_pandas(questions(40), npartitions=8), skip_dry_run=True)
        while run.state.done < 3:
            time.sleep(0.02)
        run.cancel()
        assert run.join(timeout=1) and run.state.status == "cancelled"
        time.sleep(dist.STOP_CHECK_SECONDS + 0.5)  # the running partitions see the stop and end their calls
        sent = server.request_count
        time.sleep(0.5)
        assert server.request_count == sent < 40
    partial = run.wait(timeout=5)
    assert len(partial) < 40 and partial["generation_error"].isna().all()


def test_a_worker_killed_mid_run_loses_no_finished_row(client):
    """Kill one worker process half way: its partition runs again, finished calls come from the cache."""
    data = questions(24)
    with StubServer(latency=0.1) as server:
        pipe = stub_pipeline(server, labeller=False, max_concurrency=1)
        run = pipe.start(as_dask(data, 2), client=client)  # one partition of 12 rows per worker
        while run.state.done < 8:  # ~4 rows finished in each worker's partition
            time.sleep(0.02)
        victim = sorted(client.run(os.getpid).values())[0]
        os.kill(victim, signal.SIGKILL)
        result = run.wait(timeout=90)
        counts = server.prompt_counts
        local = stub_pipeline(server, labeller=False, cache=False).generate(data, display_progress_bar=False)
    assert run.state.status == "finished" and run.state.done == 24
    assert len(counts) == 24
    # Only a call in flight when the worker died (max_concurrency=1: at most one) is sent twice;
    # without the cache the killed partition's ~4 finished rows would have been sent again.
    assert sum(counts.values()) <= 25, {p: n for p, n in counts.items() if n > 1}
    assert_same_rows(result, local)
