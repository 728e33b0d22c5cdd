"""``watcher run``: APScheduler wiring, signals, the single-instance lock, heartbeat and metrics.

Jobs: one short *tick* every ``schedule.poll_interval`` claims the due feeds from the store and polls
them (not one job per feed); a cron job sends the digest at ``schedule.digest_at`` in
``schedule.timezone``; a daily retention job prunes old non-matching articles.  Misfires coalesce, and a
digest missed while the daemon was down is sent on start-up.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from . import alerts, outbox, pipeline, reloading
from .config import Config
from .errors import WatcherError
from .extract_pool import ExtractPool
from .lock import DaemonLock
from .metrics import Metrics
from .parse_worker import FeedParser
from .store import SCHEMA_VERSION, is_postgres, now_utc, open_db
from .store import daemon as store_daemon
from .store import retention as store_retention
from .store import workers as store_workers

log = logging.getLogger(__name__)
STOP_GRACE = 8.0  # seconds an in-flight cycle may take to finish after SIGTERM
ALERTS_EVERY = 30.0  # seconds between two looks at alerts that wait (retry, quiet hours, rate)


def digest_time(cfg: Config) -> tuple[int, int, int]:
    parts = [int(p) for p in cfg.schedule.digest_at.split(":")]
    return parts[0], parts[1], parts[2] if len(parts) > 2 else 0


def last_scheduled_digest(cfg: Config, now: datetime) -> datetime:
    """The most recent moment, at or before now, when a digest was due."""
    tz = ZoneInfo(cfg.schedule.timezone)
    h, m, s = digest_time(cfg)
    local = now.astimezone(tz)
    due = local.replace(hour=h, minute=m, second=s, microsecond=0)
    if due > local:
        due -= timedelta(days=1)
    return due


class Daemon:
    """The long-running process on `cfg`; `load` re-reads the config on SIGHUP.

    Feeds in the config are synced into the store by every tick's cycle, so a reload needs no
    sync of its own.
    """

    def __init__(
        self,
        load: Callable[[], Config],
        cfg: Config,
        *,
        metrics_port: int | None = None,
        stop_requested: threading.Event | None = None,
    ) -> None:
        self.load = load
        self.stop_requested = stop_requested  # a SIGTERM that came before the loop's own handlers
        self.cfg = cfg
        self.engine: sa.Engine = open_db(self.cfg.db_url, file_mode=self.cfg.db_file_mode)
        self.owner = store_workers.new_worker_id()  # the worker row's id and the lease owner
        self.fleet = is_postgres(self.engine)  # several workers may share this database
        self.exit_code = 0
        self.models = pipeline.LazyModels(cfg, self.engine)  # built when a tick first needs them
        self.stopping = asyncio.Event()
        self.current: asyncio.Task[Any] | None = None
        self.started = now_utc()
        self.last_cycle: dict[str, Any] | None = None
        self.metrics = Metrics(metrics_port)
        self.scheduler: AsyncIOScheduler | None = None
        self.reloading: asyncio.Task[None] | None = None
        self.reload_again = False
        self.alerts_lock = asyncio.Lock()  # one look at alerts at a time (issue 15)
        self.alerts_waiting = False
        self.alert_tasks: set[asyncio.Task[None]] = set()

    def request_reload(self) -> None:
        """The SIGHUP handler: start a reload task and return (the work runs outside the handler)."""
        if self.reloading is not None and not self.reloading.done():
            self.reload_again = True  # an edit made during a reload is read once it ends
            return
        self.reloading = asyncio.get_running_loop().create_task(self.reload())

    async def reload(self) -> None:
        """Re-read the config in a thread; apply every changed setting, or log which need a restart."""
        while True:
            self.reload_again = False
            try:
                new = await asyncio.to_thread(self.load)
                change = reloading.plan(self.cfg, new)
                models = pipeline.LazyModels(change.cfg, self.engine)  # built by the next tick
            except Exception as e:  # a bad edit must not kill a running daemon
                log.error("reload failed, keeping the old config: %s", e, extra={"event": "reload"})
            else:
                self._apply(change, models)
            if not self.reload_again:
                return

    def _apply(self, change: reloading.Reload, models: pipeline.LazyModels) -> None:
        cfg = change.cfg
        self.cfg, self.models = cfg, models
        applied = set(change.applied)
        if self.scheduler is not None and applied & reloading.RESCHEDULE_TICK:
            tz = ZoneInfo(cfg.schedule.timezone)
            self.scheduler.reschedule_job(
                "tick", trigger=IntervalTrigger(seconds=cfg.schedule.poll_interval, timezone=tz)
            )
        if self.scheduler is not None and applied & reloading.RESCHEDULE_DIGEST:
            h, m, s = digest_time(cfg)
            tz = ZoneInfo(cfg.schedule.timezone)
            self.scheduler.reschedule_job(
                "digest", trigger=CronTrigger(hour=h, minute=m, second=s, timezone=tz)
            )
        log.info(
            "reloaded config: %d feeds, %d topics; applied: %s",
            len(cfg.feeds),
            len(cfg.topics),
            ", ".join(change.applied) or "nothing changed",
            extra={"event": "reload", "applied": list(change.applied)},
        )
        if change.need_restart:
            log.warning(
                "reload: %s changed; restart the daemon to apply (it runs with the old values)",
                ", ".join(change.need_restart),
                extra={"event": "reload_needs_restart", "settings": list(change.need_restart)},
            )

    async def tick(self, pool: ExtractPool, parser: FeedParser) -> None:
        if self.stopping.is_set():
            return
        self.current = asyncio.current_task()
        start = time.monotonic()
        try:
            report = await self._cycle(pool, parser)
        finally:
            self.current = None
        took = time.monotonic() - start
        self.metrics.cycle(report, took)
        self.last_cycle = {
            "at": now_utc().isoformat(),
            "seconds": round(took, 3),
            "feeds": len(report.feeds),
            "new_entries": report.new_entries,
            "matches": len(report.matches),
            "errors": len(report.errors),
        }
        log.info(
            "cycle feeds=%d new=%d matched=%d errors=%d seconds=%.2f",
            len(report.feeds),
            report.new_entries,
            len(report.matches),
            len(report.errors),
            took,
            extra={"event": "cycle", **self.last_cycle},
        )
        await self.send_alerts()  # as soon as the cycle has recorded its matches (issue 15)
        self.heartbeat()

    def on_progress(self, event: str, n: int) -> None:
        """A feed's matches are committed: alert them now, not when the whole cycle ends."""
        if event == "match" and n > 0 and self.cfg.alerts.configured:
            task = asyncio.get_running_loop().create_task(self.send_alerts())
            self.alert_tasks.add(task)
            task.add_done_callback(self.alert_tasks.discard)

    async def send_alerts(self) -> None:
        """Queue and send alerts; also a job of its own, for retries and the end of quiet hours."""
        if self.stopping.is_set() or not self.cfg.alerts.configured or self.alerts_waiting:
            return  # one look waiting behind the running one covers every match committed so far
        self.alerts_waiting = True
        async with self.alerts_lock:
            self.alerts_waiting = False
            await self._send_alerts()

    async def _send_alerts(self) -> None:
        try:
            outcome = await asyncio.to_thread(
                alerts.deliver, self.cfg, self.engine, now=now_utc(), environ=os.environ, floor=self.started
            )
        except WatcherError as e:  # e.g. the database busy: the next look (ALERTS_EVERY) retries
            log.error("alerts: %s", e, extra={"event": "alerts"})
            return
        if outcome.status not in ("idle", "off"):
            log.info("alerts %s", outcome, extra={"event": "alerts"})

    async def _cycle(self, pool: ExtractPool, parser: FeedParser) -> pipeline.CycleReport:
        """One tick's polling: all due feeds at once on SQLite; on PostgreSQL batches of
        ``schedule.claim_batch`` until none is due, so the fleet shares the load (issue 13)."""
        batch = self.cfg.schedule.claim_batch if self.fleet else None
        total = pipeline.CycleReport()
        first = True
        while True:
            report = await pipeline.run_cycle_async(
                self.cfg,
                self.engine,
                due_only=True,
                owner=self.owner,
                models=self.models,
                pool=pool,
                parser=parser,
                limit=batch,
                sync_feeds=first,
                progress=self.on_progress,
            )
            first = False
            total.feeds.extend(report.feeds)
            total.matches.extend(report.matches)
            if batch is None or len(report.feeds) < batch or self.stopping.is_set():
                return total

    async def send_digest(self, slot: datetime | None = None) -> None:
        """The scheduled digest; on PostgreSQL only the worker that claims its slot sends it."""
        if self.stopping.is_set():
            return
        if self.fleet:
            slot = slot or last_scheduled_digest(self.cfg, now_utc())
            if not store_workers.claim_digest_slot(self.engine, slot, self.owner, now_utc()):
                log.info("digest at %s: another worker sends it", slot.isoformat(),
                         extra={"event": "digest_skipped"})  # fmt: skip
                return
        outcome = await asyncio.to_thread(outbox.send_digest, self.cfg, self.engine, now=now_utc())
        log.info("digest %s", outcome, extra={"event": "digest"})
        self.heartbeat()

    def retention(self) -> None:
        pruned = store_retention.prune(
            self.engine, now_utc(), timedelta(seconds=self.cfg.schedule.retention)
        )
        log.info("retention pruned=%d", pruned, extra={"event": "retention", "pruned": pruned})

    def heartbeat(self) -> None:
        job = self.scheduler.get_job("digest") if self.scheduler else None
        next_digest = job.next_run_time.isoformat() if job and job.next_run_time else None
        now = now_utc()
        state = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": self.started.isoformat(),
            "heartbeat_at": now.isoformat(),
            "last_cycle": self.last_cycle,
            "next_digest_at": next_digest,
        }
        store_daemon.write_heartbeat(self.engine, state)
        version = store_workers.beat(
            self.engine, self.owner, now, state, lease_seconds=self.cfg.schedule.lease
        )
        if version > SCHEMA_VERSION and not self.stopping.is_set():
            # Upgraded under us (docs/DEPLOY.md): stop; the service manager starts the new code.
            log.error(
                "the database was migrated to schema %d; this worker understands %d: stopping",
                version, SCHEMA_VERSION, extra={"event": "schema_newer"},
            )  # fmt: skip
            self.exit_code = 3
            self.stopping.set()

    def beat_every(self) -> float:
        """Seconds between heartbeats: often enough to renew a lease twice before it runs out."""
        return max(0.5, min(store_workers.BEAT_EVERY, self.cfg.schedule.lease / 3))

    def _digest_missed(self, now: datetime) -> bool:
        due = last_scheduled_digest(self.cfg, now)
        since = store_daemon.last_digest_at(self.engine) or store_daemon.first_started(
            self.engine, now
        )
        return due > since

    async def run(self) -> int:
        store_workers.register(self.engine, self.owner, self.started)
        try:
            await self._run()
        finally:
            store_workers.unregister(self.engine, self.owner)
            self.engine.dispose()
        return self.exit_code

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        if self.stop_requested is not None and self.stop_requested.is_set():
            self.stopping.set()  # asked to stop while starting: start, then stop cleanly at once
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        self.metrics.start()
        tz = ZoneInfo(self.cfg.schedule.timezone)
        h, m, s = digest_time(self.cfg)
        async with (
            ExtractPool(self.cfg.extract) as pool,
            FeedParser.for_config(self.cfg.extract) as parser,
        ):
            sched = AsyncIOScheduler(event_loop=loop, timezone=tz)
            self.scheduler = sched
            sched.add_job(
                self.tick,
                IntervalTrigger(seconds=self.cfg.schedule.poll_interval, timezone=tz),
                args=[pool, parser],
                id="tick",
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(tz),
                misfire_grace_time=None,
            )
            sched.add_job(
                self.send_digest,
                CronTrigger(hour=h, minute=m, second=s, timezone=tz),
                id="digest",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
            sched.add_job(  # alert retries (backoff), quiet hours ending, max_per_hour (issue 15)
                self.send_alerts,
                IntervalTrigger(seconds=ALERTS_EVERY, timezone=tz),
                id="alerts",
                max_instances=1,
                coalesce=True,
            )
            sched.add_job(
                self.retention,
                IntervalTrigger(hours=24, timezone=tz),
                id="retention",
                coalesce=True,
                next_run_time=datetime.now(tz) + timedelta(minutes=5),
            )
            sched.add_job(
                self.heartbeat,
                IntervalTrigger(seconds=self.beat_every(), timezone=tz),
                id="beat",
                coalesce=True,
                # Late is better than skipped: a loaded loop that misses two beats by more than
                # APScheduler's default second of grace would let this worker's leases run out
                # mid-batch, and another worker would poll the same feeds.
                misfire_grace_time=None,
            )
            now = now_utc()
            if self._digest_missed(now):
                log.info(
                    "digest missed while down: sending now", extra={"event": "digest_catch_up"}
                )
                slot = last_scheduled_digest(self.cfg, now)
                sched.add_job(self.send_digest, args=[slot], id="digest-catch-up")
            sched.start()
            self.heartbeat()
            log.info("daemon started pid=%d", os.getpid(), extra={"event": "start"})
            await self.stopping.wait()
            log.info("stopping", extra={"event": "stop"})
            sched.shutdown(wait=False)
            await self._finish_in_flight()
        self.heartbeat()
        self.metrics.stop()

    async def _finish_in_flight(self) -> None:
        """Let an in-flight cycle finish within the grace period; else cancel it (its claims expire)."""
        task = self.current
        if task is None or task.done():
            return
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)


def stop_on_sigterm() -> threading.Event:
    """Note a SIGTERM that arrives while the daemon starts (set from the first line of ``watcher run``).

    Until the event loop installs its own handlers, Python's default would end the process there
    and then (exit -15) instead of stopping it cleanly.
    """
    requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda _sig, _frame: requested.set())
    return requested


def run(
    load: Callable[[], Config],
    *,
    metrics_port: int | None = None,
    stop_requested: threading.Event | None = None,
) -> int:
    cfg = load()
    with DaemonLock(cfg.db_url):
        daemon = Daemon(load, cfg, metrics_port=metrics_port, stop_requested=stop_requested)
        return asyncio.run(daemon.run())


__all__ = ["Daemon", "last_scheduled_digest", "run"]
