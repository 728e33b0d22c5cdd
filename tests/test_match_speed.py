"""The matcher's fast paths answer exactly as the slow ones (issue 12 point 7: faster, same scores)."""

from __future__ import annotations

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
