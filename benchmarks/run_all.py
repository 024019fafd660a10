"""Run every benchmark, each in its own process, and print their tables (``make bench``).

Run: ``python benchmarks/run_all.py [--quick] [--output results.md]``

``--quick`` runs fewer rows and repeats (a smoke test of the scripts, not figures to
report). Benchmarks use a temporary call cache, never the user's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BENCHMARKS = [
    ("bench_client.py", [], ["--rows", "300", "--repeats", "1"]),
    ("bench_cache.py", [], ["--rows", "300", "--repeats", "1"]),
    ("bench_startup.py", [], ["--repeats", "3", "--rows", "300", "--first-row-repeats", "1"]),
    ("bench_local.py", [], ["--rows", "4", "--repeats", "1"]),
    ("bench_batched_decode.py", [], ["--rows", "4", "--repeats", "1"]),
    ("bench_memory.py", [], ["--sizes", "1000", "5000"]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rows and repeats: check that the scripts run")
    parser.add_argument("--output", type=Path, help="also write everything printed to this file")
    parser.add_argument("--only", nargs="*", help="run only the scripts whose names contain these words")
    args = parser.parse_args()

    log = args.output.open("w") if args.output else None
    failures = []
    with tempfile.TemporaryDirectory() as cache_dir:
        env = dict(os.environ, DISTILABEL_NB_CACHE_DIR=cache_dir, PYTHONUNBUFFERED="1")
        for script, full, quick in BENCHMARKS:
            if args.only and not any(word in script for word in args.only):
                continue
            started = time.perf_counter()
            process = subprocess.Popen([sys.executable, str(HERE / script), *(quick if args.quick else full)],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            assert process.stdout is not None
            for line in process.stdout:
                print(line, end="", flush=True)
                if log:
                    log.write(line)
            if process.wait() != 0:
                failures.append(script)
            note = f"\n({script}: {time.perf_counter() - started:.0f} s)\n"
            print(note, flush=True)
            if log:
                log.write(note)
    if log:
        log.close()
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
