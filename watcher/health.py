"""``watcher status`` read straight from an SQLite file with the standard library.

``status`` is run by hand and by monitoring scripts, and importing SQLAlchemy alone takes longer
than rss2email's whole ``r2e --help`` (issue 16).  When the database is an SQLite file that is
already in step with config.toml, the health rows and the daemon's heartbeat are read here with
``sqlite3``, read-only.  Anything else (PostgreSQL, a database not created yet, a config change
that the store must sync first, a schema this query does not know) gives ``None``: the command then
takes the SQLAlchemy path, which syncs and migrates.  Both paths yield the same ``FeedHealth`` rows.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .config import Config, FeedConfig
from .models import FEED_STATE, Feed

if TYPE_CHECKING:
    from .schedule import FeedUpdate

T = TypeVar("T")

_HEALTH = """
SELECT f.*, s.n AS n_entries, m.n AS n_matches
FROM feeds AS f
LEFT JOIN (SELECT feed_id, count(*) AS n FROM entry_feeds GROUP BY feed_id) AS s
  ON s.feed_id = f.id
LEFT JOIN (
  SELECT ef.feed_id, count(DISTINCT mt.id) AS n
  FROM entry_feeds AS ef JOIN matches AS mt ON mt.entry_id = ef.entry_id
  GROUP BY ef.feed_id
) AS m ON m.feed_id = f.id
WHERE f.source != 'removed'
ORDER BY f.source != 'config', f.url
"""


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """One row of ``watcher status``."""

    feed: Feed
    last_polled_at: datetime | None
    last_http_status: int | None
    warning: str | None
    entries: int
    matches: int

    @property
    def status(self) -> str:
        if self.feed.retired:
            return "retired"
        if not self.feed.enabled:
            return "disabled"
        return self.feed.last_status or "new"


STALE_AFTER = timedelta(seconds=90)  # three missed beats (store.workers.BEAT_EVERY): a worker is gone


@dataclass(frozen=True, slots=True)
class Worker:
    """One row of ``watcher status``'s worker list (a ``watcher run`` on this database)."""

    id: str
    host: str
    pid: int
    started: datetime
    heartbeat: datetime
    version: str
    schema: int
    state: dict[str, Any]

    def live(self, now: datetime) -> bool:
        return now - self.heartbeat < STALE_AFTER


def worker_state(text: str | None) -> dict[str, Any]:
    """A worker row's JSON state; {} for anything unreadable."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class Health:
    rows: list[FeedHealth]
    heartbeat: dict[str, Any] | None
    workers: list[Worker]


def sqlite_path(db_url: str) -> Path | None:
    """The file behind a plain ``sqlite:///`` URL; None for anything else."""
    prefix = "sqlite:///"
    if not db_url.startswith(prefix) or "?" in db_url:
        return None
    path = db_url[len(prefix) :]
    return Path(path) if path and path != ":memory:" else None


def read(cfg: Config) -> Health | None:
    """Every feed's health and the heartbeat, or None when the SQLAlchemy path must answer."""

    def query(conn: sqlite3.Connection) -> Health:
        rows = [_health(r) for r in conn.execute(_HEALTH)]
        beat = conn.execute("SELECT value FROM meta WHERE key = 'daemon'").fetchone()
        fleet = [_worker(r) for r in conn.execute(_WORKERS)]
        data = json.loads(beat[0]) if beat is not None else None
        return Health(rows, data if isinstance(data, dict) else None, fleet)

    return _read_in_step(cfg, query)


def feeds(cfg: Config) -> list[Feed] | None:
    """The feeds ``watcher feeds list`` shows (as ``store.feeds.list_feeds``), or None (see read)."""

    def query(conn: sqlite3.Connection) -> list[Feed]:
        return [feed_row(r) for r in conn.execute(_FEEDS)]

    return _read_in_step(cfg, query)


