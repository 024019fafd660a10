"""Client throughput: rows/s of ``Pipeline.generate`` against an OpenAI-compatible server.

2,000 rows of ``TextGenerationTask`` at concurrency 64 against the stub server (its own
process, 20 ms per answer), cache off. References in the same run, all sending the same
JSON body at the same concurrency:

* a bare aiohttp loop (the machine's ceiling for this server);
* raw ``AsyncOpenAI`` loops, one per transport the SDK offers: its default (httpx2), a
  legacy ``httpx.AsyncClient``, and ``openai.DefaultAioHttpClient`` (``openai[aiohttp]``);
* a raw loop of the same SDK call that ``OpenAILLM`` makes (the client's ``post`` with a
  plain JSON body, read back as JSON, on the aiohttp transport): the gap to it is our own
  overhead.

Then our ``Pipeline.generate`` (generator only), and generator + labeller
(``UltraFeedbackTask``, twice the requests).

Goals: pipeline ≥ 0.9× the fastest raw ``AsyncOpenAI.chat.completions.create`` loop; generator + labeller
≤ 2.2× the generator-only time.

Run: ``python benchmarks/bench_client.py [--rows 2000] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import MODEL, header, instructions, median, rounds, stub_server, table, verdict  # noqa: E402

CONCURRENCY = 64


def request_bodies(base_url: str, rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The exact JSON bodies our OpenAILLM sends for these rows."""
    from distilabel_nb import OpenAILLM, TextGenerationTask

    llm = OpenAILLM(MODEL, TextGenerationTask(), base_url=base_url, cache=False)
    return [
        {"messages": llm.format_prompt(llm.task.generate_prompt(**row)), **llm._request_kwargs(1)}
        for row in rows
    ]


async def _workers(bodies: list[dict[str, Any]], send: Callable[[dict[str, Any]], Any]) -> None:
    """``CONCURRENCY`` workers taking bodies from one shared iterator."""
    todo = iter(bodies)

    async def worker() -> None:
        for body in todo:
            await send(body)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


def bare_aiohttp(base_url: str, bodies: list[dict[str, Any]]) -> Callable[[], None]:
    import aiohttp

    async def main() -> None:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        headers = {"Authorization": "Bearer no-key"}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            url = f"{base_url}/chat/completions"

            async def send(body: dict[str, Any]) -> None:
                async with session.post(url, json=body) as response:
                    response.raise_for_status()
                    answer = await response.json()
                    assert answer["choices"][0]["message"]["content"]

            await _workers(bodies, send)

    return lambda: asyncio.run(main())


def raw_openai(base_url: str, bodies: list[dict[str, Any]], transport: str, untyped: bool = False) -> Callable[[], None]:
    """A plain loop of ``client.chat.completions.create`` (or, ``untyped``, of the
    client's own ``post`` with a plain JSON body, read back as JSON — what OpenAILLM does)."""

    async def main() -> None:
        import openai

        http_client = None
        if transport == "aiohttp":
            http_client = openai.DefaultAioHttpClient()
        elif transport == "httpx":
            import httpx

            http_client = httpx.AsyncClient(
                timeout=120, limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100)
            )
        async with openai.AsyncOpenAI(base_url=base_url, api_key="no-key", http_client=http_client) as client:

            async def send(body: dict[str, Any]) -> None:
                if untyped:
                    answer = await client.post("/chat/completions", body=body, cast_to=object)
                    assert answer["choices"][0]["message"]["content"]
                else:
                    response = await client.chat.completions.create(**body)
                    assert response.choices[0].message.content

            await _workers(bodies, send)

    return lambda: asyncio.run(main())


