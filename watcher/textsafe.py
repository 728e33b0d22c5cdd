"""Escaping of strangers' text for the terminal (control and escape sequences)."""

from __future__ import annotations

import re

# C0 and C1 controls except tab and newline, and DEL: they can move the cursor, set titles, etc.
# Also the bidi embeddings, overrides and isolates, which reorder what the reader sees.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """Replace control characters (ESC included) with U+FFFD so nothing is interpreted by the terminal."""
    return _CONTROL.sub("\ufffd", text)


def one_line(text: str) -> str:
    """Fold CR/LF and other line breaks into spaces (for headers and one-line output)."""
    return " ".join(text.split())
