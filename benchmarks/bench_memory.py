"""Memory and scale: peak RSS of a run at 10,000 and 100,000 rows.

Each size runs in a fresh process against the stub server (its own process, 0 ms
latency), ``TextGenerationTask``, concurrency 64, cache off. Reported per size: the
resident memory before the run (interpreter, libraries, the input rows), the peak during
it, the size of the returned DataFrame, and the most asyncio tasks alive on the runtime
loop during the run — the pending work, which must stay bounded by the concurrency
whatever the number of rows.

The result itself grows with the rows (every answer and prompt is kept); what must not
grow is the work in flight.

Run: ``python benchmarks/bench_memory.py [--sizes 10000 100000]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, header, stub_server, table  # noqa: E402

ONE_SIZE = textwrap.dedent(
    """
    import asyncio, gc, json, resource, sys, time
    from distilabel_nb import OpenAILLM, Pipeline, TextGenerationTask, runtime

    def rss_mb():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024

    count = int(sys.argv[2])
    rows = [{"input": f"Write two sentences about rivers (variant {i})."} for i in range(count)]
    warm = OpenAILLM("stub-model", TextGenerationTask(), base_url=sys.argv[1], max_concurrency=64, cache=False)
    Pipeline(generator=warm).generate(rows[:200], display_progress_bar=False)  # imports, loop, connections
    del warm
    gc.collect()
    before = rss_mb()
    llm = OpenAILLM("stub-model", TextGenerationTask(), base_url=sys.argv[1], max_concurrency=64, cache=False)
    most_tasks = [0]
    loop = runtime.get_loop()

    def count_tasks(event):
        if event.kind == "row_done" and event.row % 97 == 0:
            most_tasks[0] = max(most_tasks[0], len(asyncio.all_tasks(loop)))

    pipe = Pipeline(generator=llm)
    start = time.perf_counter()
    run = pipe.start(rows)
    run.subscribe(count_tasks)
    frame = run.wait()
    elapsed = time.perf_counter() - start
    assert len(frame) == count and frame["generation_error"].isna().all()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": count, "before_mb": before, "peak_mb": peak, "seconds": elapsed,
                      "frame_mb": frame.memory_usage(deep=True).sum() / 2**20, "most_tasks": most_tasks[0]}))
    """
)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args(argv)

    header(f"Memory: peak RSS by rows (stub server, 0 ms latency, concurrency 64, cache off)")
    results = []
    with stub_server(0.0) as base_url:
        for size in args.sizes:
            out = subprocess.run([sys.executable, "-c", ONE_SIZE, base_url, str(size)],
                                 capture_output=True, text=True, cwd=ROOT)
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-2000:])
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(table(
        ["rows", "RSS before MB", "peak RSS MB", "growth MB", "growth KB/row", "DataFrame MB", "most asyncio tasks", "rows/s"],
        [[r["rows"], r["before_mb"], r["peak_mb"], r["peak_mb"] - r["before_mb"],
          1024 * (r["peak_mb"] - r["before_mb"]) / r["rows"], r["frame_mb"], r["most_tasks"], r["rows"] / r["seconds"]]
         for r in results],
    ))
    summary: dict[str, float] = {}
    if len(results) >= 2:
        small, large = results[0], results[-1]
        summary["peak_ratio"] = large["peak_mb"] / small["peak_mb"]
        summary["growth_ratio"] = (large["peak_mb"] - large["before_mb"]) / max(small["peak_mb"] - small["before_mb"], 1e-9)
        print(f"\npeak RSS {large['rows']:,} ÷ {small['rows']:,} rows: {summary['peak_ratio']:.2f}× "
              f"(rows ×{large['rows'] / small['rows']:g}); growth during the run: {summary['growth_ratio']:.1f}×; "
              f"asyncio tasks alive at most: {small['most_tasks']} vs {large['most_tasks']}")
    return summary


if __name__ == "__main__":
    main()
