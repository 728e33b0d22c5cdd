"""One poll cycle: due feeds -> fetch -> parse -> new -> fetch pages -> extract -> match -> record.

Each feed is handled by one coroutine with one catch-all and one log line; feeds, article pages,
extraction (in a process pool) and scoring overlap.  Everything a feed yields is recorded in one
transaction, together with the feed's new state; the state of a poll that yields nothing (a 304, an
error) is written with others in one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from . import match, schedule
from .config import Config
from .errors import WatcherError
from .extract import ExtractPool, extract_article, fallback_article
from .http import HTML_ACCEPT, Fetcher
from .models import Article, Document, Entry, Feed, FetchResult, FetchStatus, ParsedFeed, Score
from .parse_worker import FeedParser
from .store import entries as store_entries
from .store import feeds as store_feeds
from .store import now_utc
from .store import topics as store_topics

log = logging.getLogger(__name__)
STATE_BATCH = 64  # feed states (polls that found nothing to store) written in one transaction


@dataclass(frozen=True, slots=True)
class FeedReport:
    feed: str
    status: str
    new: int = 0
    matched: int = 0
    error: str | None = None
    extract_failures: int = 0  # new articles with no page text (fetch or extraction failed): feed text used


@dataclass
class CycleReport:
    feeds: list[FeedReport] = field(default_factory=list)
    matches: list[store_entries.RecordedMatch] = field(default_factory=list)

    @property
    def new_entries(self) -> int:
        return sum(f.new for f in self.feeds)

    @property
    def extract_failures(self) -> int:
        return sum(f.extract_failures for f in self.feeds)

    @property
    def errors(self) -> list[FeedReport]:
        return [f for f in self.feeds if f.error]


Progress = Callable[[str, int], None]  # (event, amount): "feed", "article", "match"


def entry_key(entry: Entry) -> str:
    """Identity across feeds: canonical URL, else GUID, else a hash of what the entry says."""
    if entry.url:
        return entry.url
    if entry.guid:
        return f"urn:watcher:guid:{entry.feed_url}:{entry.guid}"
    digest = hashlib.sha256(f"{entry.title}\n{entry.summary}".encode()).hexdigest()[:32]
    return f"urn:watcher:hash:{digest}"


class Cycle:
    """The shared parts of one cycle: client, extraction pool, topic models, the cross-feed claims."""

    def __init__(
        self,
        cfg: Config,
        engine: sa.Engine,
        fetcher: Fetcher,
        pool: ExtractPool,
        models: Sequence[match.TopicModel],
        report: CycleReport,
        *,
        parser: FeedParser,
        progress: Progress | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.cfg, self.engine, self.fetcher, self.pool, self.models = (
            cfg,
            engine,
            fetcher,
            pool,
            models,
        )
        self.parser = parser
        self.report = report
        self.progress = progress or (lambda _event, _n: None)
        self.rng = rng or random.Random()
        self.claimed: set[str] = set()  # keys taken by a feed in this cycle
        # Article pages fetched or being extracted at once: enough to keep every extraction
        # worker and the HTTP client busy, few enough that 10,000 new entries do not sit in memory.
        self.in_flight = asyncio.Semaphore(max(16, cfg.http.concurrency))
        self.late_links: list[tuple[str, int]] = []  # (key, feed_id) to link once stored
        self.states: list[tuple[int, schedule.FeedUpdate]] = []  # feed states not written yet

    async def poll(self, feed: Feed) -> FeedReport:
        """Poll one feed; never raises for the feed's own trouble."""
        name = feed.name or feed.url
        try:
            report = await self._poll(feed)
        except Exception as e:  # the one catch-all per feed: a bug, logged with its traceback
            log.exception("feed=%s status=crashed", feed.url)
            report = FeedReport(name, "crashed", error=f"internal error: {type(e).__name__}: {e}")
            with self.engine.begin() as conn:
                store_feeds.release(conn, _id(feed))
        log.info(
            "feed=%s status=%s new=%d matched=%d%s",
            feed.fetch_url,
            report.status,
            report.new,
            report.matched,
            f" error={report.error!r}" if report.error else "",
            extra={
                "event": "poll",
                "feed": feed.fetch_url,
                "status": report.status,
                "new": report.new,
                "matched": report.matched,
                "error": report.error,
            },
        )
        self.progress("feed", 1)
        return report

    async def _poll(self, feed: Feed) -> FeedReport:
        now = now_utc()
        name = feed.name or feed.url
        conditional = not schedule.unconditional_due(feed, now, self.cfg.schedule)
        result = await self.fetcher.get(
            feed.fetch_url,
            etag=feed.etag if conditional else None,
            last_modified=feed.last_modified if conditional else None,
        )
        parsed: ParsedFeed | None = None
        body_hash = hashlib.sha256(result.body).hexdigest() if result.ok else None
        # A 200 with the body we already parsed is not parsed again (validators sometimes lie);
        # schedule.after_poll records it as not modified.
        if result.ok and body_hash != feed.body_hash:
            parsed = await self.parser.parse(
                result.body, result.final_url or feed.fetch_url, result.content_type, dict(result.headers)
            )
        if parsed is None or parsed.status != FetchStatus.OK:
            return self._record(feed, result, parsed, body_hash, [], [], now, name)
        items = _dedupe(parsed.entries)
        with self.engine.connect() as conn:
            known = store_entries.known_keys(conn, _id(feed), items)
        new: list[tuple[str, Entry]] = []
        for key, entry in items:
            if key in known:
                continue
            if key in self.claimed:
                self.late_links.append((key, _id(feed)))
                continue
            self.claimed.add(key)
            new.append((key, entry))
        built = await asyncio.gather(*(self._item(key, entry) for key, entry in new))
        return self._record(
            feed, result, parsed, body_hash, list(built), list(known.values()), now, name
        )

    def _record(
        self,
        feed: Feed,
        result: FetchResult,
        parsed: ParsedFeed | None,
        body_hash: str | None,
        items: list[store_entries.NewItem],
        known_ids: list[int],
        now: datetime,
        name: str,
    ) -> FeedReport:
        entries = parsed.entries if parsed else ()
        update = schedule.after_poll(
            feed,
            result,
            parsed=parsed,
            new_entries=len(items),
            known_entries=len(known_ids),
            publish_times=[e.published for e in entries if e.published],
            body_hash=body_hash,
            now=now,
            cfg=self.cfg.schedule,
            rng=self.rng,
        )
        if items or known_ids:
            with self.engine.begin() as conn:
                store_entries.link_entries(conn, _id(feed), known_ids, now)
                recorded = store_entries.record_items(conn, _id(feed), items, now)
                store_feeds.apply_update(conn, _id(feed), update)
        else:  # nothing but the feed's own state (a 304, an error): written in batches
            recorded = []
            self.states.append((_id(feed), update))
            if len(self.states) >= STATE_BATCH:
                self.write_states()
        self.progress("match", len(recorded))
        error = update.error if update.is_error else None
        failures = sum(1 for i in items if i.article.status == "fallback")
        report = FeedReport(name, update.status, len(items), len(recorded), error, failures)
        self.report.matches.extend(recorded)
        return report

    async def _item(self, key: str, entry: Entry) -> store_entries.NewItem:
        async with self.in_flight:  # bounds pages held in memory, whatever the number of feeds
            article, raw, fetched_at = await self._article(entry)
        doc = Document(
            title=entry.title or article.title,
            text=article.text,
            language=article.language,
            url=entry.link,
        )
        scores: tuple[Score, ...] = tuple(m.score(doc) for m in self.models)
        self.progress("article", 1)
        if not any(s.matched for s in scores):
            raw = None  # the page is kept as evidence for matches only: let it go now
        return store_entries.NewItem(key, entry, article, scores, raw, fetched_at)

    async def _article(self, entry: Entry) -> tuple[Article, bytes | None, datetime | None]:
        if not self.cfg.extract.fetch_articles:
            return fallback_article(entry, "article fetching is off"), None, None
        if not entry.link.startswith(("http://", "https://")):
            return fallback_article(entry, "the link is not http(s)"), None, None
        page = await self.fetcher.get(
            entry.link, accept=HTML_ACCEPT, max_bytes=self.cfg.extract.max_html_bytes
        )
        fetched_at = now_utc()
        if not page.ok:
            return fallback_article(entry, page.error or page.status.value), None, fetched_at
        article = await self.pool.extract(
            page.body, page.final_url or entry.link, page.content_type
        )
        if article.status != "ok":
            return fallback_article(entry, article.error or article.status), page.body, fetched_at
        return article, page.body, fetched_at

    def write_states(self) -> None:
        """Write the feed states waiting in the batch (and release those feeds' leases).

        A poll that yields nothing but the feed's state costs one short transaction less this way
        (15 % of an unchanged re-poll).  A crash before the write loses only "polled, nothing new":
        those feeds stay leased until the lease expires, then are polled again.
        """
        states, self.states = self.states, []
        if states:
            with self.engine.begin() as conn:
                store_feeds.apply_updates(conn, states)

    def link_late(self) -> None:
        """Link entries that two feeds carried in the same cycle to the feed that lost the race."""
        if not self.late_links:
            return
        now = now_utc()
        with self.engine.begin() as conn:
            for key, feed_id in self.late_links:
                entry_id = store_entries.entry_id_for(conn, key)
                if entry_id is not None:
                    store_entries.link_entries(conn, feed_id, [entry_id], now)


