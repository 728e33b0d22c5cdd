"""Tokenising, language guessing, stemming and the keyword term syntax."""

from __future__ import annotations

import pytest

from watcher.config import ConceptGroup
from watcher.match.keywords import Matcher, apply_contrast, group_results, keyword_score
from watcher.match.text import (
    Analyzer,
    detect_language,
    make_stemmer,
    script_of,
    scripts_of,
    tokenize,
    wordfreq_frequency,
)


def matcher(*groups: ConceptGroup, exclude: tuple[str, ...] = ()) -> Matcher:
    analyzer = Analyzer(wordfreq_frequency)
    return Matcher(groups, exclude, lambda w, lang: analyzer.stemmer(lang)(w))


def found(m: Matcher, text: str, title: str = "") -> dict[str, list[str]]:
    t = tokenize(title)
    hits, _ = m.find(t + tokenize(text), len(t))
    terms = m.group_terms
    return {
        g.name: [terms[gi][h.term].text for h in group_hits]
        for gi, (g, group_hits) in enumerate(zip(m.groups, hits, strict=True))
    }


def test_tokenize_lowercases_folds_yo_and_drops_punctuation() -> None:
    assert tokenize("Russia’s Afghan-migrants: ЁЛКА, «Талибан»!") == [
        "russia", "afghan", "migrants", "елка", "талибан",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The ministry said that the workers were sent to the regions of the country.", "en"),
        ("Министерство сообщило, что мигранты будут работать в регионах страны.", "ru"),
        ("Міністерство повідомило, що мігранти працюватимуть у регіонах після війни.", "uk"),
        ("وزارت گفت که کارگران به روسیه فرستاده می شوند و پناهجویان برمی گردند", "fa"),
        ("Le ministère a dit que les travailleurs sont dans les régions pour une année.", "fr"),
        (
            "Das Ministerium sagte, dass die Arbeiter nicht mit den Flüchtlingen sind.",
            "de",
        ),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_snowball_stems_inflected_russian_and_english_alike() -> None:
    ru, en = make_stemmer("ru"), make_stemmer("en")
    assert ru("мигрантов") == ru("мигранты") == ru("мигрант")
    assert en("evacuated") == en("evacuation") == en("evacuate")
    assert make_stemmer("xx")("слово") == "слово"  # no stemmer: identity


def test_stemmed_terms_match_inflected_forms_in_both_languages() -> None:
    m = matcher(ConceptGroup("migration", ("migrant", "refugee", "мигрант", "беженец")))
    got = found(m, "Migrants and refugees; мигрантов и мигрантами")
    assert got["migration"] == ["migrant", "refugee", "мигрант", "мигрант"]


def test_wildcard_exact_phrase_and_language_prefix() -> None:
    m = matcher(
        ConceptGroup("afghan", ("afgha*",)),
        ConceptGroup("rf", ("=рф",)),
        ConceptGroup("permit", ("work permit", "fr:réfugié")),
    )
    got = found(m, "Afghanistan's Afghans; РФ and рфы; a work permit, work and permit; des réfugiés")
    assert got["afghan"] == ["afgha*", "afgha*"]
    assert got["rf"] == ["=рф"]  # "рфы" is another word
    assert got["permit"] == ["work permit", "fr:réfugié"]  # "work and permit" is not the phrase


def test_a_word_counts_once_per_group_even_when_several_terms_match() -> None:
    m = matcher(ConceptGroup("migration", ("migrant", "migra*")))
    assert found(m, "migrants")["migration"] == ["migrant"]


def test_exclusions_are_reported() -> None:
    m = matcher(ConceptGroup("afghan", ("afghan*",)), exclude=("cricket",))
    _, excluded = m.find(tokenize("Afghan cricket team wins"), 0)
    assert excluded == ["cricket"]


def test_title_and_spread_weigh_more_than_repetition_in_one_passage() -> None:
    groups = (ConceptGroup("afghan", ("afghan*",)),)
    m = matcher(*groups)
    filler = " ".join(["word"] * 100)
    once = group_results(m, m.find(tokenize(f"{filler} afghan afghan afghan"), 0)[0], 0, 1.5)
    spread = group_results(
        m, m.find(tokenize(f"{filler} afghan {filler} afghan {filler} afghan"), 0)[0], 0, 1.5
    )
    title_toks = tokenize("Afghan news")
    title = group_results(m, m.find(title_toks + tokenize(filler), len(title_toks))[0], 2, 1.5)
    assert once[0].evidence == 1.0  # three mentions in one passage are one piece of evidence
    assert spread[0].evidence == 3.0
    assert title[0].evidence == 3.0 and title[0].title_terms == ("afghan*",)
    assert 0 < once[0].strength < spread[0].strength < 1


def test_keyword_score_is_an_and_of_ors_and_min_groups_relaxes_it() -> None:
    groups = (ConceptGroup("a", ("alpha",)), ConceptGroup("b", ("beta",)))
    m = matcher(*groups)
    only_a = group_results(m, m.find(tokenize("alpha alpha"), 0)[0], 0, 1.5)
    both = group_results(m, m.find(tokenize("alpha beta"), 0)[0], 0, 1.5)
    assert keyword_score(groups, only_a, None) == 0.0
    assert 0 < keyword_score(groups, only_a, 1) < keyword_score(groups, both, 1)
    assert keyword_score(groups, both, None) == pytest.approx(both[0].strength * both[1].strength)


def test_contrast_group_weakens_the_group_it_outweighs() -> None:
    groups = (
        ConceptGroup("russia", ("russia",)),
        ConceptGroup("elsewhere", ("pakistan", "iran"), required=False, contrast="russia"),
    )
    m = matcher(*groups)
    filler = " ".join(["word"] * 30)
    text = f"pakistan {filler} iran {filler} pakistan {filler} russia"
    results = group_results(m, m.find(tokenize(text), 0)[0], 0, 1.5)
    weakened = apply_contrast(groups, results)
    assert weakened[0].strength < results[0].strength
    assert weakened[0].outweighed_by == "elsewhere"
    balanced = group_results(m, m.find(tokenize(f"russia {filler} russia iran"), 0)[0], 0, 1.5)
    assert apply_contrast(groups, balanced)[0].strength == balanced[0].strength


def test_topic_languages_choose_the_stemmer_of_plain_terms() -> None:
    analyzer = Analyzer(wordfreq_frequency)
    group = ConceptGroup("refugees", ("flüchtling",))
    german = Matcher((group,), (), analyzer.stem_in, ("de", "ru"))
    english = Matcher((group,), (), analyzer.stem_in)
    tokens = tokenize("Die Flüchtlingen kommen")
    assert german.find(tokens, 0)[0][0]  # German stemmer: flüchtlingen -> flüchtling
    assert not english.find(tokens, 0)[0][0]


def test_scripts_of_many_letters_is_script_of_each() -> None:
    """``scripts_of`` (a pattern a script over all letters) sorts every code point as ``script_of``
    does one by one, in one call and in small batches."""
    letters = {chr(cp) for cp in range(0x110000)}
    expected: dict[str, set[str]] = {}
    for c in letters:
        expected.setdefault(script_of(c), set()).add(c)
    assert scripts_of(letters) == expected
    assert len(expected) == 7  # every script, and "other"
    for batch in ({"a", "я", "ب", "α", "क", "汉", "€"}, {"\u024f", "\u0250"}, {"\ufeff", "\uff00"}, set()):
        assert scripts_of(batch) == {s: batch & chars for s, chars in expected.items() if batch & chars}
