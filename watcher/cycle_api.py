"""What a poll cycle asks of the store (issue 16): ``CycleStore``, and which one a caller gets.

``pipeline.run_cycle_async`` talks to this interface only.  ``cycle_store.EngineStore`` answers it
with SQLAlchemy over any engine (the daemon's, PostgreSQL workers', the tests'); ``cycle_lite.LiteStore``
answers the calls of a cycle in which nothing new arrives with the standard library's ``sqlite3``
and hands over to an ``EngineStore`` the moment the cycle needs anything else.  Every method but
``host_gate`` runs on the cycle's database thread (``dbthread``), one call at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import sqlalchemy as sa

    from .config import Config
    from .hostgate import FleetGate
    from .models import Document, Entry, Feed
    from .pipeline import CycleReport
    from .schedule import FeedUpdate
    from .stages import StopAt
    from .store.entries import NewItem, RecordedMatch


@dataclass(frozen=True, slots=True)
class Claim:
    """The feeds a cycle leases at ``now`` for ``owner``: all enabled ones (only the due ones when
    ``due_only``) or exactly ``urls``; at most ``limit`` (a PostgreSQL worker's batch, issue 13);
    ``sync_feeds=False``: config.toml's feeds were synced already."""

    now: datetime
    owner: str
    urls: Sequence[str] | None = None
    due_only: bool = False
    limit: int | None = None
    sync_feeds: bool = True


@runtime_checkable
class CycleStore(Protocol):
    """The store calls of one cycle, each one short transaction."""

    def start(self, cfg: Config, claim: Claim) -> tuple[list[Feed], int]:
        """Sync config.toml's feeds, lease the feeds to poll, open the cycle row: (feeds, cycle id)."""
        ...

    def known_keys(self, feed_id: int, items: Sequence[tuple[str, Entry]]) -> dict[str, int]: ...

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
    ) -> list[RecordedMatch]: ...

    def apply_updates(self, states: list[tuple[int, FeedUpdate]]) -> None:
        """Feed states after polls that stored nothing else (and their leases released)."""
        ...

    def release(self, feed_id: int) -> None: ...

    def link_late(self, links: list[tuple[str, int]], now: datetime) -> None: ...

    def finish(self, cycle_id: int, report: CycleReport) -> None: ...

    def feedback(self, topic: str) -> tuple[list[Document], list[Document]]:
        """(relevant, irrelevant) labelled articles of a topic, for its model (any thread)."""
        ...

    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine, opened now if it was not (topic models' labels, alerts, digest)."""
        ...

    def host_gate(self, min_host_gap: float) -> FleetGate | None:
        """The fleet's per-host gate (PostgreSQL, issue 13), or None."""
        ...


def as_store(store: CycleStore | sa.Engine) -> CycleStore:
    """A ``CycleStore`` as is; an engine wrapped in ``cycle_store.EngineStore``."""
    if isinstance(store, CycleStore):
        return store
    from .cycle_store import EngineStore

    return EngineStore(store)
