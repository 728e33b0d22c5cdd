"""Test data for the digest tests: a real SQLite file filled the way the pipeline fills it.

The articles are invented for these tests (plausible, not copied from anywhere).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from watcher import config as config_mod
from watcher import store
from watcher.config import Config
from watcher.models import StoredMatch
from watcher.store import schema

TOPIC = "Russia–Afghan migration"
T0 = datetime(2025, 3, 14, 6, 0, tzinfo=UTC)

WIRE = (
    "Russian authorities tightened work-permit rules for migrants from Afghanistan on Thursday, "
    "requiring a new language test and a medical certificate before a permit can be renewed. "
    "The interior ministry said the change would apply to about forty thousand Afghan workers "
    "already in the country. Rights groups in Moscow warned that many labour migrants could lose "
    "their legal status while waiting for an appointment. A ministry spokesman said the measure "
    "was meant to speed up checks rather than to reduce the number of workers. Employers in the "
    "construction sector said they had not been consulted and feared delays on building sites. "
    "The rules take effect on the first of April."
)
WIRE_REWRITE = (
    "Russia has tightened work-permit rules for migrants from Afghanistan, "
    "requiring a new language test and a medical certificate before a permit can be renewed. "
    "The interior ministry said the change would apply to about forty thousand Afghan workers "
    "already in the country. Rights groups in Moscow warned that many labour migrants could lose "
    "their legal status while waiting for an appointment. A ministry spokesman said the measure "
    "was meant to speed up checks rather than to reduce the number of workers. Employers in the "
    "construction sector said they had not been consulted and feared long delays on sites. "
    "The new rules take effect on 1 April, the ministry added."
)
OTHER = (
    "A charter flight carrying Afghan students landed in Kazan late on Wednesday, the first of "
    "several planned under a university exchange programme. Officials said sixty students would "
    "study engineering and medicine. The programme was agreed last autumn between the two "
    "governments. Student visas were issued in Kabul by the Russian embassy, which reopened its "
    "consular section in January."
)
RUSSIAN = (
    "Власти Москвы сообщили о новых правилах для трудовых мигрантов из Афганистана. "
    "Теперь для продления патента потребуется экзамен по русскому языку. "
    "По данным министерства, изменения затронут около сорока тысяч человек. "
    "Погода в столице в выходные будет солнечной."
)
GROUPS = {
    "migration": ["migrants", "labour migrants"],
    "place": ["Russia", "Afghanistan", "Afghan"],
}


@dataclass
class Db:
    """A real SQLite database under tmp_path, with helpers to add rows."""

    engine: sa.Engine
    path: Path
    feeds: dict[str, int] = field(default_factory=dict)
    n: int = 0

    def feed(self, url: str, name: str = "", **cols: Any) -> int:
        if url in self.feeds:
            return self.feeds[url]
        with self.engine.begin() as conn:
            fid = conn.execute(
                sa.insert(schema.feeds).values(
                    url=url, name=name, created_at=T0 - timedelta(days=30), **cols
                )
            ).inserted_primary_key[0]
        self.feeds[url] = int(fid)
        return int(fid)

    def match(
        self,
        title: str,
        text: str,
        *,
        url: str | None = None,
        site: str = "Example News",
        feed: str = "https://example.org/feed.xml",
        topic: str = TOPIC,
        score: float = 0.7,
        language: str | None = "en",
        published: datetime | None = None,
        first_seen: datetime | None = None,
        matched_at: datetime | None = None,
        groups: Mapping[str, Sequence[str]] | None = None,
        nearest_seed: str | None = "seed-001",
        reasons: str = "",
    ) -> int:
        """Insert an entry, its article and its match; the match id."""
        self.n += 1
        fid = self.feed(feed)
        seen = first_seen or T0 - timedelta(hours=10) + timedelta(minutes=self.n)
        details = {
            "topic": topic,
            "score": score,
            "matched": True,
            "groups": dict(groups if groups is not None else GROUPS),
            "nearest_seed": nearest_seed,
            "seed_similarity": 0.42,
        }
        with self.engine.begin() as conn:
            eid = conn.execute(
                sa.insert(schema.entries).values(
                    feed_id=fid,
                    url=url or f"https://{site.lower().replace(' ', '')}.example/story/{self.n}",
                    link=url or f"https://{site.lower().replace(' ', '')}.example/story/{self.n}",
                    title=title,
                    published_at=published,
                    first_seen_at=seen,
                )
            ).inserted_primary_key[0]
            conn.execute(
                sa.insert(schema.articles).values(
                    entry_id=eid,
                    status="ok",
                    source="trafilatura",
                    title=title,
                    sitename=site,
                    language=language,
                    published_at=published,
                    text=text,
                    fetched_at=seen,
                )
            )
            mid = conn.execute(
                sa.insert(schema.matches).values(
                    entry_id=eid,
                    topic=topic,
                    score=score,
                    reasons=reasons
                    or "; ".join(f"{k}: {', '.join(v)}" for k, v in details["groups"].items()),
                    details=json.dumps(details),
                    matched_at=matched_at or seen,
                )
            ).inserted_primary_key[0]
        return int(mid)

    def cycle(self, started: datetime, feeds: int = 10, errors: int = 0, new: int = 5) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(schema.cycles).values(
                    started_at=started,
                    finished_at=started + timedelta(minutes=1),
                    feeds=feeds,
                    errors=errors,
                    new_entries=new,
                )
            )

    def rows(self, query: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def digest_ids(self) -> dict[int, str | None]:
        """match id -> digest id."""
        return {
            r.id: r.digest_id
            for r in self.rows(sa.select(schema.matches.c.id, schema.matches.c.digest_id))
        }


def make_db(tmp_path: Path) -> Db:
    path = tmp_path / "t.db"
    return Db(store.open_db("sqlite:///" + str(path)), path)


def make_config(tmp_path: Path, db: Db, **digest: Any) -> Config:
    """A config with the default topic, digests under tmp_path/digests, e-mail as given."""
    email = digest.pop("email", {})
    raw: dict[str, Any] = {
        "storage": {"db": str(db.path)},
        "digest": {"dir": str(tmp_path / "digests"), **digest, "email": email},
        "topics": [
            {
                "name": TOPIC,
                "groups": [
                    {"name": "migration", "terms": ["migrant", "мигрант", "work permit", "патент"]},
                    {"name": "place", "terms": ["Russia", "Afghan", "Афганистан", "Москв"]},
                ],
            }
        ],
    }
    return config_mod.parse(raw, tmp_path)


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it receives; it can refuse, or drop the connection."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse: bool = False
    drop: bool = False  # take the message, then close the connection before answering

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "554 5.7.1 Message refused by policy"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        if self.drop:
            server.transport.close()
        return "250 2.0.0 OK"

    def parsed(self, i: int = -1) -> EmailMessage:
        msg = message_from_bytes(self.messages[i][2], policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@contextmanager
def smtp_server(**kwargs: Any) -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port, for the duration."""
    handler = Inbox()
    port = free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    ctl.start()
    try:
        yield handler, port
    finally:
        ctl.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def walk(obj: Any) -> Iterator[str]:
    """Every string inside a JSON value."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from walk(v)


def stored(
    match_id: int,
    title: str,
    text: str,
    *,
    topic: str = TOPIC,
    score: float = 0.7,
    source: str = "Example News",
    published: datetime | None = None,
    first_seen: datetime | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    language: str | None = "en",
    digest_id: str | None = None,
) -> StoredMatch:
    """A StoredMatch as the store hands it out, for the pure tests."""
    return StoredMatch(
        match_id=match_id,
        entry_id=match_id,
        topic=topic,
        score=score,
        reasons="migration: migrants",
        details={
            "groups": dict(groups if groups is not None else GROUPS),
            "nearest_seed": "seed-a",
            "seed_similarity": 0.5,
        },
        url=f"https://{source.lower().replace(' ', '')}.example/{match_id}",
        title=title,
        source=source,
        feed_url="https://example.org/feed.xml",
        language=language,
        published=published,
        first_seen=first_seen or T0 - timedelta(hours=match_id),
        text=text,
        digest_id=digest_id,
    )
