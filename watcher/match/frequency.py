"""wordfreq's frequency of a word, without its tokeniser for the words that need none (issue 12).

``wordfreq.word_frequency`` normalises, case-folds and tokenises every word it is asked about
(~15 µs), which was a quarter of scoring a document with cold caches.  A word made only of
letters that all of those steps leave as they are (lower-case Latin, Greek, Cyrillic and Arabic
letters that are NFC- and NFKC-normal, case-fold to themselves, carry no mark and are not among the
letters a language's preprocessing rewrites) is its own single token, so its frequency is a
dictionary look-up in the same list, rounded as wordfreq rounds.  Every other word, and every
language whose preprocessing transliterates or whose tokeniser is not the regular expression,
still goes through wordfreq.  ``tests/test_match_speed.py`` checks the two agree.

``frequencies`` answers for many words of one language at once (a document's new words): the
plain ones are found with one pattern search over them all and looked up in C (``map``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any

# Blocks the fast path may take letters from: Latin, Greek, Cyrillic, Arabic letters (no marks).
_BLOCKS = ((0x61, 0x7A), (0xDF, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x621, 0x64A), (0x66E, 0x6D3))
_REWRITTEN = "şţșț"  # Turkish and Romanian preprocessing swap these (cedillas and commas below)


def frequency(word: str, lang: str) -> float:
    """``wordfreq.word_frequency(word, lang, wordlist="small")``, fast for plain words.

    A language wordfreq has no list for reads its nearest match's list, as wordfreq itself picks
    it, without wordfreq's warning to the user's terminal; one whose script wordfreq cannot cut into
    words (Thai, Burmese, Khmer, Lao) has no frequencies: 0.0, the floor of a rare word.
    """
    lang = list_language(lang)
    if not lang:
        return 0.0
    table = _table(lang)
    if table is not None:
        plain, freqs, rounded = table
        if plain(word):
            freq = freqs.get(word)
            if freq is None:
                return 0.0  # a single token missing from the list: wordfreq's minimum
            hit = rounded.get(freq)
            if hit is None:
                hit = rounded[freq] = _round(freq)
            return hit
    import wordfreq  # local: loading its tables takes a moment

    return float(wordfreq.word_frequency(word, lang, wordlist="small"))


def frequencies(words: Sequence[str], lang: str) -> list[float]:
    """``frequency`` of each word (plain words batched: one search, look-ups in C)."""
    lang = list_language(lang)
    if not lang:
        return [0.0] * len(words)
    table = _table(lang)
    if table is None or not words:
        return [frequency(w, lang) for w in words]
    plain, freqs, rounded = table
    raw: list[float | None]
    slow: dict[str, float] = {}
    if "" in words or not plain("".join(words)):  # some word is not plain (their join is not)
        odd = {w for w in words if not plain(w)}
        raw = [None if w in odd else freqs.get(w) for w in words]
        slow = {w: frequency(w, lang) for w in odd}  # wordfreq's own path for these
    else:
        raw = list(map(freqs.get, words))
    for freq in set(raw).difference(rounded):  # frequencies met for the first time
        if freq is not None:
            rounded[freq] = _round(freq)
    out: list[float] = list(map(rounded.__getitem__, raw))  # (None, not in the list: 0.0)
    return [slow.get(w, f) for w, f in zip(words, out, strict=True)] if slow else out


def _round(freq: float) -> float:
    """What wordfreq returns for a single token of this frequency (3 significant digits)."""
    unrounded = max(1.0 / (1.0 / freq), 0.0)
    if unrounded == 0.0:
        return 0.0
    return round(unrounded, math.floor(-math.log(unrounded, 10)) + 3)


@cache
def list_language(lang: str) -> str:
    """The language whose list wordfreq reads for ``lang``: itself, else its nearest match (as
    ``wordfreq.get_frequency_list`` picks it: "tg" reads "ru", "ps" reads "en"); "" for a script
    wordfreq has no tokeniser for.  ``LookupError`` when no list is near enough."""
    import langcodes  # wordfreq's own dependency: the matching it does, without its warning
    import wordfreq
    from wordfreq.language_info import get_language_info

    available = wordfreq.available_languages(wordlist="small")
    if lang in available:
        return lang
    if get_language_info(lang)["tokenizer"] is None:
        return ""  # wordfreq would warn "the results will be bad" and find no word anyway
    best, _distance = langcodes.closest_match(lang, list(available), max_distance=60)
    if best == "und":
        raise LookupError(f"no wordfreq list for language {lang!r}")
    return str(best)


@cache
def _table(lang: str) -> tuple[Callable[[str], Any], dict[str, float], dict[float | None, float]] | None:
    """(is the word plain, the frequency list, frequency -> rounded) of a language, or None."""
    import wordfreq
    from wordfreq.language_info import get_language_info

    if lang not in wordfreq.available_languages(wordlist="small"):
        return None  # wordfreq picks the nearest language (or fails): its own path decides
    info = get_language_info(lang)
    if info["tokenizer"] != "regex" or info["transliteration"] or info["lookup_transliteration"]:
        return None
    letters = "".join(_plain_letters())
    plain = re.compile(f"[{re.escape(letters)}]+").fullmatch
    return plain, wordfreq.get_frequency_dict(lang, "small"), {None: 0.0}  # None: not in the list


@lru_cache(maxsize=1)
def _plain_letters() -> tuple[str, ...]:
    """Letters that wordfreq's preprocessing and tokeniser leave as they are, in every language."""
    out = []
    for lo, hi in _BLOCKS:
        for cp in range(lo, hi + 1):
            c = chr(cp)
            if (
                unicodedata.category(c) in ("Ll", "Lo")
                and c.casefold() == c
                and unicodedata.normalize("NFC", c) == c
                and unicodedata.normalize("NFKC", c) == c
                and c not in _REWRITTEN
            ):
                out.append(c)
    return tuple(out)


def wordfreq_frequencies(words: Sequence[str], lang: str) -> list[float]:
    """``wordfreq_frequency`` of many words of one language (plain words looked up together)."""
    if lang in ("zh", "ja", "ko"):
        lang = "en"
    try:
        return frequencies(words, lang or "en")
    except LookupError:  # as wordfreq_frequency decides it, word by word
        return [wordfreq_frequency(w, lang) for w in words]


def wordfreq_frequency(word: str, lang: str) -> float:
    """Background frequency of a word from the wordfreq package (0.0 when unknown)."""
    # The "small" lists (words above ~1e-6) cost ~30 MB of memory against ~150 MB for "best"; the
    # rarer words they lack get the floor weight, which is what a rare word deserves anyway.
    if lang in ("zh", "ja", "ko"):  # wordfreq needs jieba / MeCab to cut these into words
        lang = "en"
    try:
        return frequency(word, lang or "en")
    except LookupError:
        return frequency(word, "en")
