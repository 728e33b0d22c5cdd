"""The life of a digest, declared once (watcher.digest_state) and enforced by the store's updates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from watcher.digest_state import (
    STORED,
    SUCCEEDED,
    TRANSITIONS,
    BadTransition,
    DigestState,
    sources,
    transition,
)
from watcher.store import digests as store
from watcher.store import open_db

NOW = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)


def test_every_stored_state_is_reachable_and_sent_is_final() -> None:
    reached, frontier = set(), [None]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    assert reached == set(STORED)
    assert TRANSITIONS[DigestState.SENT] == frozenset()
    assert not (set(TRANSITIONS) - {None}) - STORED  # outcome-only states are never stored
    assert DigestState.PENDING not in SUCCEEDED and DigestState.FAILED not in SUCCEEDED


def test_moves_outside_the_life_are_refused() -> None:
    assert transition(None, DigestState.PENDING) is DigestState.PENDING
    for old, new in [
        (DigestState.SENT, DigestState.PENDING),
        (DigestState.SENT, DigestState.FAILED),
        (None, DigestState.SENT),
        (DigestState.FAILED, DigestState.SENT),
        (DigestState.PENDING, DigestState.SKIPPED),
    ]:
        with pytest.raises(BadTransition, match=f"from {old or 'nothing'} to {new}"):
            transition(old, new)
    assert sources(DigestState.PENDING) == (DigestState.FAILED,)


def test_the_store_only_makes_allowed_moves(tmp_path: Path) -> None:
    engine = open_db(f"sqlite:///{tmp_path / 'w.db'}")

    def status() -> DigestState:
        d = store.load(engine, "d1")
        assert d is not None
        return d.status

    store.record(
        engine, digest_id="d1", message_id="<m@x>", created_at=NOW, payload="{}", items=0,
        match_ids=[], path=None,
    )  # fmt: skip
    assert status() is DigestState.PENDING
    store.mark_failed(engine, "d1", "refused")
    assert status() is DigestState.FAILED
    store.mark_sent(engine, "d1", NOW)  # failed -> sent is not a move: nothing changes
    assert status() is DigestState.FAILED
    store.reopen(engine, "d1", [])
    assert status() is DigestState.PENDING and [d.id for d in store.unfinished(engine)] == ["d1"]
    store.mark_sent(engine, "d1", NOW)
    assert status() is DigestState.SENT
    assert store.mark_failed(engine, "d1", "late") == 0  # a sent digest stays sent
    store.reopen(engine, "d1", [])
    assert status() is DigestState.SENT and store.unfinished(engine) == []
    engine.dispose()
