"""A cycle's store calls on an SQLite file with the standard library, until it needs more (issue 16).

Importing SQLAlchemy took a quarter of a cron ``watcher fetch`` over 1,000 unchanged feeds.  When
the database is a plain SQLite file at the schema version this module was written for, and the
feeds of config.toml are those the table last agreed with (the hash the store's config sync keeps
in ``meta``), ``LiteStore`` runs the calls of a cycle in which nothing new arrives with
``sqlite3``: lease the due feeds (one UPDATE ... RETURNING that re-checks the lease, as
``store.feeds.claim_due``), open the cycle row, write the feed states after the polls (the columns,
values and text formats of ``store.feeds.apply_updates``), release a lease, close the cycle row.

The entries of a cycle (known keys, a feed's new entries, late links, the topic models' labels)
are written the same way, by ``cycle_lite_items``.  Anything else (a database to create, migrate or
sync, ``--feed`` for an unknown URL, the engine asked for: alerts, a digest) hands over: the engine is opened
then (``store.open_db``) and an ``EngineStore`` answers that call and every later one, on the same
database thread.  Every call before the hand-over committed, so nothing is lost or written twice.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cycle_lite_items as lite_items
from . import stages
from .cycle_lite_items import bind, stored_time
from .errors import StoreError
from .health import SYNCED_KEY, announce, feed_row, feeds_digest, sqlite_path
from .models import FEED_STATE, Feed
from .stages import Stage
from .store import SQLITE_PRAGMAS, now_utc

if TYPE_CHECKING:
    import sqlalchemy as sa

    from .config import Config
    from .cycle_api import Claim, CycleStore
    from .hostgate import FleetGate
    from .models import Document, Entry
    from .pipeline import CycleReport
    from .schedule import FeedUpdate
    from .stages import StopAt
    from .store.items import NewItem, RecordedMatch

log = logging.getLogger(__name__)

# The schema these statements were written for (store.schema.SCHEMA_VERSION, which a test holds
# equal): on a database at any other version the cycle hands over and the store migrates or refuses.
SCHEMA_VERSION = 5

# store.feeds.claim_due on SQLite, statement for statement: pick the free feeds, due ones first,
# and lease them in one UPDATE that re-checks the lease (whoever writes second finds them taken).
_FREE = "(lease_until IS NULL OR lease_until <= :now)"
_CLAIM = (
    "UPDATE feeds SET lease_until = :until, lease_owner = :owner "
    "WHERE id IN (SELECT id FROM feeds WHERE {pick} AND " + _FREE + " "
    "ORDER BY next_poll_at IS NOT NULL, next_poll_at{limit}) AND " + _FREE + " RETURNING *"
)
_ALL = "enabled IS 1 AND retired IS 0"
_DUE = _ALL + " AND (next_poll_at IS NULL OR next_poll_at <= :now)"
_STATE = (  # store.feeds._update_statement: every FEED_STATE column, the title kept if none came
    "UPDATE feeds SET "
    + ", ".join(f"{name} = :{name}" for name in FEED_STATE)
    + ", title = coalesce(:title, title), lease_until = NULL, lease_owner = NULL WHERE id = :id"
)


def _state_row(feed_id: int, update: FeedUpdate) -> dict[str, Any]:
    """The ``_STATE`` parameters of a feed's poll outcome (announced in the log as it is written)."""
    row = {name: bind(getattr(update, name)) for name in FEED_STATE}
    row.update(id=feed_id, title=update.title or None)
    announce(log, feed_id, update)
    return row


class HandOver(Exception):
    """What the lite path cannot prove or do: the engine's store takes over (the reason given)."""


