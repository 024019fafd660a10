"""The stub server's command line: ``python -m distilabel_nb.testing``.

Serves in the foreground until Ctrl-C or SIGTERM and prints its base URL alone on the
first line of stdout, so that a script (the benchmarks) can read it.

Example:
    ``python -m distilabel_nb.testing --port 8000 --latency 0.02 --model stub-model --fault 3=500``
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from distilabel_nb.testing.faults import FAULTS
from distilabel_nb.testing.stub_server import StubServer

__all__ = ["main"]


def _parse_fault(text: str) -> tuple[int, str]:
    number, _, name = text.partition("=")
    if not name or name not in FAULTS:
        raise argparse.ArgumentTypeError(f"expected N=FAULT with FAULT in {sorted(FAULTS)}, got {text!r}")
    return int(number), name


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: serve in the foreground until Ctrl-C.

    Example:
        ``python -m distilabel_nb.testing --port 8000 --latency 0.02 --model stub-model``
    """
    parser = argparse.ArgumentParser(description="OpenAI-compatible stub server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per chat completion")
    parser.add_argument("--model", action="append", help="served model name (repeatable)")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--no-honour-n", action="store_true", help="always answer with one choice")
    parser.add_argument(
        "--fault", action="append", type=_parse_fault, default=[], help="N=FAULT, e.g. 3=500 (repeatable)"
    )
    args = parser.parse_args(argv)
    server = StubServer(
        args.model or ["stub-model"],
        faults=dict(args.fault),
        latency=args.latency,
        honour_n=not args.no_honour_n,
        api_key=args.api_key,
        record_requests=False,
        host=args.host,
        port=args.port,
    )

    def announce(base_url: str) -> None:
        print(base_url, flush=True)  # alone on its line, easy for scripts to read
        print(f"stub server: models {server.models}, latency {server.latency}s", file=sys.stderr, flush=True)

    async def serve() -> None:
        task = asyncio.ensure_future(server.serve_forever(announce))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # stop cleanly on Ctrl-C / terminate()
            try:
                loop.add_signal_handler(sig, task.cancel)
            except (NotImplementedError, RuntimeError):  # e.g. Windows
                pass
        try:
            await task
        except asyncio.CancelledError:
            pass

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
