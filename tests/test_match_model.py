"""The shipped topic on articles written for the tests: on-topic, near misses, Russian, titles."""

from __future__ import annotations

import dataclasses
import pickle
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests import match_helpers as h
from tests.server import Server
from watcher import match
from watcher.config import ConceptGroup, SimilarityConfig, TopicConfig
from watcher.errors import ConfigError
from watcher.match.explain import explain
from watcher.match.text import tokenize, without_headline
from watcher.models import Document, Score


def test_on_topic_articles_match_with_reasons() -> None:
    model = h.shipped_model()
    for doc in (h.ON_TOPIC_LABOUR, h.ON_TOPIC_REFUGEES):
        score = model.score(doc)
        assert score.matched, (doc.id, score)
        assert set(score.groups) >= {"russia", "afghanistan", "migration"}
        assert all(score.groups[g] for g in ("russia", "afghanistan", "migration"))
        assert score.nearest_seed is not None and score.seed_similarity > 0.1
        assert 0.0 <= score.score <= 1.0


@pytest.mark.parametrize("doc", h.NEAR_MISSES, ids=lambda d: d.id)
def test_each_kind_of_near_miss_stays_out(doc: Document) -> None:
    score = h.shipped_model().score(doc)
    assert not score.matched, score.reasons()
    assert score.score < h.shipped_model().threshold - 0.1


def test_near_miss_reasons_say_what_is_missing_or_outweighed() -> None:
    model = h.shipped_model()
    diplomacy = model.score(h.NEAR_MISS_DIPLOMACY)  # talks and trade: "transit" of goods at most
    assert len(diplomacy.groups["diplomacy"]) > len(diplomacy.groups["migration"])
    assert model.score(h.NEAR_MISS_CENTRAL_ASIA).groups["afghanistan"] == ()
    pakistan = model.score(h.NEAR_MISS_PAKISTAN)
    assert "pakistan" in pakistan.groups["elsewhere"]
    assert pakistan.strengths["russia"] < 0.2  # Russia only in passing, Pakistan and Iran dominate


def test_russian_articles_are_judged_by_russian_keywords() -> None:
    model = h.shipped_model()
    on, off = model.score(h.RUSSIAN_ON_TOPIC), model.score(h.RUSSIAN_NEAR_MISS)
    assert on.language == "ru" and on.matched
    assert "мигрант" in on.groups["migration"]
    assert on.similarity_weight == 0.0  # no Russian seed: TF-IDF cannot compare across languages
    assert not off.matched


def test_title_only_articles() -> None:
    model = h.shipped_model()
    on, off = model.score(h.TITLE_ONLY_ON_TOPIC), model.score(h.TITLE_ONLY_OFF_TOPIC)
    assert on.matched and set(on.title_terms) >= {"russia", "afghan"}
    assert on.similarity_weight < 0.2  # too short for similarity to say much
    assert not off.matched


@pytest.mark.parametrize("doc", (h.ON_TOPIC_REFUGEES, *h.NEAR_MISSES), ids=lambda d: d.id)
def test_a_text_that_repeats_its_headline_scores_as_one_that_does_not(doc: Document) -> None:
    # Whether an extracted page's text opens with the <h1> is the site's markup, not the story: a
    # name in the headline once counted twice as much in such a page (issue 12).
    model = h.shipped_model()
    plain = model.analyse(doc)
    for text in (f"{doc.title}\n{doc.text}", f"{doc.title.upper()}.\n\n{doc.title}\n{doc.text}"):
        repeated = model.analyse(dataclasses.replace(doc, text=text))
        assert repeated == plain, text[:80]


def test_only_whole_lines_that_repeat_the_headline_at_the_start_are_dropped() -> None:
    title = tokenize("Afghan students in Pakistan")
    twice = "Afghan students in Pakistan\n\nAFGHAN STUDENTS IN PAKISTAN.\nMore."
    assert without_headline(title, twice) == "More."
    # a first sentence that opens with the headline's words says more: it stays whole
    opening = "Afghan students in Pakistan fear deportation.\nMore."
    assert without_headline(title, opening) == opening
    later = "More.\nAfghan students in Pakistan"
    assert without_headline(title, later) == later
    assert without_headline([], "Afghan students in Pakistan\nMore.") == "Afghan students in Pakistan\nMore."
    assert without_headline(title, "Afghan students in Pakistan") == ""
    padded = "  Afghan   students — in Pakistan!  \nMore."  # the same words, however spaced
    assert without_headline(title, padded) == "More."


