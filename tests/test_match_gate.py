"""The gate (issue 12 point 7): an article naming no word of the most selective required concept
scores 0 before its words are keyed, and only such an article.

The gate's answer must be the matcher's: a concept it finds absent has no term in the full
analysis (else a relevant article would be lost), and an article whose full analysis finds no term
of the concept is settled by it (else the gate saves nothing), in Arabic and Persian too, whose
stemmers strip prefixes.  Held over the dev articles and over word salads in sixteen languages
drawn from wordfreq's lists (no text copied).
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Iterable

import pytest

from tests import match_helpers as h
from watcher import match
from watcher.config import ConceptGroup
from watcher.match.keywords import Matcher, without_proclitics
from watcher.match.morph import Morphology
from watcher.match.terms import MIN_STEM
from watcher.match.text import (
    TOKEN_LETTERS,
    arabic_skeleton,
    document_text,
    document_words,
    leading_words,
    script_of,
    tokenize,
    words_holding,
)
from watcher.models import Document

LANGUAGES = ("en", "ru", "de", "fr", "es", "fa", "ar", "tr", "uk", "pl", "it", "pt", "nl", "el", "hi", "zh")


def _check(model: match.TopicModel, docs: Iterable[Document]) -> tuple[int, int]:
    """(articles the gate settled, articles without the concept): the two properties, per article."""
    gate = model.gate
    assert gate is not None
    settled = absent = 0
    for doc in docs:
        full = model.score(doc, full=True)
        lazy = model.score(doc)
        named = gate.named(document_text(doc.title, doc.text), model.matcher.atoms_of)
        _, tokens = document_words(doc.title, doc.text)
        assert leading_words(doc.title, doc.text, 120) == tokens[:120]  # (a settled article's language)
        if not named:  # never a concept told absent that the full analysis finds
            settled += 1
            assert full.groups[gate.name] == () and full.score == 0.0, doc.url or doc.title
            assert lazy.groups == {gate.name: ()} and not lazy.matched, doc.url or doc.title
        if not full.groups[gate.name]:
            absent += 1
            # ... and every article without it settled
            assert not named, (doc.url or doc.title, gate.name)
    return settled, absent


def test_the_shipped_topic_gates_on_its_most_selective_concept() -> None:
    model = h.shipped_model()
    assert model.gate is not None and model.gate.name == "afghanistan"
    assert not model.gate.open and "arabic" not in model.gate.scripts  # no script lets every word in
    others = [model.matcher.gate(g.name, [i]) for i, g in enumerate(model.matcher.groups) if g.required]
    assert all(len(model.gate.heads) <= len(o.heads) for o in others)


def test_no_gate_where_an_article_missing_a_concept_may_still_score() -> None:
    topic = h.shipped_topic()
    assert match.build_model(topic, fitted=False).gate is not None  # the hand-set formula: all needed
    assert match.build_model(dataclasses.replace(topic, min_groups=2), fitted=False).gate is None
    zero = dataclasses.replace(topic, threshold=0.0, threshold_set=True)  # a score of 0 matches
    assert match.build_model(zero).gate is None and match.build_model(zero, fitted=False).gate is None


def test_the_gate_agrees_with_the_full_analysis_on_every_dev_article() -> None:
    settled, absent = _check(h.shipped_model(), [r.document for r in h.dev_records()])
    assert settled > 50 and absent >= settled  # both kinds are there: the test compares something


def _salads(n: int, words: int, seed: int) -> list[Document]:
    """Word salads at real frequencies in sixteen languages, a third with the topic's own terms."""
    import wordfreq

    rng = random.Random(seed)
    topic_words = [t.partition(":")[2] for g in h.shipped_topic().groups for t in g.terms if ":" in t]
    out = []
    for i in range(n):
        lang = LANGUAGES[i % len(LANGUAGES)]
        body = rng.sample(wordfreq.top_n_list(lang, 20_000), words)
        if i % 3 == 0:
            body[rng.randrange(words)] = rng.choice(topic_words).rstrip("*")
        out.append(Document(" ".join(body[:6]), " ".join(body[6:]), url=f"salad:{lang}:{i}"))
    return out


