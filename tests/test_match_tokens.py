"""The tokeniser's faster classes find the same words as ``\\w`` (issue 12 point 7).

``tokenize`` uses a class of ASCII letters for ASCII text and a class listing every letter up to
U+FFFF for other text without characters beyond it; both must count exactly the characters the
reference pattern ``_TOKEN`` counts, or a document's words (and so its score) would change.
"""

from __future__ import annotations

import random

import wordfreq

from tests import match_helpers as h
from watcher.match.text import _ASCII_TOKEN, _FOLDED, _TOKEN, _ascii_words, bmp_token, normalise, tokenize


def _reference(text: str) -> list[str]:
    return _TOKEN.findall(normalise(text))


def test_the_bmp_class_counts_every_letter_the_reference_counts() -> None:
    fast = bmp_token()
    differ = [
        f"U+{cp:04X}"
        for cp in range(0x10000)
        if bool(fast.fullmatch(chr(cp) * 2)) != bool(_TOKEN.fullmatch(chr(cp) * 2))
    ]
    assert differ == []


def test_the_ascii_class_counts_every_ascii_letter_the_reference_counts() -> None:
    differ = [
        c
        for c in map(chr, range(128))
        if bool(_ASCII_TOKEN.fullmatch(c * 2)) != bool(_TOKEN.fullmatch(c * 2))
    ]
    assert differ == []


def test_ascii_text_needs_only_lower_case() -> None:
    # tokenize skips normalise's folding for ASCII text: every letter it folds must be non-ASCII
    assert [c for c in _FOLDED if c.isascii()] == []
    ascii_text = "".join(map(chr, range(128))) * 2
    assert normalise(ascii_text) == ascii_text.lower()


def test_ascii_words_are_the_ascii_class_matches() -> None:
    """``_ascii_words`` (translate, split, one-letter words out) finds what the ASCII class finds:
    every pair of ASCII characters, and random ASCII texts of words, digits and punctuation."""
    chars = [chr(c) for c in range(128)]
    pairs = " ".join(a + b for a in chars for b in chars)  # every character next to every other
    assert _ascii_words(pairs) == _ASCII_TOKEN.findall(pairs.lower())
    assert len(_ascii_words(pairs)) > 3000  # many words: the comparison compares something
    rng = random.Random(7)
    words = [w for w in wordfreq.top_n_list("en", 2000) if w.isascii()]
    pieces = [*words, *chars, "A", "Zz", "x1_", "__", "9"]
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 80)))
        assert text.isascii()
        assert _ascii_words(text) == _ASCII_TOKEN.findall(text.lower()) == _reference(text), text


def test_tokens_of_mixed_texts_are_the_reference_tokens() -> None:
    rng = random.Random(12)
    words: list[str] = []
    for lang in ("en", "ru", "uk", "fa", "ar", "el", "hi", "zh", "ja", "ko", "tr", "de", "pl", "he"):
        words.extend(wordfreq.top_n_list(lang, 300))
    glue = [" ", ", ", ". ", "—", "«", "»", "\u200c", "\u00a0", "'", "_", "3", "\n", "!"]
    texts = [
        "".join(rng.choice(words) + rng.choice(glue) for _ in range(rng.randrange(1, 60))) for _ in range(400)
    ]
    texts += [
        "Plain ASCII: Kabul, MOSCOW and 2024_visa x y.",  # the ASCII path, capitals folded
        "Беженцы 🙂 из Кабула",  # an emoji: beyond U+FFFF, the reference pattern
        "𠀀𠀁 漢字 𝐀𝐁 word",  # letters beyond U+FFFF
        "lone \ud800 surrogate ab\udc00cd",  # no letters, whichever way the text is read
        "टेक्स्ट हिंदी में ঞ্জ",  # vowel signs \w does not count as letters
        "İstanbul ЁЖИК ﻻ ﷺ ٣٤ ab٣",  # folded by normalise; presentation forms; Arabic digits
    ]
    differ = [t for t in texts if tokenize(t) != _reference(t)]
    assert differ == []


def test_tokens_of_the_dev_corpora_are_the_reference_tokens() -> None:
    for r in h.dev_records():
        for text in (r.document.title, r.document.text):
            assert tokenize(text) == _reference(text), r.id
