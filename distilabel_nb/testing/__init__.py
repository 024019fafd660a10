"""Test doubles shipped with the package: a fault-injecting OpenAI-compatible stub server.

``StubServer`` speaks enough of the OpenAI HTTP API for the real ``openai`` SDK, answers
deterministically (:mod:`~distilabel_nb.testing.replies`) and injects faults on chosen
requests (:mod:`~distilabel_nb.testing.faults`).

Example:
    >>> from distilabel_nb.testing import StubServer
    >>> with StubServer(latency=0.0) as server:
    ...     server.base_url.endswith("/v1")
    True
"""

from distilabel_nb.testing.faults import FAULTS, FaultRule
from distilabel_nb.testing.replies import Responder, default_responder, instance_from_schema, last_user_text
from distilabel_nb.testing.stub_server import StubServer

__all__ = [
    "FAULTS",
    "FaultRule",
    "Responder",
    "StubServer",
    "default_responder",
    "instance_from_schema",
    "last_user_text",
]