def test_the_gate_agrees_with_the_full_analysis_on_word_salads_in_sixteen_languages() -> None:
    settled, absent = _check(h.shipped_model(), _salads(480, 300, seed=3))
    assert settled > 200 and absent >= settled


@pytest.mark.parametrize(
    ("title", "text", "settled"),
    [
        # words starting like a term ("cab", "kab", "bul" inside Indonesian keys) that match none
        ("Cabinet meets", "The cabinet met online; a cable from Istanbul and a bulletin.", True),
        # the second word of a phrase term alone ("afg oniston*", "afg on*") names nothing
        ("Oniston online", "Only one onion.", True),
        ("Kabul talks", "Officials met in Kabul.", False),
        ("Встреча в Кабуле", "Делегация прилетела в Кабул.", False),
        ("Les Afghans", "Des réfugiés afghans.", False),
        ("阿富汗难民", "难民", False),
        ("گزارش اقتصادی", "دولت ایران درباره اقتصاد و بازار کار گفت.", True),
        ("مهاجران", "مهاجران افغانستانی در مسکو.", False),
        ("اللاجئون", "وصل اللاجئون إلى كابول.", False),
        ("حقوق", "حقوق وللأفغان في روسيا.", False),  # particles written onto the word
    ],
)
def test_an_article_is_settled_only_without_a_word_of_the_concept(
    title: str, text: str, settled: bool
) -> None:
    model = h.shipped_model()
    lazy, full = model.score(Document(title, text)), model.score(Document(title, text), full=True)
    assert (lazy.groups == {"afghanistan": ()}) is settled
    assert bool(full.groups["afghanistan"]) is not settled


def test_what_a_word_matches_does_not_depend_on_the_other_terms_of_its_language() -> None:
    # A keyer that maps a form to a lemma starting otherwise (as a dictionary may): "went" -> "go".
    def key(word: str, lang: str) -> str:
        return {"went": "goes"}.get(word, word)

    going = ConceptGroup("going", ("en:goes",))
    other = ConceptGroup("other", ("en:wendy",))  # a term of the language starting like "went"
    alone = Matcher([going], (), key)
    together = Matcher([going, other], (), key)
    for matcher in (alone, together):
        hits, _ = matcher.find(["goes", "went"], 0)
        assert [hit.position for hit in hits[0]] == [0]  # "went" starts like no word of "going"
        assert not matcher.gate("going", [0]).named("went", matcher.atoms_of)
        assert matcher.gate("going", [0]).named("goes", matcher.atoms_of)


def test_indonesian_keys_hold_their_word_but_its_first_letter() -> None:
    # The gate looks for an Indonesian stem's key without its first letter in a word (the stemmer
    # strips prefixes and may change the first letter left: "menyapu" -> "sapu"); the matcher
    # holds a word to that.  No word of the common Indonesian, Malay-looking or English words
    # loses a key so.
    import wordfreq

    morphology = Morphology()
    words = {w for lang in ("id", "en") for w in wordfreq.top_n_list(lang, 20_000) if w.isalpha()}
    words |= {"menyapu", "memukul", "penyanyi", "diafghanistankan", "keafghanistanan", "pengungsinya"}
    keys = dict(zip(sorted(words), morphology.keys(sorted(words), "id"), strict=True))
    assert keys["menyapu"] == "sapu" and keys["memukul"] == "pukul"  # the first letter changed
    lost = [(w, k) for w, k in keys.items() if len(k) >= MIN_STEM and k[1:] not in w]
    assert lost == []


