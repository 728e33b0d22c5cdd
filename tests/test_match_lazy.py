"""The seed comparison is skipped only where it changes neither a score nor a reason shown (issue 12.7).

``TopicModel.score`` leaves an article uncompared with the seeds when its score is 0 whatever the
comparison says (a required concept missing), or when no seed is in its language and no article
is labelled irrelevant; ``score(doc, full=True)`` always compares.  An article the gate settles
(``match/gate.py``: the most selective required concept named by no word) names that concept
alone.  Over the labelled dev articles the two agree on every score and verdict, on every line
``explain`` prints and every reason of each article scoring above 0 or matched, and on every field
of the articles whose score may depend on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from tests import match_helpers as h
from watcher import match
from watcher.match.explain import explain
from watcher.models import Document, Score

WEAK = Document("Afghans in Russia", "Afghan families in Moscow met officials about schools.")


def _compare(model: match.TopicModel, docs: Sequence[Document]) -> tuple[int, int]:
    """Lazy against full on each document: (documents left uncompared, documents compared)."""
    skipped = compared = gated = 0
    for doc in docs:
        lazy, full = model.score(doc), model.score(doc, full=True)
        assert (lazy.score, lazy.matched) == (full.score, full.matched), doc.url
        if lazy.score > 0 or lazy.matched:  # explained: every line an analyst reads is the same
            assert explain(lazy, model.threshold) == explain(full, model.threshold), doc.url
            assert lazy.reasons() == full.reasons(), doc.url
        if model.gate is not None and lazy.groups == {model.gate.name: ()}:  # settled by the gate:
            gated += 1  # the concept it names is missing in the full analysis too, nothing else read
            assert full.groups[model.gate.name] == () and full.strengths[model.gate.name] == 0.0, doc.url
            assert lazy.strengths == {model.gate.name: 0.0} and lazy.language == full.language, doc.url
            full = dataclasses.replace(full, groups=lazy.groups, strengths=lazy.strengths)
            full = dataclasses.replace(full, excluded=(), title_terms=(), keyword_score=0.0)
        assert dataclasses.replace(lazy, **_seed_fields(full)) == full  # only the seed fields differ
        if lazy.score > 0 and model.backend.covers(lazy.language or ""):
            compared += 1  # the score may depend on it: compared, every field as before
            assert lazy == full, doc.url
        elif lazy != full:
            skipped += 1
            assert lazy.nearest_seed is None and lazy.similarity_weight == 0.0
    assert gated > 50  # most dev articles name no Afghan: the gate settles them
    return skipped, compared


def _seed_fields(score: Score) -> dict[str, object]:
    names = ("nearest_seed", "seed_similarity", "similarity_score", "centroid_similarity")
    names += ("nearest_negative", "negative_similarity", "similarity_weight")
    return {n: getattr(score, n) for n in names}


def test_lazy_and_full_scores_agree_on_every_dev_article_with_the_fitted_topic() -> None:
    records = h.dev_records()
    model = match.build_model(h.shipped_topic())
    assert model.combination is not None and not model.negatives  # the shipped topic as it runs
    skipped, compared = _compare(model, [r.document for r in records])
    assert skipped > 50 and compared > 20  # both kinds are there: the test compares something


def test_lazy_and_full_scores_agree_with_the_hand_set_formula() -> None:
    records = h.dev_records()
    model = match.build_model(h.shipped_topic(), fitted=False)
    assert model.combination is None and model.topic.similarity.weight > 0  # similarity counts here
    skipped, compared = _compare(model, [r.document for r in records])
    assert skipped > 50 and compared > 20


def test_an_article_in_a_language_no_seed_is_in_is_compared_only_with_negatives_in_play() -> None:
    german = Document(
        "Afghanische Flüchtlinge in Russland",
        "Russland schiebt afghanische Flüchtlinge und Migranten ab, berichten Behörden in Moskau. "
        "Die Abschiebung afghanischer Migranten aus Russland nimmt zu.",
        "de",
    )
    model = match.build_model(h.shipped_topic())
    assert not model.backend.covers("de")  # the seeds are in English and Russian
    lazy, full = model.score(german), model.score(german, full=True)
    assert lazy.score == full.score > 0 and lazy.centroid_similarity == 0.0 < full.centroid_similarity
    labelled = match.build_model(h.shipped_topic(), negatives=[german])
    lazy = labelled.score(german)
    assert lazy == labelled.score(german, full=True)
    assert lazy.nearest_negative is not None and lazy.score < full.score


def test_articles_with_negatives_in_play_are_compared() -> None:
    # a look-alike of an article labelled irrelevant: it has every concept, so its score is above 0
    # and only the comparison with that article pulls it down
    look_alike = dataclasses.replace(
        h.NEAR_MISS_PAKISTAN,
        title="Pakistan deports Afghan refugees as Russia watches",
        text=h.NEAR_MISS_PAKISTAN.text + " Russia said it was following the deportations closely.",
    )
    plain = match.build_model(h.shipped_topic()).score(look_alike)
    model = match.build_model(h.shipped_topic(), negatives=[h.NEAR_MISS_PAKISTAN])
    lazy = model.score(look_alike)
    assert lazy == model.score(look_alike, full=True)
    assert lazy.nearest_negative == "pakistan" and lazy.score < plain.score


@pytest.mark.parametrize("fitted", [True, False])
def test_a_threshold_of_zero_compares_every_article(fitted: bool) -> None:
    topic = dataclasses.replace(h.shipped_topic(), threshold=0.0, threshold_set=True)
    model = match.build_model(topic, fitted=fitted)
    lazy = model.score(WEAK)  # no migration term: it scores 0
    assert lazy.score == 0.0 and lazy.matched  # a score of 0 matches: it must be explained
    assert lazy == model.score(WEAK, full=True)
    assert lazy.nearest_seed is not None and lazy.similarity_weight > 0


def test_an_article_missing_a_concept_is_left_uncompared_yet_check_names_its_nearest_seed() -> None:
    model = h.shipped_model()
    lazy, full = model.score(WEAK), model.score(WEAK, full=True)
    assert lazy.score == full.score == 0.0
    assert lazy.nearest_seed is None and full.nearest_seed is not None
