"""Issue 16: ``guess_language`` counts letters only when a text has Cyrillic in it; its answers are
those of the rule that counted them on every text (written out here as the reference), on real
article texts, on the corpora and on edge cases (no letters, Cyrillic signs that are not letters)."""

from __future__ import annotations

import json
import re

import pytest

from tests.shared_data import require_shared
from watcher.language import guess_language

_CYRILLIC = re.compile("[\u0400-\u04ff]")
_WORD = re.compile(r"\w+")
_CYRILLIC_LANGS = {"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "tg", "mn", "tt"}
_STOP = set(
    [
        "the",
        "of",
        "and",
        "to",
        "in",
        "is",
        "that",
        "for",
        "it",
        "was",
        "on",
        "with",
        "as",
        "are",
        "by",
        "this",
        "be",
        "at",
        "from",
        "have",
        "has",
        "not",
        "but",
        "said",
        "were",
    ]
)
DECLARED = (None, "en", "ru", "tg", "de")


def reference(text: str, declared: str | None = None) -> str | None:
    """The rule before issue 16's change: letters counted first, on every text."""
    sample = text[:4000]
    letters = sum(1 for c in sample if c.isalpha())
    if not letters:
        return declared
    cyrillic = len(_CYRILLIC.findall(sample))
    if cyrillic > letters / 2:
        if declared in _CYRILLIC_LANGS:
            return declared
        if "ў" in sample:
            return "be"
        return "uk" if any(c in sample for c in "їєґі") else "ru"
    if declared:
        return declared
    words = _WORD.findall(sample.lower())
    if words and sum(w in _STOP for w in words) / len(words) > 0.12:
        return "en"
    return None


EDGES = [
    "",
    "12345 67 890",
    "҂҃",  # Cyrillic block, no letters
    "҂ 1 2 3 the of and",
    "҂҂҂ a",  # more Cyrillic signs than letters
    "Привет, world of the people",
    "the of and to in",
    "ў ў ў",
    "Їжак і ґава",
    "Zwölf Boxkämpfer jagen Viktor",
    "日本語のテキストです",
    "a" * 5000 + "Привет" * 2000,
]


@pytest.mark.parametrize("text", EDGES)
@pytest.mark.parametrize("declared", DECLARED)
def test_edge_cases_answer_as_the_reference(text: str, declared: str | None) -> None:
    assert guess_language(text, declared) == reference(text, declared)


def test_corpus_texts_answer_as_the_reference() -> None:
    texts = []
    for name in ("dev.jsonl", "dev_multilingual.jsonl"):
        with require_shared("corpus", name).open(encoding="utf-8") as f:
            texts += [json.loads(line)["text"] for line in f if line.strip()]
    assert len(texts) > 100
    answers = set()
    for text in texts:
        for declared in DECLARED:
            for part in (text, text[:300], text[2000:]):
                got = guess_language(part, declared)
                assert got == reference(part, declared), (part[:80], declared)
                answers.add(got)
    assert {"ru", "en", None} <= answers  # the texts reach every branch that decides