def test_arabic_and_persian_keys_are_held_by_their_words_skeletons() -> None:
    # ``Matcher._admitted``: in Arabic and Persian (their stemmers strip prefixes) a word matches a
    # term's key only as a listed dictionary form or when its skeleton holds the key's but its last
    # letter.  Over the common words of three Arabic-script languages, no word keyed to a term's key
    # loses it so.
    import wordfreq

    model = h.shipped_model()
    matcher, morphology = model.matcher, model.morphology
    assert morphology is not None
    words = {t for lang in ("fa", "ar", "ur") for w in wordfreq.top_n_list(lang, 50_000) for t in tokenize(w)}
    arabic = sorted(w for w in words if script_of(w) == "arabic")
    checked = 0
    for lang in ("fa", "ar"):
        table, tabled = matcher._stems[lang], morphology.tabled(lang)
        assert tabled is not None  # the shipped table covers the topic's keys: no dictionary
        for word, key in zip(arabic, morphology.keys(arabic, lang), strict=True):
            keyed = [(word, key)] if key in table else []
            if not keyed and lang == "ar":  # again without particles written onto it
                keyed = [(c, morphology.key(c, lang)) for c in without_proclitics(word)]
            for form, k in keyed:
                if k in table and Morphology.nfc(form) not in tabled.forms:
                    checked += 1
                    assert arabic_skeleton(k)[:-1] in arabic_skeleton(word), (lang, word, k)
    assert checked > 300  # the lists hold many of the terms' words: the test compares something


@pytest.mark.parametrize("n", [1, 3, 5, 8, 40])
@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Afghans in Russia", "Afghans in Russia\n\nAfghan workers arrived in Kazan; employers waited. " * 3),
        ("ΟΙ ΠΡΟΣΦΥΓΕΣ", "ΟΙ ΠΡΟΣΦΥΓΕΣ ΣΤΗ ΡΩΣΙΑ ΚΑΙ ΟΙ ΑΦΓΑΝΟΙ ΜΕΤΑΝΑΣΤΕΣ ΦΤΑΝΟΥΝ ΣΤΗ ΜΟΣΧΑ. " * 4),
        ("", "Один-два: мигранты, беженцы — и студенты! " * 5),
        ("Title", "x" * 300 + " tail words after one long word " * 3),
        ("Emoji \U0001f600 title", "Words \U0001f600 with astral\U0001f600characters inside them. " * 6),
    ],
)
def test_the_leading_words_are_the_first_words_of_the_whole_document(title: str, text: str, n: int) -> None:
    assert leading_words(title, text, n) == document_words(title, text)[1][:n]


@pytest.mark.parametrize(
    ("text", "part", "words"),
    [
        ("bulletin: istanbul, bul-bul; Bul", "bul", ["bulletin", "istanbul", "bul", "bul"]),
        ("阿富汗人 在 喀布尔 阿富汗", "阿富汗", ["阿富汗人", "阿富汗"]),
        ("no such word here", "xyz", []),
        ("kabulkabul", "kabul", ["kabulkabul"]),  # a word once, however often it holds the part
        ("x" * 200 + "bul" + "y" * 70 + " bul", "bul", ["x" * 200 + "bul" + "y" * 70, "bul"]),  # long
        ("a " + "z" * 130 + "bul", "bul", ["z" * 130 + "bul"]),
    ],
)
def test_the_words_holding_a_part_are_whole_words(text: str, part: str, words: list[str]) -> None:
    assert words_holding(text, part) == words
    whole = f"[{TOKEN_LETTERS}]*{re.escape(part)}[{TOKEN_LETTERS}]*"
    assert words_holding(text, part) == re.findall(whole, text)


def test_a_skeleton_is_the_text_letter_for_letter() -> None:
    text = "اللاجئون في كابول، والأفغان هنا؛ لاجئة مؤقتة"
    skeleton = arabic_skeleton(text)
    assert len(skeleton) == len(text) and skeleton != text
    assert words_holding(text, "لاجی", skeleton) == ["اللاجئون", "لاجئة"]  # found in the skeleton
