"""Read-only queries of the review pages: matches with filters, near misses, one article's evidence.

Rows come back as our own frozen dataclasses; nothing of SQLAlchemy leaves this module.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from ..store import as_utc
from ..store.schema import articles, entries, entry_feeds, feeds, labels, matches, scores


@dataclass(frozen=True, slots=True)
class MatchFilter:
    """What the Matches page asks for (every field optional)."""

    topic: str | None = None
    since: datetime | None = None  # found on or after
    until: datetime | None = None  # found before
    language: str | None = None
    feed_id: int | None = None
    min_score: float | None = None
    labelled: bool = False  # also show articles labelled not relevant
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Row:
    """One article as a listing shows it (a match or a near miss)."""

    entry_id: int
    topic: str
    score: float
    url: str
    title: str
    source: str
    published: datetime | None
    found: datetime  # matched (matches) or scored (near misses)
    language: str | None
    details: dict[str, object]
    summary: str
    digest_id: str | None = None
    label: bool | None = None  # the analyst's verdict for this topic, if any
    also: tuple[str, ...] = ()  # other sources that carried it


@dataclass(frozen=True, slots=True)
class Evidence:
    """One stored article with everything kept about it."""

    entry_id: int
    url: str
    link: str
    title: str
    source: str
    feed_url: str
    summary: str
    text: str
    language: str | None
    published: datetime | None
    first_seen: datetime
    fetched_at: datetime | None
    final_url: str | None
    page_hash: str | None
    extractor: str  # "trafilatura 2.0.0", "feed (fallback)" ...
    status: str | None
    has_copy: bool
    scores: tuple[tuple[str, float, bool, dict[str, object]], ...]  # topic, score, matched, details
    labels: dict[str, bool]


def _details(text: str | None) -> dict[str, object]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _source(sitename: str | None, name: str | None, title: str | None, url: str) -> str:
    for value in (sitename, name, title):
        if value and value.strip():
            return value.strip()
    return urlsplit(url).hostname or url


_SUMMARY = sa.func.substr(
    sa.func.coalesce(sa.func.nullif(entries.c.summary, ""), articles.c.text, ""), 1, 700
)


def _listing(score_table: sa.Table, time_column: sa.ColumnElement[Any]) -> sa.Select[Any]:
    return (
        sa.select(
            score_table.c.entry_id,
            score_table.c.topic,
            score_table.c.score,
            score_table.c.details,
            time_column.label("found"),
            entries.c.url,
            sa.func.coalesce(sa.func.nullif(entries.c.title, ""), articles.c.title, "").label("title"),
            entries.c.published_at,
            articles.c.published_at.label("article_published"),
            articles.c.language,
            articles.c.sitename,
            feeds.c.name.label("feed_name"),
            feeds.c.title.label("feed_title"),
            _SUMMARY.label("summary"),
            labels.c.relevant.label("label"),
        )
        .select_from(
            score_table.join(entries, entries.c.id == score_table.c.entry_id)
            .join(feeds, feeds.c.id == entries.c.feed_id)
            .outerjoin(articles, articles.c.entry_id == entries.c.id)
            .outerjoin(
                labels,
                sa.and_(labels.c.entry_id == entries.c.id, labels.c.topic == score_table.c.topic),
            )
        )
    )


def _row(r: Any, digest_id: str | None = None, also: tuple[str, ...] = ()) -> Row:
    found = as_utc(r.found)
    assert found is not None
    return Row(
        entry_id=int(r.entry_id),
        topic=r.topic,
        score=float(r.score),
        url=r.url,
        title=r.title or r.url,
        source=_source(r.sitename, r.feed_name, r.feed_title, r.url),
        published=as_utc(r.published_at or r.article_published),
        found=found,
        language=r.language,
        details=_details(r.details),
        summary=r.summary or "",
        digest_id=digest_id,
        label=None if r.label is None else bool(r.label),
        also=also,
    )


def list_matches(engine: sa.Engine, f: MatchFilter, limit: int) -> tuple[list[Row], bool]:
    """Matches newest first, filtered; (rows, whether there are more)."""
    query = _listing(matches, matches.c.matched_at).add_columns(matches.c.digest_id)
    if f.topic:
        query = query.where(matches.c.topic == f.topic)
    if f.since:
        query = query.where(matches.c.matched_at >= f.since)
    if f.until:
        query = query.where(matches.c.matched_at < f.until)
    if f.language:
        query = query.where(articles.c.language == f.language)
    if f.feed_id is not None:
        carried = sa.select(entry_feeds.c.entry_id).where(entry_feeds.c.feed_id == f.feed_id)
        query = query.where(matches.c.entry_id.in_(carried))
    if f.min_score is not None:
        query = query.where(matches.c.score >= f.min_score)
    if not f.labelled:
        query = query.where(sa.or_(labels.c.relevant.is_(None), labels.c.relevant.is_(True)))
    query = query.order_by(matches.c.matched_at.desc(), matches.c.id.desc())
    query = query.limit(limit + 1).offset(f.offset)
    with engine.connect() as conn:
        rows = list(conn.execute(query))
        also = _also(conn, [int(r.entry_id) for r in rows[:limit]])
    out = [_row(r, r.digest_id, also.get(int(r.entry_id), ())) for r in rows[:limit]]
    return out, len(rows) > limit


def _also(conn: sa.Connection, entry_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """Other feeds that carried each entry ("also reported by")."""
    if not entry_ids:
        return {}
    query = (
        sa.select(entry_feeds.c.entry_id, feeds.c.name, feeds.c.title, feeds.c.url)
        .join(feeds, feeds.c.id == entry_feeds.c.feed_id)
        .join(entries, entries.c.id == entry_feeds.c.entry_id)
        .where(entry_feeds.c.entry_id.in_(list(entry_ids)), entry_feeds.c.feed_id != entries.c.feed_id)
        .order_by(entry_feeds.c.seen_at)
    )
    out: dict[int, list[str]] = {}
    for entry_id, name, title, url in conn.execute(query):
        out.setdefault(int(entry_id), []).append(_source(None, name, title, url))
    return {k: tuple(v) for k, v in out.items()}


def near_misses(
    engine: sa.Engine, topic: str, threshold: float, margin: float, limit: int, offset: int = 0
) -> tuple[list[Row], bool]:
    """Unlabelled, unmatched articles scoring in [threshold - margin, threshold), newest first."""
    matched = sa.select(matches.c.entry_id).where(matches.c.topic == topic)
    query = (
        _listing(scores, scores.c.scored_at)
        .where(
            scores.c.topic == topic,
            scores.c.score >= threshold - margin,
            scores.c.score < threshold,
            scores.c.entry_id.not_in(matched),
            labels.c.relevant.is_(None),
        )
        .order_by(scores.c.scored_at.desc(), scores.c.entry_id.desc())
        .limit(limit + 1)
        .offset(offset)
    )
    with engine.connect() as conn:
        rows = list(conn.execute(query))
    return [_row(r) for r in rows[:limit]], len(rows) > limit


def evidence(engine: sa.Engine, entry_id: int) -> Evidence | None:
    """Everything stored about one entry, or None."""
    query = (
        sa.select(
            entries,
            feeds.c.url.label("feed_url"),
            feeds.c.name.label("feed_name"),
            feeds.c.title.label("feed_title"),
            articles.c.title.label("article_title"),
            articles.c.text,
            articles.c.language,
            articles.c.sitename,
            articles.c.published_at.label("article_published"),
            articles.c.fetched_at,
            articles.c.final_url,
            articles.c.raw_sha256,
            articles.c.extractor_version,
            articles.c.source.label("extracted_by"),
            articles.c.status,
            (articles.c.raw_html.is_not(None)).label("has_copy"),
        )
        .select_from(
            entries.join(feeds, feeds.c.id == entries.c.feed_id).outerjoin(
                articles, articles.c.entry_id == entries.c.id
            )
        )
        .where(entries.c.id == entry_id)
    )
    with engine.connect() as conn:
        r = conn.execute(query).one_or_none()
        if r is None:
            return None
        matched = {
            t: (float(s), _details(d))
            for t, s, d in conn.execute(
                sa.select(matches.c.topic, matches.c.score, matches.c.details).where(
                    matches.c.entry_id == entry_id
                )
            )
        }
        scored = {
            t: (float(s), _details(d))
            for t, s, d in conn.execute(
                sa.select(scores.c.topic, scores.c.score, scores.c.details).where(
                    scores.c.entry_id == entry_id
                )
            )
        }
        verdicts = {
            t: bool(v)
            for t, v in conn.execute(
                sa.select(labels.c.topic, labels.c.relevant).where(labels.c.entry_id == entry_id)
            )
        }
    all_scores = {**scored, **matched}
    first_seen = as_utc(r.first_seen_at)
    assert first_seen is not None
    extractor = " ".join(p for p in (r.extracted_by or "", r.extractor_version or "") if p)
    return Evidence(
        entry_id=entry_id,
        url=r.url,
        link=r.link,
        title=r.title or r.article_title or r.url,
        source=_source(r.sitename, r.feed_name, r.feed_title, r.url),
        feed_url=r.feed_url,
        summary=r.summary or "",
        text=r.text or r.summary or "",
        language=r.language,
        published=as_utc(r.published_at or r.article_published),
        first_seen=first_seen,
        fetched_at=as_utc(r.fetched_at),
        final_url=r.final_url,
        page_hash=r.raw_sha256,
        extractor=extractor or "-",
        status=r.status,
        has_copy=bool(r.has_copy),
        scores=tuple(
            (t, s, t in matched, d) for t, (s, d) in sorted(all_scores.items())
        ),
        labels=verdicts,
    )


def stored_copy(engine: sa.Engine, entry_id: int) -> bytes | None:
    """The page as fetched (kept for matches), decompressed; None when none was kept."""
    with engine.connect() as conn:
        raw = conn.execute(
            sa.select(articles.c.raw_html).where(articles.c.entry_id == entry_id)
        ).scalar_one_or_none()
    return zlib.decompress(raw) if raw else None


def languages(engine: sa.Engine) -> list[str]:
    """Languages of matched articles (for the filter)."""
    query = (
        sa.select(articles.c.language)
        .join(matches, matches.c.entry_id == articles.c.entry_id)
        .where(articles.c.language.is_not(None))
        .distinct()
        .order_by(articles.c.language)
    )
    with engine.connect() as conn:
        return [str(x) for (x,) in conn.execute(query)]


def feed_choices(engine: sa.Engine) -> list[tuple[int, str]]:
    """(id, name) of every feed not removed (for the filter)."""
    query = sa.select(feeds.c.id, feeds.c.name, feeds.c.title, feeds.c.url).where(
        feeds.c.source != "removed"
    )
    with engine.connect() as conn:
        rows = [(int(i), _source(None, n, t, u)) for i, n, t, u in conn.execute(query)]
    return sorted(rows, key=lambda r: r[1].lower())
