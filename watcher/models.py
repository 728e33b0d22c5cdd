"""Our own types, passed between the stages; no library object crosses a module boundary."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class FetchStatus(enum.StrEnum):
    """How one HTTP fetch ended; expected failures are values, not exceptions."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"  # 304, or a 200 whose body hash is unchanged
    MOVED = "moved"  # 301/308 followed; the new URL should be stored
    GONE = "gone"  # 410: retire the feed
    RATE_LIMITED = "rate_limited"  # 429/503 with or without Retry-After
    HTTP_ERROR = "http_error"  # other 4xx/5xx
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    TOO_LARGE = "too_large"  # body over the cap, compressed or not
    BLOCKED = "blocked"  # refused by the address policy or the scheme rule
    TOO_MANY_REDIRECTS = "too_many_redirects"
    NOT_A_FEED = "not_a_feed"  # parsed, but it is an HTML page or nothing feed-like
    PARSE_ERROR = "parse_error"


# The outcomes of a fetch that count as the feed answering well, and those that carry a body.
SUCCESS = frozenset({FetchStatus.OK, FetchStatus.MOVED, FetchStatus.NOT_MODIFIED})
WITH_BODY = frozenset({FetchStatus.OK, FetchStatus.MOVED})


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One HTTP response (or failure), reduced to what the pipeline needs."""

    url: str  # the URL asked for
    status: FetchStatus
    final_url: str | None = None  # after redirects
    http_status: int | None = None
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    permanent_url: str | None = None  # set when every hop to final_url was 301/308
    retry_after: datetime | None = None
    error: str | None = None  # one readable line when status is a failure
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in WITH_BODY


@dataclass(frozen=True, slots=True)
class FeedState:
    """A feed's polling state: the columns a poll writes, named as in the ``feeds`` table.

    Declared once: ``Feed`` carries these fields, ``schedule.FeedUpdate`` is one of these (plus what
    the log needs), and the store reads and writes exactly ``FEED_STATE``.  ``adaptive_interval`` is
    the schedule's current interval; ``Feed.interval`` is only ever the per-feed override.
    """

    last_status: str | None = None  # a FetchStatus value
    last_http_status: int | None = None
    last_error: str | None = None
    warning: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    failures: int = 0
    first_failure_at: datetime | None = None
    last_success_at: datetime | None = None
    last_polled_at: datetime | None = None
    last_unconditional_at: datetime | None = None
    next_poll_at: datetime | None = None  # None when retired
    adaptive_interval: float | None = None  # the schedule's current interval, seconds
    current_url: str | None = None  # after permanent redirects
    retired: bool = False


FEED_STATE: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(FeedState))


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed to poll, as configured or added, with its stored state (every ``FEED_STATE`` field)."""

    url: str  # the identity: the URL in config or as added
    name: str = ""
    id: int | None = None
    current_url: str | None = None  # after permanent redirects
    enabled: bool = True
    retired: bool = False
    source: str = "config"  # "config", "added" or "cli"
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    failures: int = 0
    interval: float | None = None  # per-feed override, seconds
    last_unconditional_at: datetime | None = None
    adaptive_interval: float | None = None  # the schedule's current interval, seconds
    last_status: str | None = None
    last_error: str | None = None
    first_failure_at: datetime | None = None
    last_success_at: datetime | None = None
    next_poll_at: datetime | None = None
    title: str = ""  # as the feed calls itself
    last_http_status: int | None = None
    warning: str | None = None
    last_polled_at: datetime | None = None

    @property
    def fetch_url(self) -> str:
        return self.current_url or self.url


