"""What a poll hands the store to record, and what the store hands back: plain dataclasses,
importable without SQLAlchemy (a cycle in which nothing new arrives never imports it, issue 16)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

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
