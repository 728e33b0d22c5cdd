"""What the review page's buttons do: label (with its effect), add a feed, try the topic.

Each is the same code path as its command (``watcher label`` + ``rescore --dry-run``, ``watcher feeds
add``, ``watcher check``); expected failures come back as an ``Effect`` with ``ok=False``.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from .. import match, pipeline
from ..commands.feeds import _find_feed
from ..config import Config, TopicConfig
from ..errors import WatcherError
from ..match.explain import explain
from ..models import Document, Score
from ..store import entries as store_entries
from ..store import feeds as store_feeds
from ..store import now_utc
from ..store import topics as store_topics
from ..store.schema import scores
from .queries import evidence


@dataclass(frozen=True, slots=True)
class Effect:
    """What an action did, shown once on the next page."""

    ok: bool
    message: str
    details: tuple[str, ...] = ()


class Models:
    """Topic models with the analyst's labels, rebuilt after a label (seeds are read once a build)."""

    def __init__(self, cfg: Config, engine: sa.Engine) -> None:
        self.cfg, self.engine = cfg, engine
        self._models: dict[str, match.TopicModel] = {}
        self._lock = threading.Lock()

    def get(self, topic: TopicConfig, *, fresh: bool = False) -> match.TopicModel:
        with self._lock:
            if fresh or topic.name not in self._models:
                relevant, irrelevant = store_topics.load_feedback(self.engine, topic.name)
                self._models[topic.name] = match.build_model(
                    topic,
                    extra_seeds=relevant,
                    negatives=irrelevant,
                    fetch_seed=pipeline.seed_fetcher(self.cfg),
                )
            return self._models[topic.name]


def _document(engine: sa.Engine, entry_id: int) -> Document | None:
    ev = evidence(engine, entry_id)
    if ev is None:
        return None
    return Document(ev.title, ev.text, ev.language, url=ev.url, id=f"entry:{entry_id}")


def _store_score(engine: sa.Engine, entry_id: int, score: Score) -> None:
    row = store_entries.score_row(entry_id, score, now_utc())
    with engine.begin() as conn:
        conn.execute(sa.delete(scores).where(scores.c.entry_id == entry_id, scores.c.topic == score.topic))
        conn.execute(sa.insert(scores).values(**row))


def label(
    cfg: Config, engine: sa.Engine, models: Models, entry_id: int, topic_name: str, relevant: bool
) -> Effect:
    """``watcher label``, then the effect: the article's new score, whether it stays, what a rescore
    of recent articles would change.  Relevant: the article joins the matches (and the next digest);
    not relevant: an unsent match is dropped (a sent one stays in its digest, hidden here)."""
    try:
        topic = cfg.topic(topic_name)
    except WatcherError as e:
        return Effect(False, str(e))
    now = now_utc()
    if not store_topics.set_label(engine, entry_id, topic.name, relevant, now):
        return Effect(False, f"entry {entry_id}: no such entry")
    doc = _document(engine, entry_id)
    assert doc is not None
    old = store_topics.current_matches(engine, topic.name).get(entry_id)
    model = models.get(topic, fresh=True)
    score = model.score(doc, full=True)
    _store_score(engine, entry_id, score)
    verdict = "relevant" if relevant else "not relevant"
    before = f"was {old.score:.2f}" if old else "was not a match"
    if relevant:
        store_topics.apply_rescore(engine, topic.name, [(entry_id, score)], [], now)
        fate = "it stays in the matches" if old else "it joins the matches and the next digest"
    else:
        store_topics.apply_rescore(engine, topic.name, [], [entry_id], now)
        fate = (
            "it stays out of the matches"
            if old is None
            else "it stays in its digest (already sent), hidden from the matches"
            if old.sent
            else "it leaves the matches"
        )
    title = doc.title[:90]
    return Effect(
        True,
        f"“{title}” labelled {verdict} for {topic.name}: new score {score.score:.2f} ({before},"
        f" threshold {model.threshold:.2f}); {fate}.",
        (_rescore_figures(cfg, engine, model, topic.name),),
    )


def _rescore_figures(cfg: Config, engine: sa.Engine, model: match.TopicModel, topic: str) -> str:
    """``watcher rescore --dry-run --since`` over the last ``[serve] rescore_days`` days, in one line."""
    since = now_utc() - timedelta(days=cfg.serve.rescore_days)
    current = store_topics.current_matches(engine, topic)
    judged = store_topics.judgements(engine, topic)  # as `watcher rescore`: labels beat scores
    total = added = dropped = 0
    for entry_id, doc in store_topics.stored_documents(engine, since):
        total += 1
        matched = judged.get(entry_id, model.score(doc).matched)
        old = current.get(entry_id)
        added += matched and old is None
        dropped += not matched and old is not None
    return (
        f"rescore --dry-run --since {since:%Y-%m-%d}: {total} stored articles re-scored;"
        f" {added} would be added, {dropped} would be dropped"
    )


def add_feed(cfg: Config, engine: sa.Engine, url: str, name: str) -> Effect:
    """``watcher feeds add``: the URL, or the feed its page advertises, through the address guard."""
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        return Effect(False, f"{url or '(empty)'}: not an http(s) URL")
    try:
        found, title = asyncio.run(_find_feed(cfg.http, url))
        feed = store_feeds.add_feed(engine, found, name=name.strip() or title, now=now_utc())
    except WatcherError as e:
        return Effect(False, f"cannot add {url}: {e}")
    note = f" (found on {url})" if found != url else ""
    return Effect(True, f"added {feed.url}{note}: {feed.name or '(no title)'}")


def set_enabled(engine: sa.Engine, url: str, enabled: bool) -> Effect:
    try:
        feed = store_feeds.set_enabled(engine, url, enabled, now=now_utc())
    except WatcherError as e:
        return Effect(False, str(e))
    return Effect(True, f"{'enabled' if enabled else 'disabled'} {feed.url}")


@dataclass(frozen=True, slots=True)
class Trial:
    """``watcher check`` on the page: the document read and each topic's score with its reasons."""

    title: str
    words: int
    results: tuple[tuple[Score, tuple[str, ...]], ...]


def try_topic(cfg: Config, models: Models, source: str, topic: str | None) -> Trial | Effect:
    """Score a URL (fetched through the guarded client) or pasted text (first line: the title)."""
    source = source.strip()
    if not source:
        return Effect(False, "paste a URL or an article's text")
    if source.startswith(("http://", "https://")) and len(source.split()) == 1:
        try:
            doc = pipeline.fetch_document(source, cfg)
        except WatcherError as e:
            return Effect(False, str(e))
    else:
        title, _, text = source.partition("\n")
        doc = Document(title.strip(), text.strip())
    try:
        topics = [cfg.topic(topic)] if topic else list(cfg.topics)
    except WatcherError as e:
        return Effect(False, str(e))
    results = []
    for t in topics:
        model = models.get(t)
        score = model.score(doc, full=True)
        results.append((score, tuple(explain(score, model.threshold))))
    return Trial(doc.title, len(doc.text.split()), tuple(results))