def own_text(content: str, summary: str) -> str:
    """The longer of a feed entry's content and summary (``Entry.text``, before an Entry exists)."""
    return content if len(content) >= len(summary) else summary


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a feed, as the feed describes it."""

    feed_url: str
    link: str  # as given by the feed (absolute)
    url: str  # canonical form of link: no tracking parameters, no fragment
    guid: str | None
    title: str
    summary: str = ""  # plain text of the feed's summary
    content: str = ""  # plain text of the feed's full content, if any
    published: datetime | None = None
    author: str = ""
    # Guessed from the title and the longer of content and summary; "" unknown, None not guessed.
    language: str | None = None

    @property
    def text(self) -> str:
        """What the entry says in its own words: the longer of content and summary."""
        return own_text(self.content, self.summary)

    @property
    def key(self) -> str:
        """Identity across feeds: canonical URL, else GUID, else a content hash."""
        return self.url or self.guid or ""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The result of parsing one feed document."""

    status: FetchStatus  # OK, NOT_A_FEED or PARSE_ERROR
    title: str = ""
    link: str = ""
    entries: tuple[Entry, ...] = ()
    warning: str | None = None  # bozo exception text when entries were still recovered
    error: str | None = None
    alternates: tuple[str, ...] = ()  # feed links an HTML page advertises


@dataclass(frozen=True, slots=True)
class Article:
    """Extracted text and metadata of an article page (or the feed's fallback)."""

    url: str
    title: str
    text: str
    source: str = "trafilatura"  # "trafilatura", "feed" (fallback) or "none"
    extractor_version: str = ""
    sitename: str = ""
    author: str = ""
    language: str | None = None
    published: datetime | None = None
    status: str = "ok"  # "ok", "fallback", "timeout", "failed", "too_large"
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """What the relevance filter scores: an article's words and nothing else."""

    title: str
    text: str
    language: str | None = None
    url: str = ""
    id: str = ""


@dataclass(frozen=True, slots=True)
class Score:
    """A topic's verdict on one document, with the reasons an analyst can read."""

    topic: str
    score: float  # in [0, 1]
    matched: bool
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group -> terms found
    excluded: tuple[str, ...] = ()  # exclusion terms found
    nearest_seed: str | None = None
    seed_similarity: float = 0.0
    keyword_score: float = 0.0
    similarity_score: float = 0.0
    title_terms: tuple[str, ...] = ()  # terms found in the title
    language: str | None = None  # as given or detected
    centroid_similarity: float = 0.0
    nearest_negative: str | None = None  # nearest article labelled irrelevant
    negative_similarity: float = 0.0
    similarity_weight: float = 0.0  # share of the score that came from seed similarity
    strengths: dict[str, float] = field(default_factory=dict)  # group -> presence in [0, 1]

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (stored in ``matches.details``)."""
        out: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "groups":
                value = {k: list(v) for k, v in value.items()}
            elif name == "strengths":
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Score:
        """The inverse of ``to_dict``; unknown keys are ignored, missing ones take defaults."""
        kwargs: dict[str, Any] = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if isinstance(kwargs.get("groups"), dict):
            kwargs["groups"] = {str(k): tuple(v) for k, v in kwargs["groups"].items()}
        if isinstance(kwargs.get("strengths"), dict):
            kwargs["strengths"] = {str(k): float(v) for k, v in kwargs["strengths"].items()}
        for name in ("excluded", "title_terms"):
            if isinstance(kwargs.get(name), list):
                kwargs[name] = tuple(kwargs[name])
        return cls(**kwargs)

    def reasons(self) -> str:
        """One line saying why: groups and terms, nearest seed and similarity."""
        parts = [f"{name}: {', '.join(terms)}" for name, terms in self.groups.items() if terms]
        if self.excluded:
            parts.append(f"excluded: {', '.join(self.excluded)}")
        if self.nearest_seed:
            parts.append(f"nearest seed {self.nearest_seed} ({self.seed_similarity:.2f})")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class StoredMatch:
    """A match as read back from the store, for digests and listings."""

    match_id: int
    entry_id: int
    topic: str
    score: float
    reasons: str
    details: dict[str, object]
    url: str
    title: str
    source: str  # site name, else the feed's name, else the host
    feed_url: str
    language: str | None
    published: datetime | None
    first_seen: datetime
    text: str
    digest_id: str | None = None
