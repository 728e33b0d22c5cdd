"""Pure: a page's JSON-LD metadata for the quick pass, as trafilatura's ``extract_meta_json`` reads it.

trafilatura finds the ``<script type="application/ld+json">`` blocks with an XPath over the whole
tree and strips the whitespace between JSON tokens with a regular expression that steps through
every character of every string: together over half of the quick metadata pass, which the
like-for-like floor never pays (issue 16).  Here the blocks are found with lxml's tag iterator
and the whitespace goes with an equivalent expression that takes a string's plain characters in
one run; what follows (``json.loads``, trafilatura's own ``extract_json`` and its fallback for
broken JSON) is trafilatura's.  Only for the releases in ``extract.OWN_TREE_RELEASES`` (the helpers
are internal); ``tests/test_extract_meta.py`` holds the result equal to trafilatura's on real pages.
"""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

from trafilatura.json_metadata import (
    JSON_UNICODE_REPLACE,
    extract_json,
    extract_json_parse_error,
)
from trafilatura.utils import HTML_STRIP_TAGS, trim

_TYPES = ("application/ld+json", "application/settings+json")
# trafilatura's JSON_MINIFY is ("(?:\\.|[^"\\])*")|\s : the same strings (kept) and the same
# whitespace outside them (dropped), with a string's plain characters taken in one run.
_MINIFY = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|\s+')
_SURROGATES = re.compile("[\ud800-\udfff]")


def meta_json(tree: Any, metadata: Any) -> Any:
    """``trafilatura.metadata.extract_meta_json(tree, metadata)``, with the same result."""
    for elem in tree.iter("script"):
        if elem.get("type") not in _TYPES or not elem.text:
            continue
        text = _normalize(minify(elem.text))
        try:
            metadata = extract_json(json.loads(text, strict=False), metadata)
        except json.JSONDecodeError:
            metadata = extract_json_parse_error(text, metadata)
    return metadata


def minify(text: str) -> str:
    """``JSON_MINIFY.sub(r"\\1", text)``: strings kept, whitespace outside them dropped.  A split on
    the pattern gives the text between matches and each match's string (None for whitespace),
    joined in C; ``sub`` with a group reference expanded its template in Python on every match,
    twice the cost (issue 16)."""
    return "".join(filter(None, _MINIFY.split(text)))


def _normalize(text: str) -> str:
    """trafilatura's ``normalize_json``: escapes decoded, lone surrogates dropped, tags stripped."""
    if "\\" in text:
        text = text.replace("\\n", "").replace("\\r", "").replace("\\t", "")
        text = JSON_UNICODE_REPLACE.sub(lambda m: chr(int(m[1], 16)), text)
        text = unescape(_SURROGATES.sub("", text))
    return trim(HTML_STRIP_TAGS.sub("", text))