def test_explanation_lists_groups_terms_and_nearest_seed() -> None:
    model = h.shipped_model()
    text = "\n".join(explain(model.score(h.ON_TOPIC_LABOUR), model.threshold))
    assert "MATCH" in text and "quota [title]" in text and "nearest seed: 000_" in text
    assert "russia" in model.score(h.ON_TOPIC_LABOUR).reasons()


def test_score_round_trips_through_json_dict() -> None:
    score = h.shipped_model().score(h.ON_TOPIC_REFUGEES)
    import json

    back = Score.from_dict(json.loads(json.dumps(score.to_dict())))
    assert back == score
    assert Score.from_dict({"topic": "t", "score": 0.5, "matched": True, "new_field": 1}).topic == "t"


def test_model_is_picklable_and_thread_safe() -> None:
    model = h.shipped_model()
    docs = [h.ON_TOPIC_LABOUR, h.RUSSIAN_ON_TOPIC, *h.NEAR_MISSES] * 5
    expected = [model.score(d) for d in docs]
    fresh = match.build_model(h.shipped_topic())
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(fresh.score, docs)) == expected
    clone = pickle.loads(pickle.dumps(match.build_model(h.shipped_topic())))
    assert [clone.score(d) for d in docs] == expected


def test_negative_feedback_pulls_look_alikes_down_and_positive_lifts_them() -> None:
    topic = h.shipped_topic()
    look_alike = dataclasses.replace(
        h.NEAR_MISS_PAKISTAN,
        title="Pakistan deports Afghan refugees as Russia watches",
        text=h.NEAR_MISS_PAKISTAN.text + " Russia said it was following the deportations closely.",
    )
    plain = match.build_model(topic).score(look_alike)
    with_negative = match.build_model(topic, negatives=[h.NEAR_MISS_PAKISTAN]).score(look_alike)
    assert with_negative.nearest_negative == "pakistan"
    assert with_negative.negative_similarity > 0.5
    assert with_negative.score < plain.score
    weak = Document("Afghans in Russia", "A short note: Afghan families in Moscow met officials.")
    # (no migration term: it scores 0 either way, so only a full analysis compares it with the seeds)
    before = match.build_model(topic).score(weak, full=True)
    after = match.build_model(topic, extra_seeds=[h.ON_TOPIC_REFUGEES]).score(weak, full=True)
    assert after.seed_similarity > before.seed_similarity