def _id(feed: Feed) -> int:
    assert feed.id is not None, "feeds are polled after the store gave them an id"
    return feed.id


def _dedupe(entries: Sequence[Entry]) -> list[tuple[str, Entry]]:
    seen: set[str] = set()
    out: list[tuple[str, Entry]] = []
    for entry in entries:
        key = entry_key(entry)
        if key not in seen:
            seen.add(key)
            out.append((key, entry))
    return out


def build_models(cfg: Config, engine: sa.Engine) -> list[match.TopicModel]:
    """One model per topic, with the analyst's labels as extra seeds and negatives."""
    models = []
    fetch_seed = seed_fetcher(cfg)
    for topic in cfg.topics:
        relevant, irrelevant = store_topics.load_feedback(engine, topic.name)
        models.append(
            match.build_model(
                topic, extra_seeds=relevant, negatives=irrelevant, fetch_seed=fetch_seed
            )
        )
    return models


def fetch_document(url: str, cfg: Config) -> Document:
    """One article page fetched through the guarded client and extracted (``watcher check URL``,
    URL seeds); a page that cannot be fetched or has no text raises ``WatcherError``."""

    async def get() -> Document:
        async with Fetcher(cfg.http) as fetcher:
            result = await fetcher.get(url, accept=HTML_ACCEPT, max_bytes=cfg.extract.max_html_bytes)
        if not result.ok:
            raise WatcherError(f"{url}: {result.status.value}: {result.error or result.http_status}")
        article = extract_article(
            result.body, result.final_url or url, cfg=cfg.extract, content_type=result.content_type
        )
        if not article.text and not article.title:
            raise WatcherError(
                f"{url}: no article text could be extracted ({article.error or article.status})"
            )
        return Document(article.title, article.text, article.language, url=url)

    return asyncio.run(get())


