"""Snowball stemmers by ISO language code: one word at a time, or many in one call into C."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

# Snowball algorithm names per ISO 639-1 code (those that Snowball has).
STEMMERS = {
    "en": "english", "ru": "russian", "fr": "french", "de": "german", "es": "spanish",
    "it": "italian", "pt": "portuguese", "nl": "dutch", "ro": "romanian", "sv": "swedish",
    "da": "danish", "no": "norwegian", "nb": "norwegian", "fi": "finnish", "hu": "hungarian",
    "tr": "turkish", "id": "indonesian", "fa": "persian", "ar": "arabic", "pl": "polish",
    "el": "greek", "cs": "czech", "lt": "lithuanian", "ca": "catalan",
}  # fmt: skip


def make_stemmer(lang: str) -> Callable[[str], str]:
    """A Snowball stemmer for an ISO code, or the identity when Snowball has none."""
    return stemmer_of(STEMMERS.get(lang, ""))


def make_stems(lang: str) -> Callable[[list[str]], list[str]]:
    """``make_stemmer``'s stems of many words at once (one call into PyStemmer's C code)."""
    return stems_of(STEMMERS.get(lang, ""))


def stemmer_of(algorithm: str) -> Callable[[str], str]:
    """The ``stemWord`` of a Snowball algorithm, or the identity for "" (none)."""
    if not algorithm:
        return _identity
    return snowball(algorithm).stemWord  # type: ignore[no-any-return]


def stems_of(algorithm: str) -> Callable[[Sequence[str]], list[str]]:
    """The ``stemWords`` of a Snowball algorithm (many words, one call into C), or ``list`` for ""."""
    if not algorithm:
        return list
    return snowball(algorithm).stemWords  # type: ignore[no-any-return]


def snowball(algorithm: str) -> Any:
    """A Snowball stemmer object, without PyStemmer's own cache of stems.

    Every caller caches its answers per token already, and PyStemmer's cache (10,000 words, then a
    purge) makes each word it has not met cost three times as much (~1.7 µs against ~0.5 µs).
    """
    import snowballstemmer  # local: only needed once a model is built

    stemmer = snowballstemmer.stemmer(algorithm)
    if hasattr(stemmer, "maxCacheSize"):  # PyStemmer (the pure-Python stemmers keep no cache)
        stemmer.maxCacheSize = 0
    return stemmer


def _identity(word: str) -> str:
    return word
