"""The matcher's per-token caches stay bounded and never change an answer; prefix terms of any length."""

from __future__ import annotations

from watcher.config import ConceptGroup
from watcher.match.keywords import Matcher
from watcher.match.morph import Morphology
from watcher.match.text import Analyzer, tokenize, wordfreq_frequency

TEXT = (
    "Afghan migrants reached Moscow while a quota for labour migration was debated; "
    "the Afghans said the migrant workers in Russia wait for papers, and apples, axes "
    "and other words pass by: zebra yacht xylophone violin umbrella tiger"
)
GROUPS = (
    ConceptGroup("afghan", ("afghan*",)),
    ConceptGroup("migration", ("migrant", "migration", "quota")),
    ConceptGroup("letter", ("a*",)),  # a one-letter prefix: not in the two-letter index
)


def hits(m: Matcher, tokens: list[str]) -> list[list[tuple[int, int]]]:
    return [[(h.term, h.position) for h in group] for group in m.find(tokens, 0)[0]]


def test_a_bounded_matcher_finds_what_an_unbounded_one_finds() -> None:
    analyzer = Analyzer(wordfreq_frequency)
    unbounded = Matcher(GROUPS, (), analyzer.stem_in)
    bounded = Matcher(GROUPS, (), analyzer.stem_in, cache_size=4)
    tokens = tokenize(TEXT)
    expected = hits(unbounded, tokens)
    assert all(expected)  # each group, the one-letter prefix too, is found
    assert {tokens[pos] for _, pos in expected[2]} == {"afghan", "afghans", "and", "apples", "axes"}
    for _ in range(3):  # cold, then with the bounded cache renewed over and over
        assert hits(bounded, tokens) == expected
        assert len(bounded._memo.seen) <= 4 and len(bounded._memo.atoms) <= 4
    assert unbounded._memo.seen == set(tokens)
    assert unbounded._memo.atoms.keys() == {t for t in tokens if unbounded.atoms_of(t)}  # hits only


def test_the_analyzer_cache_is_bounded_per_language_and_answers_alike() -> None:
    bounded = Analyzer(wordfreq_frequency, cache_size=5)
    unbounded = Analyzer(wordfreq_frequency)
    tokens = tokenize(TEXT)
    for token in tokens:
        assert bounded.feature(token, "en") == unbounded.feature(token, "en")
        assert len(bounded.cache_for("en")) <= 5
    assert len(unbounded.cache_for("en")) == len(set(tokens))


def test_morphology_keys_are_bounded_per_language_and_unchanged() -> None:
    bounded = Morphology(cache_size=3)
    unbounded = Morphology()
    words = ["мигранты", "мигрантов", "москва", "москве", "россии", "россия", "квоты"]
    for word in words * 2:
        assert bounded.key(word, "ru") == unbounded.key(word, "ru")
        assert len(bounded._caches["ru"]) <= 3
    assert unbounded.key("мигрантов", "ru") == unbounded.key("мигранты", "ru")
