"""The matcher's fast paths answer exactly as the slow ones (issue 12 point 7: faster, same scores)."""

from __future__ import annotations

import logging

import pytest
import wordfreq

from watcher.config import ConceptGroup
from watcher.match.frequency import frequency
from watcher.match.keywords import Matcher
from watcher.match.morph import Morphology
from watcher.match.text import tokenize

# Words each preprocessing step of wordfreq rewrites (ß, dotted and dotless i, cedillas and commas,
# final sigma, Arabic vowel marks and tatweel, a ligature, mixed scripts), beside plain ones.
TRICKY = [
    "straße",
    "groß",
    "İstanbul",
    "istanbul",
    "ıslak",
    "şehir",
    "șeful",
    "ţară",
    "țară",
    "λέξις",
    "λέξισ",
    "ΛΈΞΗ",
    "كَلِمَة",
    "الحمــــــد",
    "ﬁne",
    "ǆemal",
    "aбв",
    "abc中文",
    "ǃxóõ",
    "mañana",
    "café",
    "naïve",
    "москва",
    "ёлка",
    "україна",
    "ґанок",
    "مهاجران",
    "مهاجرين",
    "göçmenler",
    "xyzzyq",
    "ünlü",
]


def test_frequency_is_wordfreqs_own_answer() -> None:
    for lang in ("en", "ru", "uk", "de", "fr", "tr", "ro", "el", "fa", "ar", "pl", "nl", "sr", "hi"):
        words = [*TRICKY, *wordfreq.top_n_list(lang, 400, wordlist="small")[::3]]
        for word in words:
            assert frequency(word, lang) == wordfreq.word_frequency(word, lang, wordlist="small"), (
                lang,
                word,
            )


def test_morphology_keys_many_words_as_it_keys_one() -> None:
    morphology = Morphology()
    words = tokenize(
        "Мигрантов из Афганистана мігрантів біженців مهاجران افغانستان göçmenler Rosji "
        "migrants réfugiés Flüchtlinge μεταναστών शरणार्थी straße"
    )
    for lang in ("en", "ru", "uk", "fa", "ar", "tr", "pl", "fr", "de", "el", "hi", "uz", "zh"):
        assert morphology.keys(words, lang) == [morphology.key(w, lang) for w in words], lang


def test_a_matcher_keying_in_batches_finds_what_one_keying_word_by_word_finds() -> None:
    groups = (
        ConceptGroup("russia", ("en:russia", "ru:россия", "uk:росія", "pl:rosja", "tr:rusya")),
        ConceptGroup(
            "migration",
            ("en:migrant", "ru:мигрант", "uk:мігрант", "fa:مهاجر", "tr:göçmen", "de:flüchtling"),
        ),
        ConceptGroup("prefix", ("afghan*", "kab*")),
    )  # fmt: skip
    text = (
        "Russia and migrants: в России мигранты, у Росії мігрантів, w Rosji, Rusya'daki göçmenler, "
        "مهاجران در روسیه, Flüchtlinge aus Afghanistan, Afghans in Kabul, unrelated words otherwise"
    )
    morphology = Morphology()
    batched = Matcher(groups, (), morphology.key, term_stem=morphology.term_key)
    single = Matcher(groups, (), lambda w, lang: morphology.key(w, lang), term_stem=morphology.term_key)
    assert batched._keys != single._keys  # the two really take different paths
    tokens = tokenize(text)
    expected = single.find(tokens, 3)
    assert all(expected[0])  # every group is found
    assert batched.find(tokens, 3) == expected
    assert batched.find(tokens, 3) == expected  # warm, too


def test_languages_wordfreq_lacks_are_answered_quietly(caplog: pytest.LogCaptureFixture) -> None:
    from watcher.match.frequency import frequencies, list_language

    # no list for Tajik or Pashto: the list wordfreq itself picks as the nearest match ...
    expected = {}
    for lang in ("tg", "ps"):
        words = ["слово", "работа", "word", "people", "کار"]
        with caplog.at_level(logging.WARNING):
            expected[lang] = [wordfreq.word_frequency(w, lang, wordlist="small") for w in words]
        assert "nearest match" in caplog.text  # wordfreq's own path warns ...
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            assert [frequency(w, lang) for w in words] == expected[lang]
            assert frequencies(words, lang) == expected[lang]
        assert caplog.records == []  # ... ours does not
    assert list_language("tg") == "ru" and expected["tg"][0] > 0
    # Thai and Burmese: no tokeniser in wordfreq, so no frequencies, and nothing on the terminal
    with caplog.at_level(logging.DEBUG):
        assert frequency("ภาษาไทย", "th") == frequency("မြန်မာ", "my") == 0.0
        assert frequencies(["ภาษาไทย", "word"], "th") == [0.0, 0.0]
    assert caplog.records == []


def test_scoring_thai_and_burmese_articles_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    from tests import match_helpers as h
    from watcher import match
    from watcher.models import Document

    model = match.build_model(h.shipped_topic())
    docs = [
        Document("ข่าว", "ผู้อพยพชาวอัฟกานิสถานในรัสเซีย Afghan migrants Russia", "th"),
        Document("သတင်း", "ရုရှားနိုင်ငံရှိ အာဖဂန် ရွှေ့ပြောင်းနေထိုင်သူများ Afghan migrants", "my"),
    ]
    with caplog.at_level(logging.DEBUG, logger="wordfreq"):
        for doc in docs:
            model.score(doc, full=True)
    assert [r.getMessage() for r in caplog.records] == []


def test_the_fitted_gate_gives_the_product_it_skips() -> None:
    """``Combination.score`` returns 0 at once where a required concept is missing (issue 12 point 7):
    the same float (its sign too) as the gated probability, p * min(1, weakest / GATE), it skips."""
    import math
    import random

    from watcher.match.learned import GATE, Combination

    rng = random.Random(12)
    names = ("russia", "afghanistan", "weakest", "keywords")
    for _ in range(200):
        combination = Combination(
            names,
            tuple(rng.uniform(-60, 60) for _ in names),  # some z beyond -500: a probability of 0.0
            rng.uniform(-5, 5),
            tuple(rng.uniform(0, 1) for _ in names),
            tuple(rng.uniform(0.01, 1) for _ in names),
            0.4,
        )
        for weakest in (0.0, -0.0, 1e-9, 0.2, 0.4, 0.9):
            x = (rng.random(), rng.random(), weakest, rng.random())
            expected = combination.probability(x) * min(1.0, weakest / GATE)
            got = combination.score(x)
            assert got == expected and math.copysign(1.0, got) == math.copysign(1.0, expected)
    no_gate = Combination(("keywords",), (2.0,), 0.1, (0.5,), (0.3,), 0.4)
    assert no_gate.score((0.0,)) == no_gate.probability((0.0,)) > 0  # no weakest feature: no gate
