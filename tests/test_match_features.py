"""A document's new words learnt together answer exactly as word by word (issue 12 point 7).

The batched paths (``Analyzer.features``, ``frequency.frequencies``, ``Matcher._learn`` and the
TF-IDF backend's learning) must give byte-identical answers to the one-by-one paths they replace.
"""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import pytest
import wordfreq

from tests import match_helpers as h
from tests.test_match_speed import TRICKY  # words each preprocessing step of wordfreq rewrites
from watcher import match
from watcher.config import ConceptGroup
from watcher.match.frequency import frequencies, frequency
from watcher.match.keywords import Matcher
from watcher.match.morph import Morphology
from watcher.match.similarity import TfidfBackend, example
from watcher.match.text import Analyzer, normalise, tokenize, wordfreq_frequencies, wordfreq_frequency
from watcher.models import Document

# Own sentences: several scripts in one text, words wordfreq's fast path cannot take (ß, ş, ţ,
# Devanagari, Hangul), numbers, unknown words, and words in a script other than the document's.
TEXTS = {
    "en": "Afghan migrants reached Moscow in 2024; the covid19 quota, größte Straße, Москва and zzqxv",
    "ru": "Афганские мигранты прибыли в Москву; квоты на 2024 год, Kabul, مهاجران и ёлка",
    "de": "Die größten Flüchtlingsgruppen erreichten Moskau; weißrussland, Straße und Migranten",
    "tr": "Afgan göçmenler Moskova'ya ulaştı; dışişleri başladı, yaşadıklarını söyledi",
    "ro": "Migranţii afgani au ajuns la Moscova; studenţii şi aceștia, anunțul",
    "fa": "مهاجران افغان به مسکو رسیدند و کارگران در روسیه ﺒﻴ ﻥﻮ کار می کنند",
    "ar": "وصل المهاجرون الأفغان إلى موسكو والعمال في روسيا",
    "el": "Αφγανοί μετανάστες έφτασαν στη Μόσχα και οι πρόσφυγες",
    "hi": "अफगान प्रवासी मास्को पहुंचे और शरणार्थी",
    "ko": "아프간 이주민 모스크바 도착 난민",
    "zh": "阿富汗移民抵达莫斯科",
    "xx": "words of a language nobody knows: quux blorp",
}


def distinct(text: str) -> list[str]:
    return list(dict.fromkeys(tokenize(text)))


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_features_of_new_words_together_equal_feature_word_by_word(lang: str) -> None:
    tokens = tokenize(" ".join(TEXTS.values()))  # every script in a document of each language
    together = Analyzer(wordfreq_frequency).features(tokens, lang)
    one_by_one = Analyzer(wordfreq_frequency)
    assert together == [one_by_one.feature(t, lang) for t in tokens]
    assert any(w > 0 for _, w in together) and any(w == 0 for _, w in together)


def test_features_blend_the_background_as_feature_does() -> None:
    docs = list(TEXTS.values())
    batch, single = Analyzer(wordfreq_frequency), Analyzer(wordfreq_frequency)
    batch.fit_background(docs[:6])
    single.fit_background(docs[:6])
    tokens = tokenize(" ".join(docs))
    for lang in ("en", "ru", "fa"):
        assert batch.features(tokens, lang) == [single.feature(t, lang) for t in tokens]
    plain = Analyzer(wordfreq_frequency).features(tokens, "en")
    assert plain != batch.features(tokens, "en")  # the blend did change weights


def test_features_with_a_frequency_function_of_ones_own() -> None:
    def freq(word: str, lang: str) -> float:
        return 1e-5 if lang == "en" else 1e-8 * len(word)

    tokens = tokenize(TEXTS["en"] + " " + TEXTS["ru"])
    together = Analyzer(freq).features(tokens, "ru")
    assert together == [Analyzer(freq).feature(t, "ru") for t in tokens]
    assert {w for _, w in together} > {0.0}


