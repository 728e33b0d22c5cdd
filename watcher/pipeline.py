"""One poll cycle: due feeds -> fetch -> parse -> new -> fetch pages -> extract -> match -> record.

Each feed is handled by one coroutine with one catch-all and one log line; feeds, article pages,
extraction (in a process pool) and scoring overlap.  Everything a feed yields is recorded in one
transaction, together with the feed's new state; the state of a poll that yields nothing (a 304, an
error) is written with others in one batch.  Every database call runs on one thread of its own
(``dbthread``), so a locked or slow database delays records, never fetches (issue 16).  Nothing is
started before it is needed: the topic models are built, the extraction workers and the parse
helper started, when the first new entry or changed feed calls for them; a cycle in which every
feed answers 304 does none of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import random
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from . import schedule, stages
from .config import Config
from .cycle_api import Claim, CycleStore, as_store
from .dbthread import DbThread
from .errors import WatcherError
from .extract_pool import ExtractPool
from .fallback import fallback_article
from .http import HTML_ACCEPT, Fetcher
from .models import Article, Document, Entry, Feed, FetchResult, FetchStatus, ParsedFeed, Score
from .parse_worker import FeedParser
from .stages import Stage
from .store import items as store_items  # NewItem, RecordedMatch: no SQLAlchemy (issue 16)
from .store import now_utc

# Reads a topic's labelled articles: (relevant, irrelevant).
Feedback = Callable[[str], tuple[list[Document], list[Document]]]

if TYPE_CHECKING:  # the matcher is imported when the first new entry is scored
    import sqlalchemy as sa

    from . import match

log = logging.getLogger(__name__)
STATE_BATCH = 200  # feed states (polls that found nothing to store) written in one transaction


@dataclass(frozen=True, slots=True)
class FeedReport:
    feed: str
    status: str
    new: int = 0
    matched: int = 0
    error: str | None = None
    extract_failures: int = 0  # new articles with no page text (fetch or extraction failed): feed text used


@dataclass(repr=False)
class CycleReport:
    feeds: list[FeedReport] = field(default_factory=list)
    matches: list[store_items.RecordedMatch] = field(default_factory=list)
    # What the cycle had to start (issue 16: a cycle with nothing new starts nothing).
    models_loaded: int = 0  # topic models this cycle needed and built (or took from a LazyModels)
    extract_workers: int = 0  # extraction worker processes running for this cycle
    parse_helper: bool = False  # whether the feed-parsing helper process was started

    def __repr__(self) -> str:
        # Short: asyncio.run formats its finished task (and so this result) when it restores the
        # SIGINT handler; a repr of a thousand FeedReports cost a re-poll ~10 ms (issue 16).
        return (
            f"CycleReport(feeds={len(self.feeds)}, new_entries={self.new_entries}, "
            f"matches={len(self.matches)}, errors={len(self.errors)})"
        )

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
Models = Sequence["match.TopicModel"] | Callable[[], Sequence["match.TopicModel"]]


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
        store: CycleStore,
        fetcher: Fetcher,
        pool: ExtractPool,
        models: Models,
        report: CycleReport,
        *,
        parser: FeedParser,
        db: DbThread,
        progress: Progress | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.cfg, self.store, self.fetcher, self.pool = cfg, store, fetcher, pool
        # A list, or a function that builds them: called once, when the first new entry is scored.
        self._models: Sequence[match.TopicModel] | None = None if callable(models) else models
        self._build: Callable[[], Sequence[match.TopicModel]] | None = (
            models if callable(models) else None
        )
        self._building: asyncio.Future[Sequence[match.TopicModel]] | None = None
        self.parser = parser
        self.db = db
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
            await self.db.run(self.store.release, _id(feed))
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
        # The two decisions of a poll, each taken once (schedule's rules) and handed to after_poll.
        unconditional = schedule.unconditional_due(feed, now, self.cfg.schedule)
        result = await self.fetcher.get(
            feed.fetch_url,
            etag=None if unconditional else feed.etag,
            last_modified=None if unconditional else feed.last_modified,
        )
        parsed: ParsedFeed | None = None
        body_hash = hashlib.sha256(result.body).hexdigest() if result.ok else None
        # A 200 with the body we already parsed is not parsed again (validators sometimes lie);
        # it is recorded as not modified.
        unchanged = schedule.body_unchanged(feed, result, body_hash)
        if result.ok and not unchanged:
            parsed = await self.parser.parse(
                result.body, result.final_url or feed.fetch_url, result.content_type, dict(result.headers)
            )
        decided = (unconditional, unchanged)
        if parsed is None or parsed.status != FetchStatus.OK:
            return await self._record(feed, result, parsed, body_hash, [], [], now, name, decided)
        items = _dedupe(parsed.entries)
        known = await self.db.run(self.store.known_keys, _id(feed), items)
        new: list[tuple[str, Entry]] = []
        for key, entry in items:
            if key in known:
                continue
            if key in self.claimed:
                self.late_links.append((key, _id(feed)))
                continue
            self.claimed.add(key)
            new.append((key, entry))
        if new and self.cfg.extract.fetch_articles:
            self.pool.start()  # the workers warm up while the pages are fetched (issue 16)
        built = await asyncio.gather(*(self._item(key, entry) for key, entry in new))
        return await self._record(
            feed, result, parsed, body_hash, list(built), list(known.values()), now, name, decided
        )

    async def _record(
        self,
        feed: Feed,
        result: FetchResult,
        parsed: ParsedFeed | None,
        body_hash: str | None,
        items: list[store_items.NewItem],
        known_ids: list[int],
        now: datetime,
        name: str,
        decided: tuple[bool, bool],  # (unconditional, unchanged), as the poll decided them
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
            unconditional=decided[0],
            unchanged=decided[1],
        )
        if items or known_ids:
            recorded = await self.db.run(
                self.store.record_feed,
                _id(feed),
                known_ids,
                items,
                update,
                now,
                stop_at=self.cfg.stop_at,
                feed_url=feed.fetch_url,
            )
            stages.reached(self.cfg.stop_at, Stage.FEED_RECORDED, feed=feed.fetch_url)
        else:  # nothing but the feed's own state (a 304, an error): written in batches
            recorded = []
            self.states.append((_id(feed), update))
            if len(self.states) >= STATE_BATCH:
                self.write_states()
        self.progress("match", len(recorded))
        error = update.last_error if update.is_error else None
        failures = sum(1 for i in items if i.article.status == "fallback")
        report = FeedReport(name, update.last_status or "", len(items), len(recorded), error, failures)
        self.report.matches.extend(recorded)
        return report

    async def _item(self, key: str, entry: Entry) -> store_items.NewItem:
        async with self.in_flight:  # bounds pages held in memory, whatever the number of feeds
            article, raw, fetched_at = await self._article(entry)
        doc = Document(
            title=entry.title or article.title,
            text=article.text,
            language=article.language,
            url=entry.link,
        )
        scores: tuple[Score, ...] = tuple(m.score(doc) for m in await self.models())
        self.progress("article", 1)
        if not any(s.matched for s in scores):
            raw = None  # the page is kept as evidence for matches only: let it go now
        return store_items.NewItem(key, entry, article, scores, raw, fetched_at)

    async def models(self) -> Sequence[match.TopicModel]:
        """The topic models, built on a thread the first time an entry needs them."""
        if self._models is not None:
            return self._models
        if self._building is None:
            assert self._build is not None
            self._building = asyncio.ensure_future(asyncio.to_thread(self._build))
        models = await self._building
        if self._models is None:
            self._models = models
            self.report.models_loaded = len(models)
        return models

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
        # Feed-first metadata (issue 16): the entry's own date wins, so the page's is not searched.
        article = await self.pool.extract(
            page.body, page.final_url or entry.link, page.content_type, dated=entry.published is not None
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
            self.db.submit(self.store.apply_updates, states)  # nobody waits for it: see drain()

    async def link_late(self) -> None:
        """Link entries that two feeds carried in the same cycle to the feed that lost the race."""
        if self.late_links:
            await self.db.run(self.store.link_late, self.late_links, now_utc())


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


def build_models(
    cfg: Config, engine: sa.Engine | None = None, *, feedback: Feedback | None = None
) -> list[match.TopicModel]:
    """One model per topic, with the analyst's labels as extra seeds and negatives (read by
    ``feedback``, a cycle store's, else from ``engine``)."""
    from . import match

    if feedback is None:
        from .store import topics as store_topics

        assert engine is not None, "build_models needs an engine or a feedback reader"
        feedback = functools.partial(store_topics.load_feedback, engine)
    models = []
    fetch_seed = seed_fetcher(cfg)
    for topic in cfg.topics:
        relevant, irrelevant = feedback(topic.name)
        models.append(
            match.build_model(
                topic, extra_seeds=relevant, negatives=irrelevant, fetch_seed=fetch_seed
            )
        )
    return models


