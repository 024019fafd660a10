"""Shared helpers for the benchmarks: the stub server process, timing, tables, machine facts.

Every benchmark measures a reference in the same run and reports ratios against it:
the machine may be busy, so only figures measured side by side are compared. Variants
are run in interleaved rounds (A B C, A B C, …) so that a slow spell hits all of them,
and each figure is the median over the rounds.
"""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

ROOT = Path(__file__).resolve().parent.parent
MODEL = "stub-model"


@contextlib.contextmanager
def stub_server(latency: float = 0.02, model: str = MODEL) -> Iterator[str]:
    """Run ``python -m distilabel_nb.testing`` in its own process; yield its base URL.

    A separate process keeps the server off the client's interpreter lock, so the client
    is what is measured.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "distilabel_nb.testing", "--port", "0", "--latency", str(latency), "--model", model],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise RuntimeError(f"the stub server did not start (exit code {process.poll()})")
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def instructions(count: int) -> list[dict[str, str]]:
    """``count`` distinct instruction rows (column ``input``)."""
    topics = ["prime numbers", "the moon", "bread", "rivers", "chess", "owls", "glass", "tides"]
    return [{"input": f"Write two sentences about {topics[i % len(topics)]} (variant {i})."} for i in range(count)]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def rounds(variants: dict[str, Callable[[], Any]], repeats: int, warmup: bool = True) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Time each variant ``repeats`` times, interleaved; return wall and CPU seconds of each run.

    CPU seconds are this process's (all threads), so a server in another process is not
    counted: on a busy machine they show our own cost when the wall clock is noisy.
    """
    if warmup:
        for fn in variants.values():
            fn()
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return wall, cpu


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table (readable in a terminal and pasteable into the docs)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if value < 1 else f"{value:.2f}"
    return str(value)


def verdict(value: float, goal: float, at_least: bool) -> str:
    ok = value >= goal if at_least else value <= goal
    return f"{'PASS' if ok else 'FAIL'} ({'≥' if at_least else '≤'} {goal:g})"


def machine_facts() -> str:
    """One line: date, CPU, cores, Python, key library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for dist in ("openai", "httpx2", "aiohttp", "llama_cpp_python", "pandas"):
        try:
            from importlib.metadata import version

            versions.append(f"{dist} {version(dist)}")
        except Exception:
            pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{time.strftime('%Y-%m-%d')} · {cpu} · {os.cpu_count()} cores · load {load} · "
        f"Python {platform.python_version()} · {' · '.join(versions)}"
    )


def header(title: str) -> None:
    print(f"\n## {title}\n")
    print(machine_facts() + "\n", flush=True)
