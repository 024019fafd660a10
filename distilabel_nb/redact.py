"""Secrets kept out of what is shown and stored: a URL's credentials, an API key in a message, a key in a pickle.

Example:
    >>> redact_url("http://user:pa55@proxy.local:8080/v1")
    'http://***@proxy.local:8080/v1'
    >>> scrub("the maximum for key x is 1", "x")  # whole tokens only: "maximum" stays whole
    'the maximum for key *** is 1'
    >>> unseal(seal("sk-abc")) == "sk-abc" and "sk-abc" not in seal("sk-abc")
    True
"""

from __future__ import annotations

import base64
import re
from urllib.parse import urlsplit, urlunsplit

_PAD = 0x5A


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//[^/@]*@", "//***@", url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def scrub(text: str, secret: str | None) -> str:
    """``text`` with every whole occurrence of ``secret`` replaced by ``***``.

    Only where it stands as a token of its own: a short key such as ``"x"`` is not cut
    out of the middle of words and numbers, which would garble the message.
    """
    if not secret:
        return text
    return re.sub(rf"(?<![\w.\-]){re.escape(secret)}(?![\w\-])", "***", text)


def seal(secret: str) -> str:
    """``secret`` in a form that does not show it as plain text (in a pickle, a Dask graph, a log).

    Not encryption: anyone who has the sealed text and this function can read the
    secret back. It keeps a key out of plain sight, not out of reach.
    """
    return base64.b85encode(bytes(b ^ _PAD for b in secret.encode())).decode("ascii")


def unseal(sealed: str) -> str:
    """The secret :func:`seal` was given."""
    return bytes(b ^ _PAD for b in base64.b85decode(sealed.encode("ascii"))).decode()
