"""Start-up: import time against pandas alone, and time to the first finished row.

Imports are timed inside fresh interpreters (the interpreter's own start is not
counted), many times, interleaved, and the medians compared:

* ``import pandas`` — the reference (every run returns a DataFrame);
* ``import distilabel_nb`` — the package (backends, widgets and the SDK load on use);
* ``from distilabel_nb import Pipeline, OpenAILLM, LlamaCppLLM, TextGenerationTask,
  UltraFeedbackTask`` — what a notebook's first cell usually does.

Time to first finished row: a fresh process runs the 2,000-row client benchmark
(stub server in its own process, 20 ms latency, concurrency 64, cache off) and notes
when the first row is done, counted from the ``start`` call and from the process start;
a second run in the same process shows the warm figure. The first ``OpenAILLM`` of a
process loads the openai SDK: that time is reported on its own line.

Goals: ``import distilabel_nb`` ≤ 1.3× ``import pandas``; first row ≤ 5% of the run.

Run: ``python benchmarks/bench_startup.py [--repeats 15]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, header, median, stub_server, table, verdict  # noqa: E402

IMPORTS = {
    "import pandas": "import pandas",
    "import distilabel_nb": "import distilabel_nb",
    "from distilabel_nb import Pipeline, OpenAILLM, …": (
        "from distilabel_nb import Pipeline, OpenAILLM, LlamaCppLLM, TextGenerationTask, UltraFeedbackTask"
    ),
}

FIRST_ROW = textwrap.dedent(
    """
    import time
    process_start = time.perf_counter()
    import json, sys
    from distilabel_nb import OpenAILLM, Pipeline, TextGenerationTask
    imported = time.perf_counter()
    rows = [{"input": f"Write two sentences about rivers (variant {i})."} for i in range(int(sys.argv[2]))]
    results = []
    for attempt in ("cold", "warm"):
        building = time.perf_counter()
        llm = OpenAILLM("stub-model", TextGenerationTask(), base_url=sys.argv[1], max_concurrency=64, cache=False)
        built = time.perf_counter()
        pipe = Pipeline(generator=llm)
        first = []
        start = time.perf_counter()
        run = pipe.start(rows)
        run.subscribe(lambda event: first.append(time.perf_counter()) if event.kind == "row_done" and not first else None)
        run.wait()
        end = time.perf_counter()
        if not first:  # the first row finished before the subscription: read it from the events' clock
            raise SystemExit("missed the first row")
        results.append({"attempt": attempt, "first_row": first[0] - start, "run": end - start,
                        "first_row_from_process_start": first[0] - process_start, "import": imported - process_start,
                        "build_llm": built - building})
    print(json.dumps(results))
    """
)


def time_import(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip())


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--first-row-repeats", type=int, default=3)
    args = parser.parse_args(argv)

    header("Start-up")
    for statement in IMPORTS.values():  # warm the file system cache and .pyc files
        time_import(statement)
    times: dict[str, list[float]] = {name: [] for name in IMPORTS}
    for _ in range(args.repeats):
        for name, statement in IMPORTS.items():
            times[name].append(time_import(statement))
    medians = {name: median(t) for name, t in times.items()}
    pandas_s = medians["import pandas"]
    print(table(
        ["import (fresh interpreter)", "median ms", "× import pandas", "range ms"],
        [[name, 1000 * s, s / pandas_s, f"{1000 * min(times[name]):.0f}–{1000 * max(times[name]):.0f}"]
         for name, s in medians.items()],
    ))
    per_round = median([d / p for d, p in zip(times["import distilabel_nb"], times["import pandas"])])
    import_ratio = medians["import distilabel_nb"] / pandas_s
    print(f"\nimport distilabel_nb ÷ import pandas: {import_ratio:.3f} (median of per-round ratios {per_round:.3f}) — "
          f"{verdict(import_ratio, 1.3, False)}")
    common_ratio = medians["from distilabel_nb import Pipeline, OpenAILLM, …"] / pandas_s
    print(f"from distilabel_nb import Pipeline, OpenAILLM, … ÷ import pandas: {common_ratio:.3f}")

    results = []
    with stub_server(0.02) as base_url:
        for _ in range(args.first_row_repeats):
            out = subprocess.run([sys.executable, "-c", FIRST_ROW, base_url, str(args.rows)],
                                 capture_output=True, text=True, check=True, cwd=ROOT)
            results.extend(json.loads(out.stdout.strip().splitlines()[-1]))
    print()
    summary_rows = []
    share: dict[str, float] = {}
    for attempt in ("cold", "warm"):
        mine = [r for r in results if r["attempt"] == attempt]
        first_row, run = median([r["first_row"] for r in mine]), median([r["run"] for r in mine])
        share[attempt] = median([r["first_row"] / r["run"] for r in mine])
        summary_rows.append([
            f"{attempt} ({'first run in a fresh process' if attempt == 'cold' else 'second run'})",
            1000 * first_row, run, args.rows / run, 100 * share[attempt],
        ])
    print(table(["run", "first row ms (from start())", f"{args.rows}-row run s", "rows/s", "first row % of run"],
                summary_rows))
    from_start = median([r["first_row_from_process_start"] for r in results if r["attempt"] == "cold"])
    build = {a: median([r["build_llm"] for r in results if r["attempt"] == a]) for a in ("cold", "warm")}
    print(f"\nfirst row from process start (imports included): {1000 * from_start:.0f} ms")
    print(f"building the OpenAILLM: {1000 * build['cold']:.0f} ms the first time in a process (it loads the "
          f"openai SDK), {1000 * build['warm']:.1f} ms the second")
    print(f"first row ÷ run, cold: {100 * share['cold']:.1f}% — {verdict(100 * share['cold'], 5, False)} (in %)")
    print(f"first row ÷ run, warm: {100 * share['warm']:.1f}% — {verdict(100 * share['warm'], 5, False)} (in %)")
    return {"import_ratio": import_ratio, "common_import_ratio": common_ratio,
            "first_row_share_cold": share["cold"], "first_row_share_warm": share["warm"]}


if __name__ == "__main__":
    main()
