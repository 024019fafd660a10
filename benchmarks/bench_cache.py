"""Call cache: a fully cached re-run of the 2,000-row client benchmark against its first run.

Each round uses a fresh cache database: a first run (every call goes to the stub server,
20 ms latency, concurrency 64, and is stored), then a re-run of the same rows (every
call answered from the cache; no request is sent). The first run with the cache off is
measured too, to show what storing the answers costs.

Goal: the cached re-run ≥ 20× faster than the first run.

Run: ``python benchmarks/bench_cache.py [--rows 2000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import MODEL, header, instructions, median, stub_server, table, verdict  # noqa: E402

CONCURRENCY = 64


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from distilabel_nb import OpenAILLM, Pipeline, TextGenerationTask
    from distilabel_nb.cache import CallCache

    header(f"Cache: {args.rows} rows, concurrency {CONCURRENCY}, 20 ms latency")
    rows = instructions(args.rows)
    times: dict[str, list[float]] = {"first run, cache off": [], "first run, cache on (stores)": [], "cached re-run": []}
    with stub_server(0.02) as base_url, tempfile.TemporaryDirectory() as folder:

        def run(cache) -> float:
            llm = OpenAILLM(MODEL, TextGenerationTask(), base_url=base_url, max_concurrency=CONCURRENCY, cache=cache)
            gc.collect()
            start = time.perf_counter()
            frame = Pipeline(generator=llm).generate(rows, display_progress_bar=False)
            elapsed = time.perf_counter() - start
            assert frame["generation_error"].isna().all()
            return elapsed

        run(False)  # warm-up: imports, connections
        for round_number in range(args.repeats):
            cache = CallCache(Path(folder) / f"round{round_number}.sqlite")
            times["first run, cache off"].append(run(False))
            times["first run, cache on (stores)"].append(run(cache))
            assert len(cache) == args.rows
            times["cached re-run"].append(run(cache))
            cache.close()

    medians = {name: median(t) for name, t in times.items()}
    first = medians["first run, cache on (stores)"]
    print(table(
        ["run", "median s", "rows/s", "× faster than first run", "range s"],
        [[name, s, args.rows / s, first / s, f"{min(times[name]):.3f}–{max(times[name]):.3f}"] for name, s in medians.items()],
    ))
    speedup = first / medians["cached re-run"]
    per_round = median([f / c for f, c in zip(times["first run, cache on (stores)"], times["cached re-run"])])
    print(f"\ncached re-run speed-up: {speedup:.1f}× (median of per-round ratios {per_round:.1f}×) — {verdict(speedup, 20, True)}")
    print(f"cost of storing answers: first run with cache ÷ without: {first / medians['first run, cache off']:.3f}")
    return {"cache_speedup": speedup, "cached_rows_per_s": args.rows / medians["cached re-run"]}


if __name__ == "__main__":
    main()
