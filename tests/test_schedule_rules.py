"""The polling rules as pure functions: after_poll, unconditional_due, frequency_interval."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.config import ScheduleConfig
from watcher.models import Entry, Feed, FetchResult, FetchStatus, ParsedFeed
from watcher.schedule import after_poll, backoff, frequency_interval, unconditional_due

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
CFG = ScheduleConfig(
    poll_interval=1800, min_interval=600, max_interval=6 * 3600, backoff_cap=24 * 3600,
    unconditional_every=12 * 3600,
)  # fmt: skip
URL = "http://news.example/feed"
POLLED = Feed(
    url=URL, id=1, etag='"e1"', last_modified="lm1", body_hash="h1",
    last_success_at=NOW - timedelta(hours=1), adaptive_interval=3600.0,
    last_unconditional_at=NOW - timedelta(hours=1),
)  # fmt: skip


def poll(feed: Feed, result: FetchResult, **kw: object) -> object:
    args: dict[str, object] = {
        "new_entries": 0, "known_entries": 0, "publish_times": [], "now": NOW, "cfg": CFG,
        "rng": random.Random(7),
    }  # fmt: skip
    args.update(kw)
    return after_poll(feed, result, **args)  # type: ignore[arg-type]


def ok(**kw: object) -> FetchResult:
    return FetchResult(URL, FetchStatus.OK, final_url=URL, http_status=200, body=b"x", **kw)  # type: ignore[arg-type]


def parsed_ok(title: str = "T", warning: str | None = None) -> ParsedFeed:
    e = Entry(URL, "http://news.example/a", "http://news.example/a", "a", "A")
    return ParsedFeed(FetchStatus.OK, title=title, entries=(e,), warning=warning)


def test_304_keeps_validators_and_resets_failures() -> None:
    feed = Feed(**{**_fields(POLLED), "failures": 3, "first_failure_at": NOW - timedelta(days=1)})
    u = poll(feed, FetchResult(URL, FetchStatus.NOT_MODIFIED, http_status=304))
    assert u.last_status == "not_modified" and not u.is_error  # type: ignore[attr-defined]
    assert (u.etag, u.last_modified, u.body_hash) == ('"e1"', "lm1", "h1")  # type: ignore[attr-defined]
    assert u.failures == 0 and u.first_failure_at is None and u.last_success_at == NOW  # type: ignore[attr-defined]


def test_304_with_new_etag_stores_it() -> None:
    u = poll(POLLED, FetchResult(URL, FetchStatus.NOT_MODIFIED, http_status=304, etag='"e2"'))
    assert u.etag == '"e2"'  # type: ignore[attr-defined]


def test_unchanged_body_is_not_modified() -> None:
    u = poll(POLLED, ok(etag='"e9"'), body_hash="h1", parsed=parsed_ok())
    assert u.last_status == "not_modified" and u.body_hash == "h1"  # type: ignore[attr-defined]


def test_changed_body_replaces_validators_and_hash() -> None:
    u = poll(
        POLLED,
        ok(etag=None, last_modified="lm2"),
        body_hash="h2",
        parsed=parsed_ok("Desk", "bozo!"),
    )
    assert (u.etag, u.last_modified, u.body_hash) == (None, "lm2", "h2")  # type: ignore[attr-defined]
    assert u.title == "Desk" and u.warning == "bozo!" and u.last_error is None  # type: ignore[attr-defined]


def test_permanent_move_sets_current_url() -> None:
    new = "http://news.example/new-feed"
    r = FetchResult(URL, FetchStatus.MOVED, final_url=new, http_status=200, permanent_url=new)
    u = poll(POLLED, r, body_hash="h2", parsed=parsed_ok())
    assert u.current_url == new and u.moved_to == new and u.last_status == "moved"  # type: ignore[attr-defined]
    again = poll(Feed(**{**_fields(POLLED), "current_url": new}), r, body_hash="h3")
    assert again.current_url == new and again.moved_to is None  # type: ignore[attr-defined]


def test_moving_back_to_the_original_url_clears_current_url() -> None:
    feed = Feed(**{**_fields(POLLED), "current_url": "http://news.example/tmp"})
    r = FetchResult(feed.fetch_url, FetchStatus.MOVED, http_status=200, permanent_url=URL)
    assert poll(feed, r, body_hash="h5").current_url is None  # type: ignore[attr-defined]


def test_temporary_redirect_does_not_move() -> None:
    r = ok()
    u = poll(
        POLLED,
        FetchResult(URL, FetchStatus.OK, final_url="http://elsewhere.example/f", http_status=200),
    )
    assert u.current_url is None and r.permanent_url is None  # type: ignore[attr-defined]


def test_410_retires() -> None:
    u = poll(POLLED, FetchResult(URL, FetchStatus.GONE, http_status=410, error="HTTP 410 Gone"))
    assert u.retired and u.next_poll_at is None and u.failures == 1 and u.is_error  # type: ignore[attr-defined]
    assert u.etag == '"e1"'  # type: ignore[attr-defined]


def test_retry_after_is_honoured() -> None:
    when = NOW + timedelta(minutes=2)
    u = poll(POLLED, FetchResult(URL, FetchStatus.RATE_LIMITED, http_status=429, retry_after=when))
    assert u.next_poll_at == when and u.failures == 1  # type: ignore[attr-defined]
    far = NOW + timedelta(days=30)
    u = poll(POLLED, FetchResult(URL, FetchStatus.RATE_LIMITED, http_status=503, retry_after=far))
    assert u.next_poll_at == NOW + timedelta(seconds=CFG.backoff_cap)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "status",
    [
        FetchStatus.HTTP_ERROR,
        FetchStatus.TIMEOUT,
        FetchStatus.CONNECTION_ERROR,
        FetchStatus.TOO_LARGE,
    ],
)
def test_failures_back_off_exponentially_to_the_cap(status: FetchStatus) -> None:
    feed, waits = POLLED, []
    for _ in range(12):
        u = poll(feed, FetchResult(URL, status, error="boom"))
        waits.append((u.next_poll_at - NOW).total_seconds())  # type: ignore[attr-defined]
        feed = Feed(
            **{**_fields(feed), "failures": u.failures, "first_failure_at": u.first_failure_at}
        )  # type: ignore[attr-defined]
    assert feed.failures == 12 and feed.first_failure_at == NOW
    assert waits[1] > waits[0] and waits[3] > waits[1]
    assert (
        max(waits) <= CFG.backoff_cap and waits[-1] == CFG.backoff_cap
    )  # still polled, at the cap


def test_success_after_failures_resets() -> None:
    feed = Feed(**{**_fields(POLLED), "failures": 5, "first_failure_at": NOW - timedelta(days=2)})
    u = poll(feed, ok(), body_hash="h2", parsed=parsed_ok(), known_entries=1)
    assert u.failures == 0 and u.first_failure_at is None  # type: ignore[attr-defined]


def test_parse_failure_counts_as_failure() -> None:
    bad = ParsedFeed(FetchStatus.NOT_A_FEED, error="an HTML page, not a feed")
    u = poll(POLLED, ok(), body_hash="h2", parsed=bad)
    assert u.last_status == "not_a_feed" and u.last_error == "an HTML page, not a feed" and u.failures == 1  # type: ignore[attr-defined]
    assert u.body_hash == "h1"  # type: ignore[attr-defined]


def test_frequency_interval_bounds() -> None:
    daily = [NOW - timedelta(days=i) for i in range(7)]
    assert (
        frequency_interval(daily, NOW, CFG) == CFG.max_interval
    )  # 7/week -> 1 day -> capped at 6 h
    busy = [NOW - timedelta(minutes=5 * i) for i in range(2000)]
    assert frequency_interval(busy, NOW, CFG) == CFG.min_interval
    mid = [NOW - timedelta(hours=2 * i) for i in range(84)]  # 84 a week -> every 2 h
    assert frequency_interval(mid, NOW, CFG) == pytest.approx(7200)
    old = [NOW - timedelta(days=30)]
    assert frequency_interval(old, NOW, CFG) == CFG.max_interval


def test_no_overlap_halves_the_interval() -> None:
    times = [NOW - timedelta(hours=2 * i) for i in range(84)]
    overlap = poll(
        POLLED, ok(), body_hash="h2", new_entries=3, known_entries=5, publish_times=times
    )
    gap = poll(POLLED, ok(), body_hash="h2", new_entries=8, known_entries=0, publish_times=times)
    assert overlap.adaptive_interval == pytest.approx(7200)  # type: ignore[attr-defined]
    # halved from the shorter of the measured (2 h) and the current (1 h) interval
    assert gap.adaptive_interval == pytest.approx(1800)  # type: ignore[attr-defined]
    first = poll(Feed(url=URL, id=1), ok(), body_hash="h2", new_entries=8, publish_times=times)
    assert first.adaptive_interval == pytest.approx(7200)  # the first poll knows nothing: no shortening  # type: ignore[attr-defined]


def test_per_feed_interval_overrides() -> None:
    feed = Feed(**{**_fields(POLLED), "interval": 42.0})
    u = poll(feed, ok(), body_hash="h2", publish_times=[NOW])
    assert u.adaptive_interval == 42.0  # type: ignore[attr-defined]


def test_unconditional_due() -> None:
    assert not unconditional_due(POLLED, NOW, CFG)
    assert unconditional_due(POLLED, NOW + timedelta(hours=12), CFG)
    assert unconditional_due(Feed(url=URL), NOW, CFG)  # no validators: nothing to send
    u = poll(POLLED, ok(), body_hash="h2", unconditional=True)
    assert u.last_unconditional_at == NOW  # type: ignore[attr-defined]
    u = poll(POLLED, ok(), body_hash="h2")
    assert u.last_unconditional_at == POLLED.last_unconditional_at  # type: ignore[attr-defined]


@given(st.integers(min_value=1, max_value=200), st.integers(min_value=0, max_value=2**32))
def test_backoff_is_bounded(failures: int, seed: int) -> None:
    # A failing feed is not hammered (no retry within minutes of the failure) and never given up
    # on (always retried within the cap).
    wait = backoff(failures, CFG, random.Random(seed))
    assert CFG.min_interval / 2 <= wait <= CFG.backoff_cap


def test_backoff_grows_with_failures_until_the_cap() -> None:
    def typical(failures: int) -> float:  # the median over many draws: jitter does not decide
        waits = sorted(backoff(failures, CFG, random.Random(seed)) for seed in range(101))
        return waits[50]

    medians = [typical(f) for f in range(1, 16)]
    assert all(a < b for a, b in itertools.pairwise(medians[:5]))  # grows at first
    assert medians == sorted(medians)  # never shrinks
    assert medians[-1] == CFG.backoff_cap  # and stops at the cap
    draws = {backoff(1, CFG, random.Random(seed)) for seed in range(20)}
    assert len(draws) > 1  # jittered: feeds that failed together are not retried together


def _fields(feed: Feed) -> dict[str, object]:
    return {name: getattr(feed, name) for name in Feed.__dataclass_fields__}


def test_the_poll_decisions_are_taken_once_and_followed() -> None:
    from watcher.schedule import body_unchanged

    assert body_unchanged(POLLED, ok(), "h1") and not body_unchanged(POLLED, ok(), "h2")
    assert not body_unchanged(POLLED, FetchResult(URL, FetchStatus.NOT_MODIFIED), "h1")
    assert not body_unchanged(Feed(url=URL), ok(), "h1")  # nothing parsed before
    # after_poll follows what the poll decided rather than deciding again
    u = poll(POLLED, ok(), body_hash="h2", unchanged=True)
    assert u.last_status == "not_modified"  # type: ignore[attr-defined]
    u = poll(POLLED, ok(), body_hash="h1", unchanged=False, unconditional=False)
    assert u.last_status == "ok" and u.body_hash == "h1"  # type: ignore[attr-defined]
    assert u.last_unconditional_at == POLLED.last_unconditional_at  # type: ignore[attr-defined]
