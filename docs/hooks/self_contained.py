"""Keep the built site self-contained: no scripts, styles or fonts from other hosts.

Rendered notebooks carry loader tags for MathJax, Mermaid and RequireJS from public
CDNs; our notebooks need none of them, so they are removed. Any other page that still
loads a script, stylesheet, font or image from another host is reported as a warning,
which fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger("mkdocs.hooks.self_contained")

_EXTERNAL_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=[\"']?(?:https?:)?//[^>]*>\s*</script>", re.IGNORECASE)
# MathJax's inline configuration block, which only makes sense with the loader above.
_MATHJAX_CONFIG = re.compile(r"<script\b[^>]*>\s*(?:window\.)?MathJax\s*=.*?</script>|<script[^>]*type=\"text/x-mathjax-config\"[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)
_MERMAID_MODULE = re.compile(r"<script\b[^>]*type=\"module\"[^>]*>(?:(?!</script>).)*?https?://[^<]*?mermaid(?:(?!</script>).)*?</script>", re.IGNORECASE | re.DOTALL)
_REMOTE_RESOURCE = re.compile(
    r"<(?:script|img|iframe)\b[^>]*\bsrc=[\"']?((?:https?:)?//[^\"' >]+)"
    r"|<link\b[^>]*\brel=[\"']?(?:stylesheet|preload|preconnect|modulepreload)[^>]*\bhref=[\"']?((?:https?:)?//[^\"' >]+)"
    r"|@import\s+url\([\"']?((?:https?:)?//[^)\"']+)",
    re.IGNORECASE,
)


def on_post_page(output: str, page, config) -> str:
    if page.file.src_uri.endswith(".ipynb"):
        output = _EXTERNAL_SCRIPT.sub("", output)
        output = _MATHJAX_CONFIG.sub("", output)
        output = _MERMAID_MODULE.sub("", output)
    for match in _REMOTE_RESOURCE.finditer(output):
        url = next(group for group in match.groups() if group)
        log.warning("%s loads %s from another host; the site must be self-contained", page.file.src_uri, url)
    return output