def test_a_full_cache_starts_afresh_and_answers_alike() -> None:
    bounded = Analyzer(wordfreq_frequency, cache_size=6)
    unbounded = Analyzer(wordfreq_frequency)
    for text in TEXTS.values():  # each text has more new words than the cache holds, or nearly
        tokens = tokenize(text)
        assert bounded.features(tokens, "en") == unbounded.features(tokens, "en")
        assert len(bounded._cache["en"]) <= 6  # (cache_for would renew a full one)
    words = ["moscow", "migrants", "quota"]
    for _ in range(4):  # small batches that fill the cache up and renew it
        assert bounded.features(words, "en") == [unbounded.feature(w, "en") for w in words]
        words = [w + "s" for w in words]
        assert len(bounded._cache["en"]) <= 6  # (cache_for would renew a full one)


def test_a_pickled_analyzer_learns_together_as_before() -> None:
    analyzer = Analyzer(wordfreq_frequency)
    analyzer.fit_background(list(TEXTS.values())[:4])
    copy = pickle.loads(pickle.dumps(analyzer))
    tokens = tokenize(TEXTS["de"] + " " + TEXTS["tr"])
    assert copy.features(tokens, "de") == [analyzer.feature(t, "de") for t in tokens]


@pytest.mark.parametrize("lang", ["en", "ru", "de", "tr", "ro", "fa", "ar", "el", "hi", "pt"])
def test_frequencies_of_many_words_equal_frequency_of_each(lang: str) -> None:
    words = [*distinct(" ".join(TEXTS.values())), *TRICKY, "", "the", "и", "nº", "2024"]
    expected = [frequency(w, lang) for w in words]
    assert frequencies(words, lang) == expected
    assert expected == [wordfreq.word_frequency(w, lang, wordlist="small") for w in words]
    assert frequencies([w for w in words if w.isalpha() and w.isascii()], lang) == [
        f for w, f in zip(words, expected, strict=True) if w.isalpha() and w.isascii()
    ]  # all plain: the one-search path
    assert any(f > 0 for f in expected)


@pytest.mark.parametrize("lang", ["zh", "ko", "xx", ""])
def test_wordfreq_frequencies_fall_back_as_wordfreq_frequency_does(lang: str) -> None:
    words = distinct(" ".join(TEXTS.values()))
    assert wordfreq_frequencies(words, lang) == [wordfreq_frequency(w, lang) for w in words]


MIGRATION = "migrant ru:мигрант fa:مهاجر ar:مهاجر de:flüchtling tr:göçmen el:μετανάστης hi:प्रवासी"
GROUPS = (
    ConceptGroup("migration", (*MIGRATION.split(), "zh:移民", "ko:이주민", "id:pengungsi", "ro:migrant")),
    ConceptGroup("place", ("=москву", "moscow", "mosk*", "m*", "afghan*", "afgan", "ru:афганский")),
    ConceptGroup("phrase", ("labour migrant", "ru:квоты на")),
)


def hits(m: Matcher, tokens: list[str]) -> tuple[list[list[tuple[int, int, bool]]], list[str]]:
    groups, excluded = m.find(tokens, 3)
    return [[(h.term, h.position, h.in_title) for h in g] for g in groups], excluded


@pytest.mark.parametrize("morphology", [False, True])
def test_the_matcher_learns_a_document_together_as_atoms_of_does(morphology: bool) -> None:
    analyzer = Analyzer(wordfreq_frequency)

    def make(cache_size: int = 200_000) -> Matcher:
        langs = ("en", "ru", "fa", "de")
        if morphology:
            morph = Morphology()
            return Matcher(GROUPS, ("ru:ёлка",), morph.key, langs, morph.term_key, cache_size)
        return Matcher(GROUPS, ("ru:ёлка",), analyzer.stem_in, langs, cache_size=cache_size)

    tokens = tokenize(" ".join(TEXTS.values()) + " labour migrants")
    single = make()
    expected_atoms = {t: single.atoms_of(t) for t in tokens}  # word by word, nothing batched
    together = make()
    got = hits(together, tokens)
    assert {t: together._memo.atoms.get(t, frozenset()) for t in tokens} == expected_atoms
    assert together._memo.seen == set(tokens)
    assert together._memo.hits == {t for t, ids in expected_atoms.items() if ids}
    assert sum(map(len, got[0][:2])) >= 10 and got[0][2] and got[1] == ["ru:ёлка"]
    assert hits(make(cache_size=5), tokens) == got  # no room: token by token, the same hits
    assert hits(together, tokens) == got  # warm


