"""Relevance-filter queries: the analyst's labels, stored articles to re-score, match upkeep."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..models import Document, Score
from .entries import match_row, score_row
from .schema import articles, entries, labels, matches, scores


def _document_query() -> sa.Select[Any]:
    return sa.select(
        entries.c.id,
        entries.c.url,
        sa.func.coalesce(sa.func.nullif(articles.c.title, ""), entries.c.title),
        entries.c.title,
        articles.c.language,
        sa.func.coalesce(articles.c.text, ""),
        entries.c.summary,
    ).select_from(entries.outerjoin(articles, articles.c.entry_id == entries.c.id))


def _document(row: Sequence[Any]) -> Document:
    entry_id, url, title, _, language, text, summary = row
    return Document(
        title=title or "",
        text=text or summary or "",
        language=language,
        url=url,
        id=f"entry:{entry_id}",
    )


def load_feedback(engine: sa.Engine, topic: str) -> tuple[list[Document], list[Document]]:
    """(relevant, irrelevant) labelled articles of a topic, oldest label first."""
    query = (
        _document_query()
        .add_columns(labels.c.relevant)
        .join(labels, labels.c.entry_id == entries.c.id)
        .where(labels.c.topic == topic)
        .order_by(labels.c.created_at, entries.c.id)
    )
    relevant: list[Document] = []
    irrelevant: list[Document] = []
    with engine.connect() as conn:
        for row in conn.execute(query):
            doc = _document(row[:7])
            (relevant if row[7] else irrelevant).append(doc)
    return relevant, irrelevant


def set_label(engine: sa.Engine, entry_id: int, topic: str, relevant: bool, now: datetime) -> bool:
    """Store (or replace) a judgement; False when there is no such entry."""
    with engine.begin() as conn:
        exists = conn.execute(sa.select(entries.c.id).where(entries.c.id == entry_id)).first()
        if exists is None:
            return False
        conn.execute(sa.delete(labels).where(labels.c.entry_id == entry_id, labels.c.topic == topic))
        conn.execute(
            sa.insert(labels).values(entry_id=entry_id, topic=topic, relevant=relevant, created_at=now)
        )
    return True


def judgements(engine: sa.Engine, topic: str) -> dict[int, bool]:
    """The analyst's labels for a topic: entry id -> relevant."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(labels.c.entry_id, labels.c.relevant).where(labels.c.topic == topic))
        return {int(entry_id): bool(relevant) for entry_id, relevant in rows}


def entry_title(engine: sa.Engine, entry_id: int) -> str:
    """The title of an entry (empty when unknown)."""
    with engine.connect() as conn:
        title = conn.execute(sa.select(entries.c.title).where(entries.c.id == entry_id)).scalar()
    return str(title or "")


def stored_documents(engine: sa.Engine, since: datetime | None = None) -> Iterator[tuple[int, Document]]:
    """Every stored entry (first seen at or after ``since``) as a document, oldest first."""
    query = _document_query().order_by(entries.c.first_seen_at, entries.c.id)
    if since is not None:
        query = query.where(entries.c.first_seen_at >= since)
    with engine.connect() as conn:
        for row in conn.execute(query):
            yield int(row[0]), _document(row)


def stored_texts(engine: sa.Engine, limit: int = 5000) -> list[str]:
    """Texts of the most recent stored articles, as background for word weights."""
    query = (
        sa.select(articles.c.title, articles.c.text)
        .where(articles.c.text != "")
        .order_by(articles.c.entry_id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [f"{title}\n{text}" for title, text in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class CurrentMatch:
    """A stored match as rescoring sees it."""

    entry_id: int
    score: float
    sent: bool  # already in a digest: kept even if the topic no longer matches it


def current_matches(engine: sa.Engine, topic: str) -> dict[int, CurrentMatch]:
    """The stored matches of a topic by entry id."""
    query = sa.select(matches.c.entry_id, matches.c.score, matches.c.digest_id).where(
        matches.c.topic == topic
    )
    with engine.connect() as conn:
        return {e: CurrentMatch(e, float(s), d is not None) for e, s, d in conn.execute(query)}


def apply_rescore(
    engine: sa.Engine,
    topic: str,
    upserts: Sequence[tuple[int, Score]],
    drops: Sequence[int],
    now: datetime,
    rescored: Sequence[tuple[int, Score]] = (),
) -> None:
    """Insert or update matches; delete dropped ones no digest has carried; one transaction.
    ``rescored``: every article's new score, for the near misses (the scores table)."""
    with engine.begin() as conn:
        for entry_id, score in rescored:
            conn.execute(sa.delete(scores).where(scores.c.entry_id == entry_id, scores.c.topic == topic))
            conn.execute(sa.insert(scores).values(**score_row(entry_id, score, now)))
        for entry_id, score in upserts:
            row = match_row(entry_id, score, now)
            updated = conn.execute(
                sa.update(matches)
                .where(matches.c.entry_id == entry_id, matches.c.topic == topic)
                .values(score=row["score"], reasons=row["reasons"], details=row["details"])
            )
            if updated.rowcount == 0:
                conn.execute(sa.insert(matches).values(**row))
        if drops:
            conn.execute(
                sa.delete(matches).where(
                    matches.c.topic == topic,
                    matches.c.entry_id.in_(list(drops)),
                    matches.c.digest_id.is_(None),
                )
            )