def seed_fetcher(cfg: Config) -> Callable[[str], str]:
    """``fetch_seed`` for ``match.build_model``: a URL seed's title and text, or "" (the seed is
    then skipped with a warning).  It runs in a thread of its own, so the daemon, whose event loop
    is running when it builds its models, can use it too."""

    def fetch(url: str) -> str:
        with ThreadPoolExecutor(1, thread_name_prefix="watcher-seed") as pool:
            try:
                doc = pool.submit(fetch_document, url, cfg).result()
            except WatcherError as e:
                log.warning("seed=%s cannot be read: %s", url, e)
                return ""
        return f"{doc.title}\n{doc.text}"

    return fetch


async def run_cycle_async(
    cfg: Config,
    engine: sa.Engine,
    *,
    urls: Sequence[str] | None = None,
    due_only: bool = False,
    owner: str | None = None,
    progress: Progress | None = None,
    models: Sequence[match.TopicModel] | None = None,
    pool: ExtractPool | None = None,
    parser: FeedParser | None = None,
) -> CycleReport:
    """Poll the configured feeds (or just `urls`) once and record what is new."""
    now = now_utc()
    owner = owner or f"{socket.gethostname()}:{os.getpid()}"
    store_feeds.sync_config_feeds(engine, cfg.feeds, now)
    claimed = store_feeds.claim_due(
        engine, now=now, owner=owner, lease_seconds=cfg.schedule.lease, urls=urls, due_only=due_only
    )
    if models is None:
        models = build_models(cfg, engine)
    with engine.begin() as conn:
        cycle_id = store_entries.start_cycle(conn, now)
    report = CycleReport()
    pools = contextlib.nullcontext(pool) if pool is not None else ExtractPool(cfg.extract)
    parsers = (
        contextlib.nullcontext(parser)
        if parser is not None
        else FeedParser.for_config(cfg.extract)
    )
    async with Fetcher(cfg.http) as fetcher, pools as extract_pool, parsers as feed_parser:
        cycle = Cycle(
            cfg, engine, fetcher, extract_pool, models, report, parser=feed_parser, progress=progress
        )
        try:
            report.feeds.extend(await asyncio.gather(*(cycle.poll(f) for f in claimed)))
        finally:
            cycle.write_states()
        cycle.link_late()
    with engine.begin() as conn:
        store_entries.finish_cycle(
            conn,
            cycle_id,
            now_utc(),
            feeds=len(report.feeds),
            errors=len(report.errors),
            new=report.new_entries,
            matched=len(report.matches),
        )
    return report


def run_cycle(
    cfg: Config,
    engine: sa.Engine,
    *,
    urls: Sequence[str] | None = None,
    due_only: bool = False,
    progress: Progress | None = None,
) -> CycleReport:
    """Synchronous wrapper of :func:`run_cycle_async` for the CLI and tests."""
    return asyncio.run(
        run_cycle_async(cfg, engine, urls=urls, due_only=due_only, progress=progress)
    )
