"""The seed comparison is skipped only where it cannot change a score (issue 12 point 7).

``TopicModel.score`` leaves an article uncompared with the seeds when its score is 0 whatever the
comparison says (a required concept missing); ``score(doc, full=True)`` always compares.  Over
the labelled dev articles the two agree on every score and verdict, and on every reason of every
article the rule calls explained (score above 0 or matched).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from tests import match_helpers as h
from tests.shared_data import require_shared
from watcher import match
from watcher.match.evaluate import Record, read_records
from watcher.models import Document, Score

WEAK = Document("Afghans in Russia", "Afghan families in Moscow met officials about schools.")


def _dev_records() -> list[Record]:
    records: list[Record] = []
    for name in ("dev.jsonl", "dev_multilingual.jsonl"):
        path = require_shared("corpus", name)
        records += read_records(path.read_text(encoding="utf-8").splitlines(), str(path))
    return records


def _compare(model: match.TopicModel, docs: Sequence[Document]) -> tuple[int, int]:
    """Lazy against full on each document: (documents left uncompared, documents explained)."""
    skipped = explained = 0
    for doc in docs:
        lazy, full = model.score(doc), model.score(doc, full=True)
        assert (lazy.score, lazy.matched) == (full.score, full.matched), doc.url
        if lazy.score > 0 or lazy.matched:
            explained += 1
            assert lazy == full, doc.url  # every reason, the nearest seed included
        elif lazy != full:
            skipped += 1
            assert lazy.nearest_seed is None and lazy.similarity_weight == 0.0
            assert dataclasses.replace(lazy, **_seed_fields(full)) == full  # only the seed fields differ
    return skipped, explained


def _seed_fields(score: Score) -> dict[str, object]:
    names = ("nearest_seed", "seed_similarity", "similarity_score", "centroid_similarity")
    names += ("nearest_negative", "negative_similarity", "similarity_weight")
    return {n: getattr(score, n) for n in names}


def test_lazy_and_full_scores_agree_on_every_dev_article_with_the_fitted_topic() -> None:
    records = _dev_records()
    model = match.build_model(h.shipped_topic())
    assert model.combination is not None and not model.negatives  # the shipped topic as it runs
    skipped, explained = _compare(model, [r.document for r in records])
    assert skipped > 20 and explained > 50  # both kinds are there: the test compares something


def test_lazy_and_full_scores_agree_with_the_hand_set_formula() -> None:
    records = _dev_records()
    model = match.build_model(h.shipped_topic(), fitted=False)
    assert model.combination is None and model.topic.similarity.weight > 0  # similarity counts here
    skipped, explained = _compare(model, [r.document for r in records])
    assert skipped > 20 and explained > 50


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