class LazyModels:
    """The topic models, built the first time a cycle needs them and kept (the daemon's; a reload
    makes a new one), so a daemon whose ticks find nothing new never builds them."""

    def __init__(self, cfg: Config, engine: sa.Engine) -> None:
        self._cfg, self._engine = cfg, engine
        self._models: list[match.TopicModel] | None = None

    @property
    def built(self) -> bool:
        return self._models is not None

    def __call__(self) -> list[match.TopicModel]:
        if self._models is None:
            self._models = build_models(self._cfg, self._engine)
        return self._models


def fetch_document(url: str, cfg: Config) -> Document:
    """One article page fetched through the guarded client and extracted (``watcher check URL``,
    URL seeds); a page that cannot be fetched or has no text raises ``WatcherError``."""

    from .extract import extract_article  # trafilatura: only when a page is extracted here

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
    engine: sa.Engine | CycleStore,
    *,
    urls: Sequence[str] | None = None,
    due_only: bool = False,
    owner: str | None = None,
    progress: Progress | None = None,
    models: Models | None = None,
    pool: ExtractPool | None = None,
    parser: FeedParser | None = None,
    limit: int | None = None,
    sync_feeds: bool = True,
) -> CycleReport:
    """Poll the configured feeds (or just `urls`) once and record what is new.

    ``limit``: claim at most this many due feeds (a PostgreSQL worker's batch, issue 13);
    ``sync_feeds=False``: the caller synced config.toml's feeds already (its next batches).
    ``models``: the topic models, or a function that builds them (called once, on a thread, when
    the first new entry is scored); by default they are built from ``cfg`` on first use.
    ``engine``: an SQLAlchemy engine, or a ``cycle_api.CycleStore`` (``cycle_lite.LiteStore``:
    no SQLAlchemy until the cycle needs it).
    """
    store = as_store(engine)
    now = now_utc()
    owner = owner or f"{socket.gethostname()}:{os.getpid()}"
    report = CycleReport()
    pools = contextlib.nullcontext(pool) if pool is not None else ExtractPool(cfg.extract)
    parsers = (
        contextlib.nullcontext(parser)
        if parser is not None
        else FeedParser.for_config(cfg.extract)
    )
    async with DbThread() as db:
        claim = Claim(now, owner, urls, due_only, limit, sync_feeds)
        claimed, cycle_id = await db.run(store.start, cfg, claim)
        stages.reached(cfg.stop_at, Stage.CYCLE_CLAIMED, feeds=len(claimed))
        fleet_gate = store.host_gate(cfg.http.min_host_gap)  # issue 13: fleet-wide gap
        fetcher_ = Fetcher(cfg.http, host_slots=fleet_gate)
        async with fetcher_ as fetcher, pools as extract_pool, parsers as feed_parser:
            cycle = Cycle(
                cfg,
                store,
                fetcher,
                extract_pool,
                # the labels are read when models are built (with sqlite3 on a plain SQLite file)
                models if models is not None else lambda: build_models(cfg, feedback=store.feedback),
                report,
                parser=feed_parser,
                db=db,
                progress=progress,
            )
            if parser is None:  # our own, for this one cycle: it knows how many feeds may come
                feed_parser.expect(len(claimed))
            if cfg.extract.fetch_articles and any(f.last_polled_at is None for f in claimed):
                extract_pool.start()  # a feed never polled brings its entries: warm up meanwhile
            try:
                report.feeds.extend(await asyncio.gather(*(cycle.poll(f) for f in claimed)))
            finally:
                cycle.write_states()
                report.extract_workers = len(extract_pool.worker_pids())
                report.parse_helper = feed_parser.started
            await cycle.link_late()
            await db.drain()
        if fleet_gate is not None:
            fleet_gate.close()
        await db.run(store.finish, cycle_id, report)
    return report


def run_cycle(
    cfg: Config,
    engine: sa.Engine | CycleStore,
    *,
    urls: Sequence[str] | None = None,
    due_only: bool = False,
    progress: Progress | None = None,
) -> CycleReport:
    """Synchronous wrapper of :func:`run_cycle_async` for the CLI and tests."""
    return asyncio.run(
        run_cycle_async(cfg, engine, urls=urls, due_only=due_only, progress=progress)
    )