def pipeline_run(base_url: str, rows: list[dict[str, str]], labelled: bool) -> Callable[[], None]:
    from distilabel_nb import OpenAILLM, Pipeline, TextGenerationTask, UltraFeedbackTask

    def run() -> None:
        generator = OpenAILLM(MODEL, TextGenerationTask(), base_url=base_url, max_concurrency=CONCURRENCY, cache=False)
        labeller = (
            OpenAILLM(MODEL, UltraFeedbackTask(), base_url=base_url, max_concurrency=CONCURRENCY, cache=False)
            if labelled else None
        )
        frame = Pipeline(generator=generator, labeller=labeller).generate(rows, display_progress_bar=False)
        assert len(frame) == len(rows) and frame["generation_error"].isna().all(), frame["generation_error"].dropna().head()
        if labelled:  # the stub's free text has no rating: a parse error, but every call was answered
            assert frame["raw_labelling_response"].notna().all()

    return run


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--only", nargs="*", help="run only these variants")
    args = parser.parse_args(argv)

    rows = instructions(args.rows)
    header(f"Client throughput: {args.rows} rows, concurrency {CONCURRENCY}, {args.latency * 1000:g} ms latency, cache off")
    with stub_server(args.latency) as base_url:
        bodies = request_bodies(base_url, rows)
        variants = {
            "bare aiohttp loop (ceiling)": bare_aiohttp(base_url, bodies),
            "raw AsyncOpenAI, httpx2 (SDK default)": raw_openai(base_url, bodies, "httpx2"),
            "raw AsyncOpenAI, httpx.AsyncClient": raw_openai(base_url, bodies, "httpx"),
            "raw AsyncOpenAI, DefaultAioHttpClient": raw_openai(base_url, bodies, "aiohttp"),
            "raw AsyncOpenAI.post (untyped), DefaultAioHttpClient": raw_openai(base_url, bodies, "aiohttp", untyped=True),
            "Pipeline.generate (generator)": pipeline_run(base_url, rows, labelled=False),
            "Pipeline.generate (generator + labeller)": pipeline_run(base_url, rows, labelled=True),
        }
        if args.only:
            variants = {k: v for k, v in variants.items() if any(o in k for o in args.only)}
        times, cpu = rounds(variants, args.repeats)

    medians = {name: median(t) for name, t in times.items()}
    # The goal's reference: the typed ``create`` loops a user would write.
    raw = {n: s for n, s in medians.items() if n.startswith("raw AsyncOpenAI,")}
    fastest_raw = min(raw, key=raw.get) if raw else None
    ceiling = medians.get("bare aiohttp loop (ceiling)")
    result_rows = []
    for name, seconds in medians.items():
        requests = args.rows * (2 if "labeller" in name else 1)
        result_rows.append([
            name, seconds, args.rows / seconds, requests / seconds,
            ceiling / seconds if ceiling else "", medians[fastest_raw] / seconds if fastest_raw else "",
            f"{min(times[name]):.3f}–{max(times[name]):.3f}", 1000 * median(cpu[name]) / requests,
        ])
    print(table(
        ["variant", "median s", "rows/s", "requests/s", "× bare aiohttp", "× fastest raw", "range s",
         "client CPU ms/request"],
        result_rows,
    ))
    summary: dict[str, float] = {}
    gen = medians.get("Pipeline.generate (generator)")
    if gen and fastest_raw:
        summary["pipeline_vs_fastest_raw"] = medians[fastest_raw] / gen
        per_round = median([r / g for r, g in zip(times[fastest_raw], times["Pipeline.generate (generator)"])])
        print(f"\nfastest raw AsyncOpenAI loop: {fastest_raw}")
        print(f"Pipeline.generate ÷ fastest raw (rows/s): {summary['pipeline_vs_fastest_raw']:.3f} "
              f"(median of per-round ratios {per_round:.3f}) — {verdict(summary['pipeline_vs_fastest_raw'], 0.9, True)}")
        same_call = "raw AsyncOpenAI.post (untyped), DefaultAioHttpClient"
        if same_call in medians:
            summary["pipeline_vs_same_call"] = medians[same_call] / gen
            print(f"Pipeline.generate ÷ raw loop of the same SDK call (our own overhead): {summary['pipeline_vs_same_call']:.3f}")
    both = medians.get("Pipeline.generate (generator + labeller)")
    if gen and both:
        summary["labelled_vs_generator_time"] = both / gen
        print(f"generator + labeller time ÷ generator-only time: {both / gen:.3f} — {verdict(both / gen, 2.2, False)}")
    summary.update({f"seconds:{k}": v for k, v in medians.items()})
    return summary


if __name__ == "__main__":
    main()
