"""Alerts: each strong match pushed once, through Apprise, as soon as it is recorded (issue 15).

``deliver`` is called after each feed's matches are committed (daemon), after ``watcher fetch``'s
cycle, and by the daemon's retry job.  In order: consider the matches recorded since the last call
(queue those at or above ``min_score``, see ``store.alerts``); send the pending messages whose retry
is due; then fold everything queued into one new message — recorded before it is sent — and send
it.  While no target has taken a pending message (all down), new matches wait and fold into one
message later; once one has, new messages go on, each remembering which targets took it.  Quiet
hours and ``max_per_hour`` hold queued matches back (folded into the next message, never dropped);
a target that fails is retried with exponential backoff up to ``retry_max``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from . import alert_message, notify
from .alert_message import AlertMessage
from .config import Config
from .config_alerts import Target
from .store import alerts as store

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)  # one send attempt: every target, each with Apprise's own timeouts
FIRST_RETRY = 60.0  # seconds; doubled after each failed attempt, up to [alerts] retry_max
HOUR = timedelta(hours=1)
CRASH_HOOK = "WATCHER_TEST_CRASH_AT"  # tests: exit at a named stage, to prove nothing is lost


@dataclass(frozen=True, slots=True)
class AlertsOutcome:
    """What one ``deliver`` did.

    ``status``: "off" (no [alerts] target), "skipped" (--no-alerts: these matches are never
    alerted), "sent" (messages went out), "idle" (nothing to send), "quiet" (quiet hours), "limited"
    (max_per_hour reached), "waiting" (a failed message waits for its retry), "busy" (another
    process is sending), "no-targets" (urls_env names an unset variable; matches stay queued).
    """

    status: str
    queued: int = 0  # matches newly queued by this call
    sent: tuple[str, ...] = ()  # ids of the messages delivered
    items: int = 0  # matches in those messages
    held: int = 0  # matches still queued afterwards
    retry_at: datetime | None = None
    errors: tuple[str, ...] = ()


def _hook(environ: Mapping[str, str], stage: str) -> None:
    """Test seam: die here, as a crash or a kill would, when the environment names this stage."""
    if environ.get(CRASH_HOOK) == stage:
        log.warning("test hook: exiting at %s", stage)
        os._exit(75)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead(owner: str) -> bool:
    """Whether a lease holder on this host has exited (its lease need not be waited out)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def new_id(now: datetime) -> str:
    return f"alert-{now.astimezone(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def backoff(attempts: int, cap: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1 min, 2, 4 … up to ``cap`` seconds."""
    return timedelta(seconds=min(cap, FIRST_RETRY * 2 ** max(0, min(attempts - 1, 30))))


def _send(
    cfg: Config,
    engine: sa.Engine,
    msg: store.StoredMessage,
    targets: list[Target],
    now: datetime,
    environ: Mapping[str, str],
) -> tuple[str, list[str], datetime | None]:
    """One attempt at a recorded message: ("sent" | "failed" | "busy", errors, retry time)."""
    if not store.claim(engine, msg.id, now, LEASE, _owner(), _dead):
        return "busy", [], None
    message = alert_message.from_json(msg.id, msg.payload)
    errors = []
    for target in targets:
        key = notify.target_key(target.url)
        if key in msg.delivered:
            continue
        result = notify.send(target.url, message.title, message.body)
        if result.ok:
            _hook(environ, "alerts-sent")  # accepted, not yet written down: the repeat window
            store.mark_delivered(engine, msg.id, key)
            _hook(environ, "alerts-delivered")
        else:
            errors.append(f"{target.label}: {result.error}")
    if not errors:
        store.mark_sent(engine, msg.id, now)
        log.info("alert=%s status=sent items=%d targets=%d", msg.id, len(message.items), len(targets))
        return "sent", [], None
    retry = now + backoff(msg.attempts + 1, cfg.alerts.retry_max)
    attempts = store.note_failure(engine, msg.id, "; ".join(errors), retry)
    log.warning(
        "alert=%s status=failed attempts=%d retry_at=%s error=%s",
        msg.id,
        attempts,
        retry.isoformat(timespec="seconds"),
        "; ".join(errors),
    )
    return "failed", errors, retry