class LiteStore:
    """``cycle_api.CycleStore`` over a plain SQLite file: stdlib until a call needs SQLAlchemy."""

    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg
        self._path: Path | None = sqlite_path(cfg.db_url)
        self._conn: sqlite3.Connection | None = None
        self._full: CycleStore | None = None
        self._lock = threading.Lock()
        self.handed_over: str | None = None  # why the engine's store took over, if it did
        self._entries_lite = False  # after a hand-over at the start: entries with sqlite3 still

    # --- the hand-over --------------------------------------------------------------------------

    def _store(self, reason: str) -> CycleStore:
        """The engine's store, opened (and SQLAlchemy imported) the first time a call needs it."""
        with self._lock:
            if self._full is None:
                from .cycle_store import EngineStore
                from .store import open_db

                log.debug("cycle store: SQLAlchemy takes over: %s", reason)
                self.handed_over = reason
                self._full = EngineStore(open_db(self._cfg.db_url, file_mode=self._cfg.db_file_mode))
            return self._full

    def engine(self) -> sa.Engine:
        return self._store("the engine was asked for").engine()

    def host_gate(self, min_host_gap: float) -> FleetGate | None:
        return None  # SQLite: one poller per database, the Fetcher keeps the per-host limits

    # --- the stdlib connection ------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            if self._path is None or not self._path.is_file():
                raise HandOver("no SQLite file yet")
            try:
                # mode=rw: never creates the file (the store creates it with its mode and schema).
                # Opened on the main thread or the database thread, used by one at a time.
                conn = sqlite3.connect(
                    f"{self._path.resolve().as_uri()}?mode=rw",
                    uri=True,
                    timeout=30,
                    isolation_level=None,  # transactions are begun and ended here, explicitly
                    check_same_thread=False,
                )
            except sqlite3.Error as e:
                raise HandOver(f"cannot open the file: {e}") from e
            try:
                for pragma in SQLITE_PRAGMAS:
                    conn.execute(pragma)
            except sqlite3.Error as e:  # not a database, say: the store says so in its words
                conn.close()
                raise HandOver(f"cannot open the file: {e}") from e
            conn.row_factory = sqlite3.Row
            self._conn = conn
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, the lock taken at once (it waits the busy timeout, then fails)."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StoreError(f"{self._path}: cannot write: {e}") from e
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            conn.execute("ROLLBACK")
            raise StoreError(f"{self._path}: cannot write: {e}") from e

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _check(self, sync_feeds: bool) -> None:
        """Raise HandOver unless the schema is this module's and the feeds are in step with config."""
        conn = self._connect()
        try:
            asked = ("schema_version", SYNCED_KEY)
            meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN (?, ?)", asked))
        except sqlite3.Error as e:
            raise HandOver(f"no schema to read: {e}") from e
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise HandOver(f"schema version {meta.get('schema_version')}, not {SCHEMA_VERSION}")
        if sync_feeds and meta.get(SYNCED_KEY) != feeds_digest(self._cfg.feeds):
            raise HandOver("config.toml's feeds must be synced")

    # --- the cycle's calls ----------------------------------------------------------------------

    def start(self, cfg: Config, claim: Claim) -> tuple[list[Feed], int]:
        if self._full is None and cfg is self._cfg:
            try:
                return self._start(claim)
            except HandOver as e:
                reason = str(e)
        else:
            reason = "another config than the store's"
        started = self._store(reason).start(cfg, claim)
        if cfg is self._cfg:
            # The engine's store created, migrated or synced the database: a cycle's entries can
            # be written with sqlite3 from now on all the same (a first poll's thousands of them).
            self._entries_lite = self._at_our_schema()
        return started

    def _at_our_schema(self) -> bool:
        try:
            self._check(sync_feeds=False)
        except (HandOver, sqlite3.Error):
            return False
        return True

    def _start(self, claim: Claim) -> tuple[list[Feed], int]:
        self._check(claim.sync_feeds)
        now, urls, limit = claim.now, claim.urls, claim.limit
        params: dict[str, Any] = {
            "now": stored_time(now),
            "until": stored_time(now + timedelta(seconds=self._cfg.schedule.lease)),
            "owner": claim.owner[:64],
            "limit": limit,
        }
        with self._write() as conn:
            if urls is not None:
                ids = []
                for url in dict.fromkeys(urls):
                    row = conn.execute(
                        "SELECT id FROM feeds WHERE url = ? OR current_url = ?", (url, url)
                    ).fetchone()
                    if row is None:
                        raise HandOver(f"{url} is not in the table yet")
                    ids.append(int(row[0]))
                params.update((f"id{i}", feed_id) for i, feed_id in enumerate(ids))
                pick = f"id IN ({', '.join(f':id{i}' for i in range(len(ids)))})" if ids else "0"
            else:
                pick = _DUE if claim.due_only else _ALL
            sql = _CLAIM.format(pick=pick, limit=" LIMIT :limit" if limit is not None else "")
            claimed = [feed_row(r) for r in conn.execute(sql, params).fetchall()]
        with self._write() as conn:
            cycle_id = conn.execute(
                "INSERT INTO cycles (started_at) VALUES (?) RETURNING id", (stored_time(now),)
            ).fetchone()[0]
        claimed.sort(key=lambda f: (f.next_poll_at is not None, f.next_poll_at or now, f.url))
        return claimed, int(cycle_id)

    def _lite(self) -> bool:
        """The cycle started here (its feeds leased with sqlite3) and nothing has handed over, or
        the engine's store started it on a plain SQLite file at this module's schema."""
        return self._conn is not None and (self._full is None or self._entries_lite)

    def known_keys(self, feed_id: int, items: Sequence[tuple[str, Entry]]) -> dict[str, int]:
        if not self._lite():
            return self._store("a feed has entries to look up").known_keys(feed_id, items)
        return lite_items.known_keys(self._connect(), feed_id, items)

    def record_feed(
        self,
        feed_id: int,
        known_ids: list[int],
        items: list[NewItem],
        update: FeedUpdate,
        now: datetime,
        *,
        stop_at: StopAt | None = None,
        feed_url: str = "",
    ) -> list[RecordedMatch]:
        if not self._lite():
            return self._store("a feed has entries to record").record_feed(
                feed_id, known_ids, items, update, now, stop_at=stop_at, feed_url=feed_url
            )
        # EngineStore.record_feed, statement for statement, in one transaction (cycle_lite_items).
        with self._write() as conn:
            lite_items.link_entries(conn, feed_id, known_ids, now)
            recorded = lite_items.record_items(conn, feed_id, items, now)
            stages.reached(stop_at, Stage.ENTRIES_RECORDED, feed=feed_url)
            conn.execute(_STATE, _state_row(feed_id, update))
        return recorded

    def link_late(self, links: list[tuple[str, int]], now: datetime) -> None:
        if not self._lite():
            self._store("entries to link").link_late(links, now)
            return
        with self._write() as conn:
            for key, feed_id in links:
                entry_id = lite_items.entry_id_for(conn, key)
                if entry_id is not None:
                    lite_items.link_entries(conn, feed_id, [entry_id], now)

    def feedback(self, topic: str) -> tuple[list[Document], list[Document]]:
        """The topic's labelled articles, read on a connection of its own (the models are built on
        another thread than the database thread's); the engine's store reads them otherwise."""
        if self._lite() and self._path is not None:
            try:
                conn = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
                try:
                    return lite_items.load_feedback(conn, topic)
                finally:
                    conn.close()
            except sqlite3.Error as e:
                log.debug("cycle store: labels through SQLAlchemy: %s", e)
        return self._store("the topic models' labels").feedback(topic)

    def apply_updates(self, states: list[tuple[int, FeedUpdate]]) -> None:
        if self._full is not None:
            self._full.apply_updates(states)
            return
        rows = [_state_row(feed_id, update) for feed_id, update in states]
        if rows:
            with self._write() as conn:
                conn.executemany(_STATE, rows)

    def release(self, feed_id: int) -> None:
        if self._full is not None:
            self._full.release(feed_id)
            return
        with self._write() as conn:
            conn.execute("UPDATE feeds SET lease_until = NULL, lease_owner = NULL WHERE id = ?", (feed_id,))

    def finish(self, cycle_id: int, report: CycleReport) -> None:
        if self._full is not None:
            self._full.finish(cycle_id, report)
            self.close()
            return
        with self._write() as conn:
            conn.execute(
                "UPDATE cycles SET finished_at = ?, feeds = ?, errors = ?, new_entries = ?, "
                "matches = ? WHERE id = ?",
                (
                    stored_time(now_utc()),
                    len(report.feeds),
                    len(report.errors),
                    report.new_entries,
                    len(report.matches),
                    cycle_id,
                ),
            )
        self.close()
