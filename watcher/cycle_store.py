"""The store calls of one poll cycle, each one short transaction, run on the cycle's database
thread (``dbthread``) so that the event loop never waits on SQLite or PostgreSQL (issue 16).

``EngineStore`` is the ``cycle_api.CycleStore`` over an SQLAlchemy engine (any database)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from . import hostgate, schedule, stages
from .config import Config
from .models import Document, Entry, Feed
from .stages import Stage, StopAt
from .store import entries as store_entries
from .store import feeds as store_feeds
from .store import now_utc

if TYPE_CHECKING:
    from .cycle_api import Claim
    from .pipeline import CycleReport


class EngineStore:
    """The cycle's store calls through SQLAlchemy (``cycle_api.CycleStore``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def engine(self) -> sa.Engine:
        return self._engine

    def host_gate(self, min_host_gap: float) -> hostgate.FleetGate | None:
        return hostgate.for_engine(self._engine, min_host_gap)

    def start(self, cfg: Config, claim: Claim) -> tuple[list[Feed], int]:
        if claim.sync_feeds:
            store_feeds.sync_config_feeds(self._engine, cfg.feeds, claim.now)
        claimed = store_feeds.claim_due(
            self._engine, now=claim.now, owner=claim.owner, lease_seconds=cfg.schedule.lease,
            urls=claim.urls, due_only=claim.due_only, limit=claim.limit,
        )  # fmt: skip
        with self._engine.begin() as conn:
            cycle_id = store_entries.start_cycle(conn, claim.now)
        return list(claimed), cycle_id

    def feedback(self, topic: str) -> tuple[list[Document], list[Document]]:
        from .store import topics as store_topics

        return store_topics.load_feedback(self._engine, topic)

    def known_keys(self, feed_id: int, items: Sequence[tuple[str, Entry]]) -> dict[str, int]:
        with self._engine.connect() as conn:
            return store_entries.known_keys(conn, feed_id, items)

    def record_feed(
        self,
        feed_id: int,
        known_ids: list[int],
        items: list[store_entries.NewItem],
        update: schedule.FeedUpdate,
        now: datetime,
        *,
        stop_at: StopAt | None = None,
        feed_url: str = "",
    ) -> list[store_entries.RecordedMatch]:
        """A feed's new entries, links and state in one transaction (``stop_at``: the test kill
        point between the entries and the state, issue 17)."""
        with self._engine.begin() as conn:
            store_entries.link_entries(conn, feed_id, known_ids, now)
            recorded = store_entries.record_items(conn, feed_id, items, now)
            stages.reached(stop_at, Stage.ENTRIES_RECORDED, feed=feed_url)
            store_feeds.apply_update(conn, feed_id, update)
        return recorded

    def apply_updates(self, states: list[tuple[int, schedule.FeedUpdate]]) -> None:
        with self._engine.begin() as conn:
            store_feeds.apply_updates(conn, states)

    def release(self, feed_id: int) -> None:
        with self._engine.begin() as conn:
            store_feeds.release(conn, feed_id)

    def link_late(self, links: list[tuple[str, int]], now: datetime) -> None:
        with self._engine.begin() as conn:
            for key, feed_id in links:
                entry_id = store_entries.entry_id_for(conn, key)
                if entry_id is not None:
                    store_entries.link_entries(conn, feed_id, [entry_id], now)

    def finish(self, cycle_id: int, report: CycleReport) -> None:
        with self._engine.begin() as conn:
            store_entries.finish_cycle(
                conn,
                cycle_id,
                now_utc(),
                feeds=len(report.feeds),
                errors=len(report.errors),
                new=report.new_entries,
                matched=len(report.matches),
            )
