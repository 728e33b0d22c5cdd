"""Pure: a cheap guess of the language of a text (ru/uk/be by script, English by function words).

Runs for every feed entry and every extracted page, so it counts at C speed and looks at the first
4,000 characters only.
"""

from __future__ import annotations

import re

_CYRILLIC = re.compile("[\u0400-\u04ff]")
_WORD = re.compile(r"\w+")
_CYRILLIC_LANGS = frozenset({"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "tg", "mn", "tt"})
_EN_STOPWORDS = frozenset(
    {"the", "of", "and", "to", "in", "is", "that", "for", "it", "was", "on", "with", "as"}
    | {"are", "by", "this", "be", "at", "from", "have", "has", "not", "but", "said", "were"}
)


def guess_language(text: str, declared: str | None = None) -> str | None:
    """Cyrillic letters choose ru/uk/be (or a declared Cyrillic language), else the declared
    language, else English when its function words are frequent, else None."""
    sample = text[:4000]
    # Letters are counted only when there is Cyrillic to weigh against them (issue 16: counting
    # them one by one was most of the cost on every extracted page).  Without Cyrillic the answer
    # never depended on the count: the declared language, else the function words (all letters).
    cyrillic = 0 if sample.isascii() else len(_CYRILLIC.findall(sample))
    if cyrillic:
        letters = sum(map(str.isalpha, sample))
        if not letters:
            return declared
        if cyrillic > letters / 2:
            if declared in _CYRILLIC_LANGS:
                return declared
            if "ў" in sample:
                return "be"
            return "uk" if any(c in sample for c in "їєґі") else "ru"
    if declared:
        return declared
    words = _WORD.findall(sample.lower())
    if words and sum(map(_EN_STOPWORDS.__contains__, words)) / len(words) > 0.12:
        return "en"
    return None