def _read_in_step(cfg: Config, query: Callable[[sqlite3.Connection], T]) -> T | None:
    """``query`` on the SQLite file when it is in step with the config; else None."""
    path = sqlite_path(cfg.db_url)
    if path is None or not path.is_file():
        return None
    try:
        # mode=rw: never creates a file; only SELECTs run.  WAL readers do not wait on a writer.
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
    except sqlite3.Error:
        return None
    conn.row_factory = sqlite3.Row
    try:
        if not in_sync(conn.execute("SELECT * FROM feeds").fetchall(), cfg.feeds):
            return None
        return query(conn)
    except (sqlite3.Error, IndexError, KeyError, ValueError, TypeError):
        return None  # an older or newer schema: the SQLAlchemy path migrates or refuses it
    finally:
        conn.close()


_WORKERS = "SELECT * FROM workers ORDER BY heartbeat DESC, id"
# store.feeds.list_feeds's rows and order
_FEEDS = "SELECT * FROM feeds WHERE source != 'removed' ORDER BY source != 'config', url"


def _worker(r: Any) -> Worker:
    started, heartbeat = _time(r["started"]), _time(r["heartbeat"])
    if started is None or heartbeat is None:
        raise ValueError("a worker row without times")
    return Worker(
        r["id"], r["host"], int(r["pid"]), started, heartbeat, r["version"], int(r["schema"]),
        worker_state(r["state"]),
    )  # fmt: skip


SYNCED_KEY = "config_feeds_sha256"  # meta: the config.toml feeds the table last agreed with


def feeds_digest(configured: Sequence[FeedConfig]) -> str:
    """What the store's config sync writes, as one hash: each config feed's URL, name, interval,
    enabled flag (``store.feeds.sync_config_feeds`` keeps it under ``SYNCED_KEY``)."""
    import hashlib  # here: `watcher status`, which imports this module, never hashes (OpenSSL: ~5 ms)

    stated = [[f.url, f.name, f.interval, f.enabled] for f in configured]
    return hashlib.sha256(json.dumps(stated).encode()).hexdigest()


def in_sync(rows: Sequence[Any], configured: Sequence[FeedConfig]) -> bool:
    """Whether ``store.feeds.sync_config_feeds`` would leave these rows as they are."""
    by_url = {r["url"]: r for r in rows}
    wanted = {f.url: f for f in configured}
    for url, fc in wanted.items():
        row = by_url.get(url)
        if row is None or (row["name"], row["interval"], bool(row["enabled"]), row["source"]) != (
            fc.name,
            fc.interval,
            fc.enabled,
            "config",
        ):
            return False
    return not any(r["source"] == "config" and r["url"] not in wanted and r["enabled"] for r in rows)


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _health(r: Any) -> FeedHealth:
    return FeedHealth(
        feed=feed_row(r),
        last_polled_at=_time(r["last_polled_at"]),
        last_http_status=r["last_http_status"],
        warning=r["warning"],
        entries=int(r["n_entries"] or 0),
        matches=int(r["n_matches"] or 0),
    )


def announce(log: logging.Logger, feed_id: int, update: FeedUpdate) -> None:
    """The log lines of a feed state worth a warning as it is written (both stores' writers)."""
    if update.moved_to:
        log.warning("feed id=%d moved permanently to %s", feed_id, update.moved_to)
    if update.retired:
        log.warning("feed id=%d retired: %s", feed_id, update.last_error)


def feed_row(r: Any) -> Feed:
    """A ``feeds`` row read with sqlite3, as ``store.feeds._feed`` makes it (every FEED_STATE field)."""
    state = {name: r[name] for name in FEED_STATE}
    for name in FEED_STATE:
        if name.endswith("_at"):
            state[name] = _time(state[name])
    state.update(failures=int(state["failures"] or 0), retired=bool(state["retired"]))
    return Feed(
        url=r["url"],
        name=r["name"] or "",
        id=r["id"],
        enabled=bool(r["enabled"]),
        source=r["source"],
        interval=r["interval"],
        title=r["title"] or "",
        **state,
    )
