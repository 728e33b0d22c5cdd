"""A feed's polling state is declared once (models.FeedState) and survives the store unchanged."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from watcher.config import FeedConfig
from watcher.models import FEED_STATE, Feed
from watcher.schedule import FeedUpdate
from watcher.store import feeds as store_feeds
from watcher.store import open_db, schema

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_the_state_is_one_list_everywhere() -> None:
    assert set(FEED_STATE) <= set(schema.feeds.c.keys())
    assert set(FEED_STATE) <= {f.name for f in dataclasses.fields(Feed)}
    assert [f.name for f in dataclasses.fields(FeedUpdate)] == [*FEED_STATE, "title", "moved_to"]
    # "interval" is the per-feed override only; the schedule's own interval has its own name
    assert "interval" not in FEED_STATE and "adaptive_interval" in FEED_STATE


def test_every_state_field_written_is_read_back(tmp_path: Path) -> None:
    engine = open_db(f"sqlite:///{tmp_path / 'w.db'}")
    url = "http://news.example/feed"
    store_feeds.sync_config_feeds(engine, [FeedConfig(url=url, name="N", interval=900.0)], NOW)
    feed = store_feeds.get_feed(engine, url)
    assert feed is not None and feed.id is not None
    update = FeedUpdate(  # a distinct, non-default value in every field
        last_status="http_error", last_http_status=500, last_error="HTTP 500", warning="w",
        etag='"e"', last_modified="lm", body_hash="h", failures=3,
        first_failure_at=NOW - timedelta(hours=3), last_success_at=NOW - timedelta(days=1),
        last_polled_at=NOW, last_unconditional_at=NOW - timedelta(hours=5),
        next_poll_at=NOW + timedelta(minutes=40), adaptive_interval=1234.5,
        current_url="http://news.example/moved", retired=True, title="Own title",
    )  # fmt: skip
    with engine.begin() as conn:
        store_feeds.apply_update(conn, feed.id, update)
    back = store_feeds.get_feed(engine, url)
    assert back is not None
    assert {n: getattr(back, n) for n in FEED_STATE} == {n: getattr(update, n) for n in FEED_STATE}
    assert back.title == "Own title" and back.interval == 900.0  # the override is untouched
    engine.dispose()
