"""The digest, pure: stored matches (+ feed health, + cycle stats) -> a ``Digest`` value.

Matches are grouped by topic; syndicated copies are folded into one item led by the source that
had the story first (``fold``); each item gets a short extractive summary (``summarize``); the best
``max_items`` items are shown in full and the rest listed briefly, so nothing is left out.  Copies
of a story already sent in an earlier digest are listed as follow-ups, not repeated.  A ``Digest``
round-trips through JSON (``to_dict`` / ``from_dict``): it is stored with the digest so that a
resend shows exactly the same items.  Rendering lives in ``render``.
"""

from __future__ import annotations

import dataclasses
import secrets
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from . import fold, summarize
from .models import StoredMatch
from .textsafe import one_line

PAYLOAD_VERSION = 1


@dataclass(frozen=True, slots=True)
class Group:
    """A concept group of the topic and the terms of it found in the article."""

    name: str
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Copy:
    """Another site's copy of a story: "also reported by …"."""

    match_id: int
    source: str
    url: str
    title: str
    time: datetime


@dataclass(frozen=True, slots=True)
class Item:
    """One story: the first source's article, why it matched, and who else ran it."""

    match_id: int
    topic: str
    title: str
    url: str  # "" when the article's URL is not http(s)
    source: str
    time: datetime  # published, else first seen
    language: str | None
    score: float
    why: str
    groups: tuple[Group, ...] = ()
    nearest_seed: str | None = None
    seed_similarity: float | None = None
    summary: tuple[str, ...] = ()
    also: tuple[Copy, ...] = ()
    earlier: Copy | None = None  # set on a follow-up: the copy of it sent in an earlier digest

    @property
    def match_ids(self) -> tuple[int, ...]:
        return (self.match_id, *(c.match_id for c in self.also))


@dataclass(frozen=True, slots=True)
class Section:
    """The items of one topic: shown in full, listed briefly (over ``max_items``), follow-ups."""

    topic: str
    items: tuple[Item, ...] = ()
    more: tuple[Item, ...] = ()
    followups: tuple[Item, ...] = ()

    @property
    def all_items(self) -> tuple[Item, ...]:
        return self.items + self.more + self.followups


@dataclass(frozen=True, slots=True)
class FeedProblem:
    """A feed the reader should know about: failing for more than a day, or retired."""

    name: str
    url: str
    since: datetime | None
    failures: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True)
class Health:
    failing: tuple[FeedProblem, ...] = ()
    retired: tuple[FeedProblem, ...] = ()


@dataclass(frozen=True, slots=True)
class Stats:
    """What the watcher did since the previous digest (from the ``cycles`` and ``feeds`` tables)."""

    cycles: int = 0
    feeds: int = 0  # distinct feeds polled
    polls: int = 0
    errors: int = 0
    new_entries: int = 0
    last_cycle_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Digest:
    id: str
    created_at: datetime
    timezone: str = "UTC"
    sections: tuple[Section, ...] = ()
    health: Health = field(default_factory=Health)
    stats: Stats = field(default_factory=Stats)
    since: datetime | None = None  # start of the window the digest covers, when known
    review: bool = False  # built from --since: a look back, not a delivery

    @property
    def match_ids(self) -> tuple[int, ...]:
        return tuple(i for s in self.sections for item in s.all_items for i in item.match_ids)

    @property
    def count(self) -> int:
        """Stories (folded items), not matches."""
        return sum(len(s.all_items) for s in self.sections)

    @property
    def empty(self) -> bool:
        return not self.sections


def safe_url(url: str) -> str:
    """The URL if it is http(s) and has a host, else "" (no javascript:, data:, file: …)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    if any(c in url for c in "\x00\r\n\t<>\"' `"):
        return ""
    if not url.isprintable():  # NEL, C1 controls, Unicode spaces, bidi overrides (issue 8)
        return ""
    return url


def clean(text: str) -> str:
    """Strangers' one-line text: no control characters, no line breaks."""
    return one_line("".join(c if c.isprintable() else " " for c in text))


def _groups(details: Mapping[str, object]) -> tuple[Group, ...]:
    raw = details.get("groups")
    if not isinstance(raw, Mapping):
        return ()
    out = []
    for name, terms in raw.items():
        if isinstance(terms, list | tuple) and terms:
            out.append(Group(clean(str(name)), tuple(clean(str(t)) for t in terms)))
    return tuple(out)


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _time(m: StoredMatch) -> datetime:
    return m.published or m.first_seen


def _copy(m: StoredMatch) -> Copy:
    return Copy(m.match_id, clean(m.source), safe_url(m.url), clean(m.title), _time(m))


