"""What a poll hands the store to record, and what the store hands back: plain dataclasses,
importable without SQLAlchemy (a cycle in which nothing new arrives never imports it, issue 16)."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..models import Article, Entry, Score


@dataclass(frozen=True, slots=True)
class NewItem:
    """A new entry with its extracted article and its scores, ready to be recorded."""

    key: str  # the identity (canonical URL, else a URN from GUID or content)
    entry: Entry
    article: Article
    scores: tuple[Score, ...]
    raw_html: bytes | None = None
    fetched_at: datetime | None = None

    @property
    def matched(self) -> tuple[Score, ...]:
        return tuple(s for s in self.scores if s.matched)


@dataclass(frozen=True, slots=True)
class RecordedMatch:
    entry_id: int
    url: str
    title: str
    score: Score


def score_details(score: Score) -> str:
    """The JSON of a score kept in ``matches.details`` and ``scores.details``."""
    return json.dumps(score.to_dict(), ensure_ascii=False, default=str)


Row = dict[str, Any]


@dataclass(slots=True)
class ItemRows:
    """The rows a feed's new items add beside their entries, and the matches to report."""

    articles: list[Row] = field(default_factory=list)
    matches: list[Row] = field(default_factory=list)
    scores: list[Row] = field(default_factory=list)  # every score, matched or not (issue 14)
    recorded: list[RecordedMatch] = field(default_factory=list)


def entry_row(feed_id: int, item: NewItem, now: datetime) -> Row:
    """The ``entries`` row of a new item."""
    return {
        "feed_id": feed_id,
        "url": item.key,
        "link": item.entry.link,
        "guid": item.entry.guid,
        "title": item_title(item),
        "summary": item.entry.summary[:4000],
        "author": item.entry.author or item.article.author,
        "published_at": item.entry.published or item.article.published,
        "first_seen_at": now,
    }


def item_rows(items: Sequence[NewItem], ids: Mapping[str, int], now: datetime) -> ItemRows:
    """The article, score and match rows of the items whose entries were stored (``ids``: key ->
    entry id; an item another feed stored first has none and adds nothing here)."""
    out = ItemRows()
    for item in items:
        entry_id = ids.get(item.key)
        if entry_id is None:
            continue
        a, matched = item.article, item.matched
        raw = item.raw_html if matched else None  # the page is kept as evidence for matches only
        out.articles.append(
            {
                "entry_id": entry_id,
                "final_url": a.url,
                "status": a.status,
                "source": a.source,
                "extractor_version": a.extractor_version,
                "error": a.error,
                "title": a.title,
                "sitename": a.sitename,
                "author": a.author,
                "language": a.language,
                "published_at": a.published,
                "text": a.text,
                "raw_html": zlib.compress(raw, 6) if raw else None,
                "raw_sha256": hashlib.sha256(raw).hexdigest() if raw else None,
                "fetched_at": item.fetched_at,
            }
        )
        out.scores += [score_row(entry_id, score, now) for score in item.scores]
        for score in matched:
            out.matches.append(match_row(entry_id, score, now))
            out.recorded.append(RecordedMatch(entry_id, item.entry.link, item_title(item), score))
    return out


def item_title(item: NewItem) -> str:
    return item.entry.title or item.article.title


def match_row(entry_id: int, score: Score, now: datetime) -> Row:
    return {
        "entry_id": entry_id,
        "topic": score.topic,
        "score": score.score,
        "reasons": score.reasons(),
        "details": score_details(score),
        "matched_at": now,
    }


def score_row(entry_id: int, score: Score, now: datetime) -> Row:
    return {
        "entry_id": entry_id,
        "topic": score.topic,
        "score": score.score,
        "details": score_details(score),
        "scored_at": now,
    }
