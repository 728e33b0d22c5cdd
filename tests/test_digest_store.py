"""Digest queries on a real SQLite file; file naming and atomic writes; the --since look back."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.digest_helpers import OTHER, RUSSIAN, T0, WIRE, make_config, make_db
from watcher import cli, deliver, outbox
from watcher.commands.digest import parse_since
from watcher.errors import DeliveryError
from watcher.store import digests as store
from watcher.store import schema


def test_pending_matches_read_back_with_fallbacks(tmp_path: Path) -> None:
    db = make_db(tmp_path)
    a = db.match("With article", WIRE, site="Wire One", published=T0 - timedelta(hours=3))
    feed = db.feed("https://named.example/rss", "Named Feed")
    # An entry whose page was never extracted: no article row; the feed summary stands in.
    with db.engine.begin() as conn:
        eid = conn.execute(
            sa.insert(schema.entries).values(
                feed_id=feed,
                url="https://named.example/x",
                link="https://named.example/x?utm_source=rss",
                title="No article",
                summary="Afghan migrants summary from the feed.",
                published_at=T0 - timedelta(hours=1),
                first_seen_at=T0,
            )
        ).inserted_primary_key[0]
        b = conn.execute(
            sa.insert(schema.matches).values(
                entry_id=eid, topic="t", score=0.6, details="not json", matched_at=T0
            )
        ).inserted_primary_key[0]
    got = {m.match_id: m for m in store.pending_matches(db.engine)}
    assert set(got) == {a, b}
    assert got[a].source == "Wire One" and got[a].published == T0 - timedelta(hours=3)
    assert got[a].details["groups"] and got[a].text == WIRE
    assert got[b].source == "Named Feed" and got[b].text == "Afghan migrants summary from the feed."
    assert got[b].details == {} and got[b].published == T0 - timedelta(hours=1)
    assert got[b].first_seen == T0 and got[b].first_seen.tzinfo is not None


def test_record_claims_all_or_nothing(tmp_path: Path) -> None:
    db = make_db(tmp_path)
    m1, m2 = db.match("One", WIRE), db.match("Two", OTHER)
    kw = {"created_at": T0, "payload": "{}", "items": 1, "path": None}
    store.record(db.engine, digest_id="d1", message_id="<d1@x>", match_ids=[m1], **kw)
    with pytest.raises(store.ClaimConflict):  # m1 is taken: the whole digest is refused
        store.record(db.engine, digest_id="d2", message_id="<d2@x>", match_ids=[m1, m2], **kw)
    assert db.digest_ids() == {m1: "d1", m2: None}
    assert [r.id for r in db.rows(sa.select(schema.digests.c.id))] == ["d1"]
    assert [d.id for d in store.unfinished(db.engine)] == ["d1"]
    assert store.mark_failed(db.engine, "d1", "554 no") == 1
    assert db.digest_ids() == {m1: None, m2: None} and store.unfinished(db.engine) == []
    store.reopen(db.engine, "d1", [m1])
    assert db.digest_ids()[m1] == "d1" and [d.status for d in store.unfinished(db.engine)] == [
        "pending"
    ]
    store.mark_sent(db.engine, "d1", T0)
    loaded = store.load(db.engine, "d1")
    assert loaded is not None and loaded.status == "sent" and loaded.sent_at == T0
    assert store.load(db.engine, "nope") is None


def test_feed_health_and_cycle_stats(tmp_path: Path) -> None:
    db = make_db(tmp_path)
    db.feed(
        "https://a.example/rss",
        "Long down",
        failures=20,
        first_failure_at=T0 - timedelta(days=2),
        last_error="x",
    )
    db.feed(
        "https://b.example/rss", "Just down", failures=2, first_failure_at=T0 - timedelta(hours=5)
    )
    db.feed(
        "https://c.example/rss",
        "Off",
        enabled=False,
        failures=50,
        first_failure_at=T0 - timedelta(days=9),
    )
    db.feed("https://d.example/rss", "Gone", retired=True, last_error="HTTP 410 Gone")
    db.feed("https://e.example/rss", "Fine", last_polled_at=T0 - timedelta(hours=1))
    h = store.feed_health(db.engine, T0)
    assert [f.name for f in h.failing] == ["Long down"] and h.failing[0].failures == 20
    assert [(f.name, f.error) for f in h.retired] == [("Gone", "HTTP 410 Gone")]
    db.cycle(T0 - timedelta(days=2), feeds=9, errors=9)  # before the window
    db.cycle(T0 - timedelta(hours=3), feeds=5, errors=1, new=4)
    db.cycle(T0 - timedelta(hours=2), feeds=5, errors=0, new=2)
    s = store.cycle_stats(db.engine, T0 - timedelta(days=1))
    assert (s.cycles, s.polls, s.errors, s.new_entries, s.feeds) == (2, 10, 1, 6, 1)
    assert s.last_cycle_at == T0 - timedelta(hours=2) + timedelta(minutes=1)


def test_write_atomic(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.md"
    deliver.write_atomic(target, "one")
    deliver.write_atomic(target, "two — ünïcode")
    assert target.read_text(encoding="utf-8") == "two — ünïcode"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.md"]  # no temp file left
    deliver.write_atomic(tmp_path / "g.txt", b"x", mode=0o644)
    assert stat.S_IMODE((tmp_path / "g.txt").stat().st_mode) == 0o644
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DeliveryError, match="cannot write"):
        deliver.write_atomic(blocker / "x.md", "y")  # parent is a file


def test_second_digest_of_a_day_never_overwrites_the_first(tmp_path: Path) -> None:
    db = make_db(tmp_path)
    cfg = make_config(tmp_path, db, formats=["markdown", "json"])
    db.match("Morning story about Afghan migrants", WIRE)
    first = outbox.send_digest(cfg, db.engine, now=T0, environ={})
    db.match("Evening story about Afghan migrants", OTHER, matched_at=T0 + timedelta(hours=8))
    (tmp_path / "digests" / "2025-03-14-2.md").write_text("a file someone else put here")
    second = outbox.send_digest(cfg, db.engine, now=T0 + timedelta(hours=9), environ={})
    names = sorted(p.name for p in (tmp_path / "digests").iterdir())
    assert names == [
        "2025-03-14-2.md",
        "2025-03-14-3.json",
        "2025-03-14-3.md",
        "2025-03-14.json",
        "2025-03-14.md",
    ]
    assert "Morning story" in (tmp_path / "digests" / "2025-03-14.md").read_text()
    assert "Evening story" in (tmp_path / "digests" / "2025-03-14-3.md").read_text()
    assert (tmp_path / "digests" / "2025-03-14-2.md").read_text() == "a file someone else put here"
    assert first.paths[0].name == "2025-03-14.md" and second.paths[0].name == "2025-03-14-3.md"


def test_since_looks_back_without_marking(tmp_path: Path) -> None:
    db = make_db(tmp_path)
    cfg = make_config(tmp_path, db, formats=["markdown"])
    old = db.match("Old story about Afghan migrants", WIRE, matched_at=T0 - timedelta(days=5))
    sent = db.match("Sent story about Afghan migrants", OTHER, matched_at=T0 - timedelta(hours=5))
    assert outbox.send_digest(cfg, db.engine, now=T0, environ={}).status == "sent"
    new = db.match(
        "New story about Afghan migrants",
        RUSSIAN,
        matched_at=T0 + timedelta(hours=1),
    )
    before = db.digest_ids()
    look = outbox.send_digest(
        cfg, db.engine, now=T0 + timedelta(hours=2), since=T0 - timedelta(days=1), environ={}
    )
    assert look.status == "review" and sorted(look.paths) == [
        tmp_path / "digests" / "2025-03-14-review.md"
    ]
    text = look.paths[0].read_text()
    assert "Sent story" in text and "New story" in text and "Old story" not in text
    assert "nothing was marked as sent" in text
    assert (
        db.digest_ids() == before
        and before[new] is None
        and before[old] is not None
        and before[sent]
    )


def test_cli_since_and_bad_dates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = make_db(tmp_path)
    db.match("A story about Afghan migrants", WIRE, matched_at=T0)
    conf = tmp_path / "c.toml"
    conf.write_text(
        f'[storage]\ndb = "{db.path}"\n[digest]\ndir = "out"\nformats = ["markdown"]\n'
        '[schedule]\ntimezone = "Europe/Moscow"\n[[topics]]\nname = "Russia–Afghan migration"\n',
        encoding="utf-8",
    )
    assert cli.main(["digest", "--config", str(conf), "--since", "yesterday"]) == 1
    assert "--since: expected a date" in capsys.readouterr().err
    assert cli.main(["digest", "--config", str(conf), "--since", "2025-03-13", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (
        out["status"] == "review" and out["matches"] == 1 and out["paths"][0].endswith("-review.md")
    )
    assert set(db.digest_ids().values()) == {None}
    assert parse_since("2025-03-13", "Europe/Moscow") == datetime(2025, 3, 12, 21, 0, tzinfo=UTC)
    assert parse_since("2025-03-13T10:00:00+00:00", "Europe/Moscow") == datetime(
        2025, 3, 13, 10, tzinfo=UTC
    )
