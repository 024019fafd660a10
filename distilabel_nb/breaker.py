"""The breaker: a run stops calling a backend that keeps failing as unavailable, and marks the rows left.

A server that went away, or a key revoked during a run, fails every call the same way;
without a breaker each remaining row would still be sent (and retried, with backoff).
After :data:`LIMIT` calls in a row have failed as "unavailable" (unreachable, a
refused key, an unknown model), the breaker opens: the rows not sent yet get that
reason as their error at once, and the run ends with every finished row kept.

Example:
    >>> from distilabel_nb.llms.outputs import LLMOutput
    >>> breaker = Breaker(limit=2)
    >>> down = [LLMOutput("m", "p", None, None, error="cannot reach X", error_kind="unavailable")]
    >>> breaker.record(down), breaker.record(down)
    (False, True)
    >>> breaker.reason
    'cannot reach X'
"""

from __future__ import annotations

from typing import Sequence

from distilabel_nb.llms.outputs import LLMOutput

#: Calls in a row failing as "unavailable" before a run stops sending to that backend.
LIMIT = 5


class Breaker:
    """Counts one backend's calls that failed as unavailable, in a row; opens at ``limit``."""

    def __init__(self, limit: int = LIMIT):
        self.limit = limit
        self.streak = 0
        self.reason: str | None = None  # set once open: the error of the call that opened it

    @property
    def open(self) -> bool:
        return self.reason is not None

    def record(self, outputs: Sequence[LLMOutput]) -> bool:
        """Note one call's outputs; ``True`` when this call opened the breaker."""
        if outputs and all(o.error_kind == "unavailable" for o in outputs):
            self.streak += 1
            if self.streak >= self.limit and self.reason is None:
                self.reason = outputs[0].error
                return True
        elif any(o.error_kind != "input" for o in outputs):  # the backend answered (a bad input says nothing)
            self.streak = 0
        return False

    def not_sent(self, model_name: str) -> str:
        """The error of a row the open breaker kept from being sent."""
        return f"not sent: {self.reason} (the run stopped calling {model_name} after {self.limit} calls in a row failed so)"
