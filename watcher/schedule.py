"""Pure: a feed's state after a poll, and when it is due next.

Rules (rss2email, Miniflux, CommaFeed, Media Cloud):

* 304, or a 200 whose body hash is unchanged, is a success that skips parsing; validators are
  occasionally ignored for one unconditional fetch (``unconditional_due``) because some servers keep
  them unchanged while the feed changes.
* 301/308 chains move the feed (``current_url``); 302/307 do not.  410 retires the feed.
* 429/503 wait for Retry-After (seconds or HTTP-date) when given, else back off.
* Every other failure backs off exponentially with jitter up to ``backoff_cap``; a failing feed is
  never dropped, only polled at the capped interval; success resets the count.
* Interval on success: a per-feed override wins; else 7 days / entries published in the last week
  (Miniflux's entry frequency) within ``[min_interval, max_interval]``; a poll in which no entry was
  already known halves it (the feed may scroll items away before we see them: Media Cloud).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .config import ScheduleConfig
from .models import SUCCESS, WITH_BODY, Feed, FeedState, FetchResult, FetchStatus, ParsedFeed

WEEK = 7 * 86400.0
_JITTER = 0.1  # +-10% on regular intervals: feeds added together drift apart


@dataclass(frozen=True, slots=True)
class FeedUpdate(FeedState):
    """A feed's complete state after one poll (``FeedState``); the store writes it as is."""

    title: str | None = None  # the feed's own title, when parsed
    moved_to: str | None = None  # set when this poll moved the feed (for the log and status)

    @property
    def is_error(self) -> bool:
        return self.last_status not in {s.value for s in SUCCESS}


def unconditional_due(feed: Feed, now: datetime, cfg: ScheduleConfig) -> bool:
    """True when this poll should skip If-None-Match / If-Modified-Since (validators can lie)."""
    if not feed.etag and not feed.last_modified:
        return True  # nothing to send anyway
    last = feed.last_unconditional_at
    return last is None or (now - last).total_seconds() >= cfg.unconditional_every


def body_unchanged(feed: Feed, result: FetchResult, body_hash: str | None) -> bool:
    """True when a 200 brought the very bytes parsed last time: a not-modified poll, not parsed."""
    return result.status in WITH_BODY and bool(body_hash) and body_hash == feed.body_hash


def frequency_interval(
    publish_times: Sequence[datetime], now: datetime, cfg: ScheduleConfig
) -> float:
    """Seconds between polls from how often the feed published in the last week (bounded)."""
    week_ago = now - timedelta(seconds=WEEK)
    recent = sum(1 for t in publish_times if week_ago <= t <= now + timedelta(hours=1))
    if recent == 0:
        return cfg.max_interval
    return _clamp(WEEK / recent, cfg.min_interval, cfg.max_interval)


def backoff(failures: int, cfg: ScheduleConfig, rng: random.Random) -> float:
    """Seconds to wait after `failures` consecutive failures: exponential, jittered, capped."""
    base = max(cfg.min_interval, 60.0) * 2.0 ** max(failures - 1, 0)
    return min(cfg.backoff_cap, base * rng.uniform(0.75, 1.25))


def next_poll(interval: float, now: datetime, rng: random.Random) -> datetime:
    """When a healthy feed is due next: the interval with a little jitter."""
    return now + timedelta(seconds=interval * rng.uniform(1 - _JITTER, 1 + _JITTER))


def _clamp(value: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, value))


def _interval(
    feed: Feed,
    *,
    new_entries: int,
    known_entries: int,
    publish_times: Sequence[datetime],
    now: datetime,
    cfg: ScheduleConfig,
) -> float:
    if feed.interval:
        return feed.interval
    current = feed.adaptive_interval or _clamp(
        cfg.poll_interval, cfg.min_interval, cfg.max_interval
    )
    interval = frequency_interval(publish_times, now, cfg) if publish_times else current
    if new_entries > 0 and known_entries == 0 and feed.last_success_at is not None:
        # Nothing we already knew is still in the feed: items may have scrolled away unseen.
        interval = min(interval, current) / 2
    return _clamp(interval, cfg.min_interval, cfg.max_interval)


def after_poll(
    feed: Feed,
    result: FetchResult,
    *,
    new_entries: int,
    known_entries: int,
    publish_times: Sequence[datetime],
    now: datetime,
    cfg: ScheduleConfig,
    rng: random.Random,
    parsed: ParsedFeed | None = None,
    body_hash: str | None = None,
    unconditional: bool | None = None,
    unchanged: bool | None = None,
) -> FeedUpdate:
    """The feed's new state after one fetch (and parse, when there was a body).

    ``unconditional`` and ``unchanged`` are the decisions the poll took before and after fetching
    (``unconditional_due``, ``body_unchanged``); when not given they are taken here, the same way.
    """
    status, error = result.status, result.error
    if unchanged is None:
        unchanged = body_unchanged(feed, result, body_hash)
    if unchanged:
        status = FetchStatus.NOT_MODIFIED  # validators lied: same bytes as last time
    if parsed is not None and parsed.status is not FetchStatus.OK and status in WITH_BODY:
        status, error = parsed.status, parsed.error
    if unconditional is None:
        unconditional = unconditional_due(feed, now, cfg)
    success = status in SUCCESS
    moved = result.permanent_url if success and result.permanent_url else None
    current_url = feed.current_url
    if moved:
        current_url = None if moved == feed.url else moved
    got_body = success and status is not FetchStatus.NOT_MODIFIED
    moved_to = moved if moved and moved != feed.fetch_url else None
    if success:
        interval = _interval(
            feed,
            new_entries=new_entries,
            known_entries=known_entries,
            publish_times=publish_times,
            now=now,
            cfg=cfg,
        )
        return FeedUpdate(
            last_status=status.value,
            last_http_status=result.http_status,
            last_error=None,
            warning=parsed.warning if parsed is not None and got_body else None,
            etag=result.etag if got_body else result.etag or feed.etag,
            last_modified=(
                result.last_modified if got_body else result.last_modified or feed.last_modified
            ),
            body_hash=body_hash if got_body and body_hash else feed.body_hash,
            failures=0,
            first_failure_at=None,
            last_success_at=now,
            last_polled_at=now,
            last_unconditional_at=now if unconditional else feed.last_unconditional_at,
            next_poll_at=next_poll(interval, now, rng),
            adaptive_interval=interval,
            current_url=current_url,
            retired=False,
            title=parsed.title if parsed is not None and parsed.title else None,
            moved_to=moved_to,
        )
    failures = feed.failures + 1
    retired = status is FetchStatus.GONE
    next_at: datetime | None
    if retired:
        next_at = None
    elif status is FetchStatus.RATE_LIMITED and result.retry_after is not None:
        wait = (result.retry_after - now).total_seconds()
        next_at = now + timedelta(seconds=_clamp(wait, 1.0, cfg.backoff_cap))
    else:
        next_at = now + timedelta(seconds=backoff(failures, cfg, rng))
    return FeedUpdate(
        last_status=status.value,
        last_http_status=result.http_status,
        last_error=error or status.value,
        warning=None,
        etag=feed.etag,
        last_modified=feed.last_modified,
        body_hash=feed.body_hash,
        failures=failures,
        first_failure_at=feed.first_failure_at or now,
        last_success_at=feed.last_success_at,
        last_polled_at=now,
        last_unconditional_at=feed.last_unconditional_at,
        next_poll_at=next_at,
        adaptive_interval=feed.adaptive_interval or cfg.poll_interval,
        current_url=feed.current_url,
        retired=retired,
    )