def deliver(
    cfg: Config,
    engine: sa.Engine,
    *,
    now: datetime,
    environ: Mapping[str, str],
    floor: datetime | None = None,
    skip: str = "",
) -> AlertsOutcome:
    """Queue new strong matches and send what is due; see the module docstring.

    ``floor``: when this run started (the first run alerts matches from then on).  ``skip``: mark
    the matches not yet considered as never to be alerted, with this reason, and send nothing.
    """
    a = cfg.alerts
    if not a.configured:
        return AlertsOutcome("off")
    now = now.astimezone(UTC)
    queued = store.enqueue(engine, threshold=a.threshold, floor=floor or now, now=now, skip=skip)
    if skip:
        return AlertsOutcome("skipped")
    targets, errors = a.targets(environ)
    if not targets:
        return AlertsOutcome("no-targets", queued, held=store.count_queued(engine), errors=tuple(errors))
    sent: list[str] = []
    items = 0
    retry_at = None
    while True:
        if a.quiet(now, cfg.schedule.timezone):
            status = "quiet"
            break
        pending = store.pending(engine)
        due = next((m for m in pending if m.next_attempt_at is None or m.next_attempt_at <= now), None)
        if due is not None:
            status, failed, retry_at = _send(cfg, engine, due, targets, now, environ)
            errors.extend(failed)
            if status == "sent":
                sent.append(due.id)
                items += len(alert_message.from_json(due.id, due.payload).items)
                continue
            if status == "busy":
                break
            pending = store.pending(engine)  # what the failed attempt left: who took it, when next
        if any(not m.delivered for m in pending):
            # No target took it yet (all down?): new matches wait and fold into one message later.
            # Once some target has, new messages go on to it; each remembers who took it.
            status = "waiting"
            retry_at = min((m.next_attempt_at for m in pending if m.next_attempt_at), default=retry_at)
            break
        if a.max_per_hour:
            recent = store.created_since(engine, now - HOUR)
            if len(recent) >= a.max_per_hour:
                status, retry_at = "limited", recent[-a.max_per_hour] + HOUR
                break
        batch = store.queued(engine, limit=a.max_items)
        if not batch:
            status = "waiting" if pending else "idle"
            break
        message = alert_message.build(new_id(now), batch)
        try:
            store.record_message(
                engine,
                message_id=message.id,
                now=now,
                payload=alert_message.to_json(message),
                match_ids=[m.match_id for m in batch],
            )
        except store.AlertClaimConflict:  # another sender batched them meanwhile: it sends them
            status = "busy"
            break
        log.info("alert=%s status=recorded items=%d", message.id, len(message.items))
        _hook(environ, "alerts-recorded")
    held = store.count_queued(engine)
    if sent:  # what went out is the news; held, retry_at and errors tell what waits
        status = "sent"
    return AlertsOutcome(status, queued, tuple(sent), items, held, retry_at, tuple(errors))


@dataclass(frozen=True, slots=True)
class Preview:
    """``watcher alerts --dry-run``: the messages that would go now, nothing recorded or sent."""

    pending: tuple[AlertMessage, ...]
    new: AlertMessage | None
    quiet: bool
    targets: tuple[str, ...]
    errors: tuple[str, ...]


def preview(cfg: Config, engine: sa.Engine, *, now: datetime, environ: Mapping[str, str]) -> Preview:
    """What ``deliver`` would send now (the pending messages and the next one), read-only."""
    a = cfg.alerts
    pending = tuple(alert_message.from_json(m.id, m.payload) for m in store.pending(engine))
    since = store.alerts_since(engine)
    fresh = (
        [m for m in store.unconsidered(engine, since) if m.score >= a.threshold(m.topic)]
        if since is not None
        else []
    )
    batch = (store.queued(engine) + fresh)[: a.max_items]
    targets, errors = a.targets(environ)
    for t in targets:
        if (why := notify.check(t.url)) is not None:
            errors.append(f"{t.label}: {why}")
    return Preview(
        pending,
        alert_message.build("(not recorded)", batch) if batch else None,
        a.quiet(now, cfg.schedule.timezone),
        tuple(t.label for t in targets),
        tuple(errors),
    )


def send_test(cfg: Config, *, now: datetime, environ: Mapping[str, str]) -> list[tuple[str, notify.Sent]]:
    """``watcher alerts test``: a sample message to every target (nothing recorded)."""
    targets, errors = cfg.alerts.targets(environ)
    sample = AlertMessage(
        f"test-{now.astimezone(UTC):%Y%m%dT%H%M%S}",
        (
            alert_message.AlertItem(
                match_id=0,
                topic=cfg.topics[0].name if cfg.topics else "test",
                score=1.0,
                title="Test alert from watcher: alerts reach you",
                source="watcher",
                why="this is a test message (watcher alerts test)",
                url="https://github.com/watcher-news/watcher",
            ),
        ),
    )
    out = [(e, notify.Sent(False, "")) for e in errors]
    out += [(t.label, notify.send(t.url, sample.title, sample.body)) for t in targets]
    return out