def test_the_tfidf_backend_learns_weights_and_index_as_feature_gives_them() -> None:
    seed = Document("Afghan migrants", TEXTS["en"] + " " + TEXTS["ru"], "en")
    backend = TfidfBackend(Analyzer(wordfreq_frequency), [example("seed", seed)], [])
    reference = Analyzer(wordfreq_frequency)
    postings = backend._index.postings
    for lang, text in TEXTS.items():
        tokens = tokenize(text)
        counts = {t: tokens.count(t) for t in tokens}
        backend.compare(Document("", text), tokens, lang, counts)
        weights, indexed = backend._learnt[lang]
        for t in counts:
            stem, w = reference.feature(t, lang)
            assert weights[t] == w
            assert (t in indexed) == bool(w and stem in postings)
    assert backend._learnt["en"][1] and backend._learnt["ru"][1]  # some words are in the seed


def test_normalise_folds_each_variant_letter_wherever_it_is() -> None:
    assert normalise("Ёлка, ЁЖ и ёж") == "елка, еж и еж"
    assert normalise("كتاب يك آب أو إلى على") == "کتاب یک اب او الی علی"
    assert normalise("İstanbul") == "istanbul"  # "İ".lower() is "i" + U+0307, the dot goes
    assert normalise("Plain text stays") == "plain text stays"
    mixed = "ЁКаЁ" * 50 + "آكي" * 50 + "İ" * 3
    assert normalise(mixed) == ("екае" * 50 + "اکی" * 50 + "i" * 3)


def test_threads_with_small_renewing_caches_score_as_one_thread_does() -> None:
    docs = [
        h.ON_TOPIC_LABOUR, h.RUSSIAN_ON_TOPIC, *h.NEAR_MISSES,
        *(Document(text.split()[0], text) for text in TEXTS.values()),
    ] * 4  # fmt: skip
    expected = [match.build_model(h.shipped_topic()).score(d) for d in docs]
    small = match.build_model(h.shipped_topic(), analyzer=Analyzer(wordfreq_frequency, cache_size=40))
    with ThreadPoolExecutor(4) as pool:  # caches learnt, full and renewed while others read them
        assert list(pool.map(small.score, docs)) == expected
    assert any(s.matched for s in expected) and not all(s.matched for s in expected)
    assert isinstance(small.backend, TfidfBackend)
    assert all(len(cache) <= 40 for cache in small.backend.analyzer._cache.values())


@pytest.mark.parametrize("lang", sorted({*TEXTS, "uk", "bg", "ur", "it", "id", "ja", ""}))
def test_words_are_grouped_by_language_as_letter_by_letter(lang: str) -> None:
    """``features.by_language`` asks the language once for all ASCII first letters (the premise:
    the analyser gives every ASCII letter one language) and once for each other first letter."""
    from watcher.match.features import by_language

    analyzer = Analyzer(wordfreq_frequency)
    assert len({analyzer.token_language(chr(c), lang) for c in range(128)}) == 1
    words = distinct(" ".join(TEXTS.values()) + " 2024 _x ÿes Ñu ßa")
    asked: list[str] = []

    def language_of(c: str) -> str:
        asked.append(c)
        return analyzer.token_language(c, lang)

    for sample in (words, [w for w in words if w.isascii()], [w for w in words if not w[0].isascii()]):
        asked.clear()
        groups = by_language(sample, language_of)
        expected: dict[str, list[str]] = {}
        for w in sample:  # the reference: each word by its own first letter
            expected.setdefault(analyzer.token_language(w[0], lang), []).append(w)
        assert groups == expected
        others = {w[0] for w in sample if not w[0].isascii()}
        assert len(asked) == len(others) + any(w[0].isascii() for w in sample)
