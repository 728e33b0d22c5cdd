"""The fast language guess answers as the plain one (issue 12 point 7: same tokens, same languages).

``detect_language_tokens`` counts scripts and letters with searches over joined tokens in C; the
reference below does it token by token, as it was written first.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from itertools import repeat

from tests import match_helpers as h
from watcher.match.text import _STOPSETS, _other_script, detect_language_tokens, normalise, tokenize

TRICKY = [
    "İstanbul ёлка Ёж ي ك ى آ أ إ",
    "한국어 텍스트 and 日本語のテキスト",
    "中文文本 新闻 移民",
    "日本語のテキスト ニュース 移民",
    "ελληνικά κείμενα εδώ και εκεί",
    "हिंदी पाठ यहाँ है",
    "Мігранти з Афганістану в Росії",
    "Мигранты из Афганистана в России: їх мало",
    "مهاجران افغان در روسیه",
    "المهاجرون الأفغان في روسيا",
    "the and of to Les migrants de la ville et des",
    "",
    "12 34 56",
]


def _reference(tokens: Sequence[str]) -> str:
    sample = tokens[:120]
    firsts = "".join([t[0] for t in sample])
    cyrillic = len(re.findall("[\u0400-\u04ff]", firsts))
    arabic = len(re.findall("[\u0600-\u06ff]", firsts))
    scripts = {"latin": len(sample) - cyrillic - arabic, "cyrillic": cyrillic, "arabic": arabic}
    script = max(scripts, key=lambda k: scripts[k])
    if scripts[script] == 0:
        return "en"
    if script == "latin":
        others = Counter(_other_script(t[0]) for t in sample if not t[0].isascii())
        other, n = others.most_common(1)[0] if others else ("other", 0)
        if n * 2 >= len(sample) and other != "other":
            text = "".join(sample)
            if other == "cjk":
                if any("\uac00" <= ch <= "\ud7af" for ch in text):
                    return "ko"
                return "ja" if any("\u3040" <= ch <= "\u30ff" for ch in text) else "zh"
            if found := {"greek": "el", "devanagari": "hi"}.get(other, ""):
                return found
    if script == "cyrillic":
        ukrainian = sum(1 for t in sample if re.search("[іїєґ]", t))
        return "uk" if ukrainian > cyrillic / 20 else "ru"
    if script == "arabic":
        return "fa" if any(re.search("[\u067e\u0686\u0698\u06af]", t) for t in sample) else "ar"
    counts = Counter(sample)
    votes = {lang: sum(map(counts.get, stops, repeat(0))) for lang, stops in _STOPSETS.items()}
    best = max(votes, key=lambda k: votes[k])
    return best if votes[best] > votes["en"] else "en"


def test_the_language_guess_is_the_token_by_token_one() -> None:
    texts = list(TRICKY)
    texts += [f"{r.document.title}\n{r.document.text}" for r in h.dev_records()]
    guessed = set()
    for text in texts:
        tokens = tokenize(text)
        for start in (0, 40, 100):  # other samples of the same text
            guess = detect_language_tokens(tokens[start:])
            assert guess == _reference(tokens[start:]), text[:60]
            guessed.add(guess)
    assert {"en", "ru", "uk", "fa", "ar", "el", "hi", "zh", "ja", "ko", "de", "fr"} <= guessed


def test_normalise_folds_every_letter_it_lists() -> None:
    text = "İstanbul ЁЛКА ёж يك ى آأإ"
    assert normalise(text) == text.lower().translate(
        str.maketrans({"ё": "е", "ي": "ی", "ك": "ک", "ى": "ی", "\u0307": None, "آ": "ا", "أ": "ا", "إ": "ا"})
    )
    assert normalise("plain words") == "plain words"


def test_the_vote_of_common_words_is_the_plain_one_on_mixed_and_tied_samples() -> None:
    """Samples of two Latin-script languages' most common words, mixed in varying shares (ties and
    near ties between lists that share words: "de", "la", "in", "die"): the fast count agrees."""
    import random

    import wordfreq

    rng = random.Random(12)
    langs = sorted(_STOPSETS)
    tops = {lang: wordfreq.top_n_list(lang, 300) for lang in langs}
    guessed = set()
    for _ in range(400):
        a, b = rng.sample(langs, 2)
        n = rng.randrange(1, 140)
        words = [rng.choice(tops[a] if rng.random() < rng.random() else tops[b]) for _ in range(n)]
        tokens = tokenize(" ".join(words))
        guess = detect_language_tokens(tokens)
        assert guess == _reference(tokens), (a, b, words[:10])
        guessed.add(guess)
    for tied in ("de la", "la de", "in de", "die de", "el la", "que de", "de", "la"):
        assert detect_language_tokens(tokenize(tied)) == _reference(tokenize(tied)), tied
    assert len(guessed) >= 10  # the samples led to most of the languages