def _item(
    lead: StoredMatch,
    best: StoredMatch,
    copies: Sequence[StoredMatch],
    words: Sequence[str],
    n: int,
) -> Item:
    seed = best.details.get("nearest_seed")
    groups = _groups(best.details)
    terms = [t for g in groups for t in g.terms]
    return Item(
        match_id=lead.match_id,
        topic=lead.topic,
        title=clean(lead.title) or clean(lead.url),
        url=safe_url(lead.url),
        source=clean(lead.source),
        time=_time(lead),
        language=clean(lead.language) if lead.language else None,
        score=max(lead.score, best.score),
        why=clean(best.reasons),
        groups=groups,
        nearest_seed=clean(str(seed)) if seed else None,
        seed_similarity=_float(best.details.get("seed_similarity")),
        summary=tuple(
            clean(s)
            for s in summarize.summarize(lead.text, terms, words, sentences=n, title=lead.title)
        ),
        also=tuple(_copy(c) for c in copies),
    )


def _fold_topic(
    matches: Sequence[StoredMatch], earlier: Sequence[StoredMatch], words: Sequence[str], n: int
) -> tuple[list[Item], list[Item]]:
    """(stories, follow-ups) of one topic; earlier matches only serve to recognise follow-ups."""
    pool = list(matches) + list(earlier)
    texts = [f"{m.title}\n{m.text}" if m.text.strip() else m.title for m in pool]
    stories: list[Item] = []
    followups: list[Item] = []
    earlier_ids = {e.match_id for e in earlier}
    for group in fold.clusters(texts):
        members = sorted((pool[i] for i in group), key=lambda m: (_time(m), -m.score, m.match_id))
        new = [m for m in members if m.match_id not in earlier_ids]
        old = [m for m in members if m.match_id in earlier_ids]
        if not new:
            continue
        best = max(new, key=lambda m: (m.score, -m.match_id))
        if old:  # the story went out already: list the new copies briefly, under the earlier one
            followups.extend(
                dataclasses.replace(_item(m, m, (), words, 0), earlier=_copy(old[0])) for m in new
            )
        else:
            stories.append(_item(new[0], best, new[1:], words, n))
    return stories, followups


def build(
    matches: Sequence[StoredMatch],
    *,
    digest_id: str,
    created_at: datetime,
    timezone: str = "UTC",
    earlier: Sequence[StoredMatch] = (),
    topic_words: Mapping[str, Sequence[str]] | None = None,
    topics: Sequence[str] = (),
    max_items: int = 50,
    summary_sentences: int = 3,
    health: Health | None = None,
    stats: Stats | None = None,
    since: datetime | None = None,
    review: bool = False,
) -> Digest:
    """Fold, summarise, rank and group ``matches`` (``earlier``: recently sent ones)."""
    words = topic_words or {}
    by_topic: dict[str, list[StoredMatch]] = {}
    for m in matches:
        by_topic.setdefault(m.topic, []).append(m)
    stories: list[Item] = []
    followups: dict[str, list[Item]] = {}
    for topic, ms in by_topic.items():
        prior = [e for e in earlier if e.topic == topic]
        s, f = _fold_topic(ms, prior, words.get(topic, ()), summary_sentences)
        stories.extend(s)
        followups[topic] = f
    stories.sort(key=lambda it: (-it.score, it.time, it.match_id))
    shown = {id(it) for it in stories[:max_items]}
    order = {t: i for i, t in enumerate(topics)}
    sections = [
        Section(
            topic=topic,
            items=tuple(it for it in stories if it.topic == topic and id(it) in shown),
            more=tuple(it for it in stories if it.topic == topic and id(it) not in shown),
            followups=tuple(sorted(followups[topic], key=lambda it: (it.time, it.match_id))),
        )
        for topic in sorted(by_topic, key=lambda t: (order.get(t, len(order)), t))
    ]
    return Digest(
        id=digest_id,
        created_at=created_at,
        timezone=timezone,
        sections=tuple(s for s in sections if s.all_items),
        health=health or Health(),
        stats=stats or Stats(),
        since=since,
        review=review,
    )


def make_id(created_at: datetime) -> str:
    """A readable, unique digest id: the UTC time of creation and a random suffix."""
    return f"{created_at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def to_dict(digest: Digest) -> dict[str, Any]:
    """A JSON-ready dict of the digest (datetimes as ISO 8601 strings)."""
    out = _encode(digest)
    assert isinstance(out, dict)
    out["version"] = PAYLOAD_VERSION
    return out


def from_dict(data: Mapping[str, Any]) -> Digest:
    """The digest stored by ``to_dict``."""
    return typing.cast(Digest, _decode(Digest, {k: v for k, v in data.items() if k != "version"}))


def _encode(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def _decode(kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return _decode(next(a for a in typing.get_args(kind) if a is not type(None)), value)
    if origin is tuple:
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in value)
        return tuple(_decode(a, v) for a, v in zip(args, value, strict=True))
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        names = {f.name for f in dataclasses.fields(kind)}
        return kind(**{k: _decode(hints[k], v) for k, v in value.items() if k in names})
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is float and isinstance(value, int):
        return float(value)
    return value
