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
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from . import outbox, pipeline
from .config import Config
from .extract_pool import ExtractPool
from .lock import DaemonLock
from .metrics import Metrics
from .parse_worker import FeedParser
from .store import daemon as store_daemon
from .store import now_utc, open_db
from .store import retention as store_retention

log = logging.getLogger(__name__)
STOP_GRACE = 8.0  # seconds an in-flight cycle may take to finish after SIGTERM


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
        self, load: Callable[[], Config], cfg: Config, *, metrics_port: int | None = None
    ) -> None:
        self.load = load
        self.cfg = cfg
        self.engine: sa.Engine = open_db(self.cfg.db_url, file_mode=self.cfg.db_file_mode)
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.models = pipeline.LazyModels(cfg, self.engine)  # built when a tick first needs them
        self.stopping = asyncio.Event()
        self.current: asyncio.Task[Any] | None = None
        self.started = now_utc()
        self.last_cycle: dict[str, Any] | None = None
        self.metrics = Metrics(metrics_port)
        self.scheduler: AsyncIOScheduler | None = None

    def reload(self) -> None:
        """SIGHUP: feeds and topics from the config file, without a restart."""
        try:
            cfg = self.load()
        except Exception as e:  # a bad edit must not kill a running daemon
            log.error("reload failed, keeping the old config: %s", e)
            return
        self.cfg = cfg
        self.models = pipeline.LazyModels(cfg, self.engine)
        log.info(
            "reloaded config: %d feeds, %d topics",
            len(cfg.feeds),
            len(cfg.topics),
            extra={"event": "reload"},
        )

    async def tick(self, pool: ExtractPool, parser: FeedParser) -> None:
        if self.stopping.is_set():
            return
        self.current = asyncio.current_task()
        start = time.monotonic()
        try:
            report = await pipeline.run_cycle_async(
                self.cfg,
                self.engine,
                due_only=True,
                owner=self.owner,
                models=self.models,
                pool=pool,
                parser=parser,
            )
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
        self.heartbeat()

    async def send_digest(self) -> None:
        if self.stopping.is_set():
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
        store_daemon.write_heartbeat(
            self.engine,
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started_at": self.started.isoformat(),
                "heartbeat_at": now_utc().isoformat(),
                "last_cycle": self.last_cycle,
                "next_digest_at": next_digest,
            },
        )

    def _digest_missed(self, now: datetime) -> bool:
        due = last_scheduled_digest(self.cfg, now)
        since = store_daemon.last_digest_at(self.engine) or store_daemon.first_started(
            self.engine, now
        )
        return due > since

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
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
            sched.add_job(
                self.retention,
                IntervalTrigger(hours=24, timezone=tz),
                id="retention",
                coalesce=True,
                next_run_time=datetime.now(tz) + timedelta(minutes=5),
            )
            if self._digest_missed(now_utc()):
                log.info(
                    "digest missed while down: sending now", extra={"event": "digest_catch_up"}
                )
                sched.add_job(self.send_digest, id="digest-catch-up")
            sched.start()
            self.heartbeat()
            log.info("daemon started pid=%d", os.getpid(), extra={"event": "start"})
            await self.stopping.wait()
            log.info("stopping", extra={"event": "stop"})
            sched.shutdown(wait=False)
            await self._finish_in_flight()
        self.heartbeat()
        self.engine.dispose()
        self.metrics.stop()
        return 0

    async def _finish_in_flight(self) -> None:
        """Let an in-flight cycle finish within the grace period; else cancel it (its claims expire)."""
        task = self.current
        if task is None or task.done():
            return
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)


def run(load: Callable[[], Config], *, metrics_port: int | None = None) -> int:
    cfg = load()
    with DaemonLock(cfg.db_url):
        return asyncio.run(Daemon(load, cfg, metrics_port=metrics_port).run())


__all__ = ["Daemon", "last_scheduled_digest", "run"]