def _topic(**kw: object) -> TopicConfig:
    base = TopicConfig(
        name="t",
        groups=(ConceptGroup("a", ("afghan*",)), ConceptGroup("m", ("migrant",))),
        similarity=SimilarityConfig(weight=0.0),
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_exclusion_cuts_the_score() -> None:
    doc = Document("Afghan migrants", "Afghan migrants play cricket in the park. Afghan migrants.")
    plain = match.build_model(_topic()).score(doc)
    excluded = match.build_model(_topic(exclude=("cricket",))).score(doc)
    assert excluded.excluded == ("cricket",) and "excluded: cricket" in excluded.reasons()
    assert plain.matched and not excluded.matched
    assert excluded.score < plain.score
    # the exclusion list is only about the words it names: a document without them is untouched
    other = Document("Afghan migrants", "Afghan migrants work in the park. Afghan migrants.")
    assert match.build_model(_topic(exclude=("cricket",))).score(other) == match.build_model(
        _topic()
    ).score(other)


def test_url_seeds_are_fetched_through_the_given_function(http_server: Server) -> None:
    http_server.route("/seed", "Afghan migrants\nAfghan migrants wait for permits in the city.")

    def fetch(url: str) -> str:
        return httpx.get(url, timeout=5).text

    topic = _topic(seeds=(http_server.url("/seed"),), similarity=SimilarityConfig(weight=0.5))
    model = match.build_model(topic, fetch_seed=fetch)
    assert http_server.hits("/seed") == 1
    assert model.score(Document("Afghan migrants wait", "permits city")).nearest_seed == (
        http_server.url("/seed")
    )
    assert match.build_model(topic).seeds == ()  # no fetcher: the URL seed is skipped, not fatal


def _seed_page(title: str, text: str) -> str:
    paragraphs = "".join(f"<p>{text} {text}</p>" for _ in range(4))
    head = f"<html><head><title>{title}</title></head>"
    return f"{head}<body><article><h1>{title}</h1>{paragraphs}</article></body></html>"


def test_configured_url_seeds_are_fetched_through_the_guarded_client(
    http_server: Server, tmp_path: Path
) -> None:
    """build_models (what fetch, the daemon and the topic commands use) reads URL seeds: fetched
    by the watcher's own client under the address policy and extracted, also from a running loop."""
    import asyncio

    from watcher import config as config_mod
    from watcher import pipeline
    from watcher.store import open_db

    page = _seed_page("Afghan migrants wait", "Afghan migrants wait for work permits in the city.")
    url = http_server.route("/seed.html", page)
    topic = _topic(seeds=(url,), similarity=SimilarityConfig(weight=0.5))
    raw = {"storage": {"db": str(tmp_path / "w.db")}, "http": {"allow_networks": ["127.0.0.1"]}}
    cfg = dataclasses.replace(config_mod.parse(raw, tmp_path), topics=(topic,))
    engine = open_db(cfg.db_url)

    async def in_a_running_loop() -> list[match.TopicModel]:
        return pipeline.build_models(cfg, engine)  # as the daemon does at start and on SIGHUP

    for models in (pipeline.build_models(cfg, engine), asyncio.run(in_a_running_loop())):
        assert [e.document.url for e in models[0].seeds] == [url]
        assert models[0].score(Document("Afghan migrants wait", "permits city")).nearest_seed == url
    assert http_server.hits("/seed.html") == 2

    guarded = dataclasses.replace(cfg, http=config_mod.HttpConfig())  # loopback not allowed
    assert pipeline.build_models(guarded, engine)[0].seeds == ()  # refused, skipped, not fatal
    assert http_server.hits("/seed.html") == 2


def test_seed_files_name_the_nearest_seed(tmp_path: Path) -> None:
    seed = tmp_path / "evacuation.txt"
    seed.write_text("Evacuation of Afghans\nAfghan migrants evacuated by plane.", encoding="utf-8")
    model = match.build_model(_topic(seeds=(str(seed),), similarity=SimilarityConfig(weight=0.5)))
    assert model.score(Document("Afghan migrants evacuated", "")).nearest_seed == "evacuation"
    with pytest.raises(ConfigError, match="cannot read"):
        match.build_model(_topic(seeds=(str(tmp_path / "missing.txt"),)))


def _letters(texts: Sequence[str]) -> list[list[float]]:
    """A toy encoder: letter frequencies (enough to exercise the embedding interface)."""
    return [[t.lower().count(c) + 0.01 for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts]


def test_embedding_backend_uses_the_same_interface(tmp_path: Path) -> None:
    seed = tmp_path / "s.txt"
    seed.write_text("Afghan migrants\nAfghan migrants in Russia.", encoding="utf-8")
    topic = _topic(seeds=(str(seed),), similarity=SimilarityConfig(backend="embedding", weight=0.5))
    model = match.build_model(topic, encoder=_letters)
    score = model.score(Document("Afghan migrants", "Afghan migrants in Russia."))
    assert score.nearest_seed == "s" and score.seed_similarity == pytest.approx(1.0)
    assert score.similarity_weight > 0  # multilingual embeddings cover every language


def test_embedding_backend_without_the_extra_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import fails
    topic = _topic(similarity=SimilarityConfig(backend="embedding"))
    with pytest.raises(ConfigError, match=r"watcher\[embeddings\]"):
        match.build_model(topic)


def test_stored_articles_refine_word_weights() -> None:
    topic = h.shipped_topic()
    background = ["Afghan news today. " * 3] * 50 + ["Weather report for the weekend."] * 50
    plain = match.build_model(topic).score(h.ON_TOPIC_LABOUR)
    refined = match.build_model(topic, background=background).score(h.ON_TOPIC_LABOUR)
    assert refined.matched and plain.matched
    assert refined.seed_similarity != plain.seed_similarity


def test_a_wrong_language_label_is_overruled_by_the_script() -> None:
    model = h.shipped_model()
    doc = dataclasses.replace(h.RUSSIAN_ON_TOPIC, language="en")
    score = model.score(doc)
    assert score.language == "ru" and score.matched
    assert model.score(dataclasses.replace(h.ON_TOPIC_LABOUR, language="en-GB")).language == "en"
