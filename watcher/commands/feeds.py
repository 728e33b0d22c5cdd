"""``watcher feeds list|add|remove|enable|disable|import|export`` and ``watcher status``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..textsafe import terminal_safe
from . import common

if TYPE_CHECKING:  # each command imports what it uses when it runs (issue 16)
    from ..config import Config, HttpConfig
    from ..health import FeedHealth, Worker


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("feeds", help="list, add, remove, enable, disable, import or export feeds")
    fsub = p.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)

    def action(name: str, help: str, func: Any) -> argparse.ArgumentParser:
        a = fsub.add_parser(name, help=help, description=func.__doc__)
        common.add_common(a)
        a.set_defaults(func=func)
        return a

    action("list", "list the feeds (config.toml and added)", run_list).add_argument(
        "--json", action="store_true", help="print JSON"
    )
    add = action("add", "add a feed, or the feed a web page advertises", run_add)
    add.add_argument("url", help="a feed URL or the URL of a page that links to its feed")
    add.add_argument("--name", default="", help="a name to show (default: the feed's title)")
    add.add_argument("--no-check", action="store_true", help="add as given, without fetching it")
    for name, func, what in (
        ("remove", run_remove, "remove an added feed"),
        ("enable", run_enable, "enable a feed (also brings back a retired one)"),
        ("disable", run_disable, "stop polling an added feed"),
    ):
        action(name, what, func).add_argument("url")
    action("import", "add the feeds of an OPML file", run_import).add_argument("file", type=Path)
    action("export", "write the feeds as OPML", run_export).add_argument(
        "file", nargs="?", default="-", help="output file (default: standard output)"
    )

    s = sub.add_parser("status", help="the health of every feed", description=run_status.__doc__)
    common.add_common(s)
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=run_status)


def _open(args: argparse.Namespace) -> tuple[Config, Any]:
    cfg = common.load_config(args)
    return cfg, _synced(cfg)


def _synced(cfg: Config) -> Any:
    """The store, its config feeds synced."""
    from ..store import feeds as store
    from ..store import now_utc

    engine = common.open_store(cfg)
    store.sync_config_feeds(engine, cfg.feeds, now_utc())
    return engine


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _safe(text: str) -> str:
    from rich.markup import escape

    return escape(terminal_safe(text))


def run_list(args: argparse.Namespace) -> int:
    """List every feed: where it comes from, whether it is polled, where it moved."""
    from .. import health

    # An SQLite store in step with the config is read with the standard library (as status does);
    # anything else is synced through the store first.
    cfg = common.load_config(args)
    feeds = health.feeds(cfg)
    if feeds is None:
        from ..store import feeds as store

        feeds = store.list_feeds(_synced(cfg))
    if args.json:
        rows = [
            {"name": f.name or f.title, "url": f.url, "current_url": f.current_url,
             "source": f.source, "enabled": f.enabled, "retired": f.retired}
            for f in feeds
        ]  # fmt: skip
        print(json.dumps({"feeds": rows}, ensure_ascii=False))
        return 0
    lines = []  # plain lines, one per feed (no styling: rich would only wrap long URLs)
    for f in feeds:
        state = "retired" if f.retired else "enabled" if f.enabled else "disabled"
        moved = f"  -> {f.current_url}" if f.current_url else ""
        lines.append(terminal_safe(f"{state:8} {f.source:6} {f.name or f.title or '-'}  {f.url}{moved}"))
    print("\n".join([*lines, f"{len(feeds)} feeds"]))
    return 0


async def _find_feed(cfg: HttpConfig, url: str) -> tuple[str, str]:
    """The feed URL and title behind a URL: the URL itself, or the first feed its page names."""
    from .. import feeds as feeds_mod
    from ..http import Fetcher
    from ..models import FetchStatus
    from ..store import feeds as store

    async with Fetcher(cfg) as fetcher:
        candidates, tried = [url], []
        while candidates:
            candidate = candidates.pop(0)
            tried.append(candidate)
            result = await fetcher.get(candidate)
            if not result.ok:
                if candidate == url:
                    raise store.FeedError(f"cannot fetch {url}: {result.error or result.status}")
                continue
            final = result.permanent_url or candidate
            parsed = feeds_mod.parse_feed(
                result.body,
                url=result.final_url or candidate,
                content_type=result.content_type,
                headers=dict(result.headers),
            )
            if parsed.status is FetchStatus.OK:
                return final, parsed.title
            if candidate == url:
                candidates += [a for a in parsed.alternates if a not in tried][:5]
                if not candidates:
                    raise store.FeedError(f"{url}: {parsed.error}")
    raise store.FeedError(f"{url}: none of the feeds the page names could be read ({', '.join(tried[1:])})")


def run_add(args: argparse.Namespace) -> int:
    """Add a feed; given a web page, add the feed it advertises (<link rel="alternate">)."""
    import asyncio

    from ..store import feeds as store
    from ..store import now_utc

    cfg, engine = _open(args)
    url, title = args.url, ""
    if not args.no_check:
        url, title = asyncio.run(_find_feed(cfg.http, args.url))
    feed = store.add_feed(engine, url, name=args.name or title, now=now_utc())
    note = f" (found on {args.url})" if url != args.url else ""
    # The title and a discovered URL come from the fetched page: no escape sequences (issue 8).
    print(terminal_safe(f"added {feed.url}{note}: {feed.name or '(no title)'}"))
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """Remove an added feed (feeds in config.toml are removed there)."""
    from ..store import feeds as store

    _, engine = _open(args)
    store.remove_feed(engine, args.url)
    print(f"removed {args.url}")
    return 0


def run_enable(args: argparse.Namespace) -> int:
    """Enable a feed; a retired feed (HTTP 410) is polled again."""
    from ..store import feeds as store
    from ..store import now_utc

    _, engine = _open(args)
    feed = store.set_enabled(engine, args.url, True, now=now_utc())
    print(terminal_safe(f"enabled {feed.url}"))
    return 0


def run_disable(args: argparse.Namespace) -> int:
    """Stop polling an added feed (feeds in config.toml are disabled there)."""
    from ..store import feeds as store
    from ..store import now_utc

    _, engine = _open(args)
    feed = store.set_enabled(engine, args.url, False, now=now_utc())
    print(terminal_safe(f"disabled {feed.url}"))
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Add every feed of an OPML file; feeds already known are left as they are."""
    from .. import opml
    from ..store import feeds as store
    from ..store import now_utc

    _, engine = _open(args)
    try:
        data = args.file.read_bytes()
    except OSError as e:
        raise opml.OpmlError(f"{args.file}: cannot read: {e.strerror or e}") from e
    added = skipped = 0
    now = now_utc()
    for item in opml.parse_opml(data):
        existing = store.get_feed(engine, item.url)
        if existing is not None and existing.source != "removed":
            skipped += 1
            continue
        store.add_feed(engine, item.url, name=item.name, now=now)
        added += 1
    print(f"imported {added} feeds from {args.file} ({skipped} already known)")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write the enabled feeds (config.toml and added) as an OPML file."""
    from .. import opml
    from ..store import feeds as store
    from ..store import now_utc

    _, engine = _open(args)
    feeds = [f for f in store.list_feeds(engine) if f.enabled and not f.retired]
    data = opml.render_opml(feeds, now=now_utc())
    if args.file == "-":
        sys.stdout.write(data.decode("utf-8"))
        return 0
    target = Path(args.file)
    fd, tmp = tempfile.mkstemp(dir=target.parent or Path("."), prefix=f".{target.name}.")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, target)
    print(f"exported {len(feeds)} feeds to {target}")
    return 0


def status_json(rows: list[FeedHealth]) -> dict[str, object]:
    """The ``status --json`` document."""
    return {
        "feeds": [
            {
                "name": r.feed.name or r.feed.title,
                "url": r.feed.url,
                "current_url": r.feed.current_url,
                "status": r.status,
                "etag": r.feed.etag,
                "last_modified": r.feed.last_modified,
                "failures": r.feed.failures,
                "next_poll_at": r.feed.next_poll_at.isoformat() if r.feed.next_poll_at else None,
                "retired": r.feed.retired,
                "enabled": r.feed.enabled,
                "source": r.feed.source,
                "last_success_at": (r.feed.last_success_at.isoformat() if r.feed.last_success_at else None),
                "last_error": r.feed.last_error,
                "warning": r.warning,
                "entries": r.entries,
                "matches": r.matches,
            }
            for r in rows
        ]
    }


def daemon_line(beat: dict[str, Any] | None, poll_interval: float, now: datetime) -> str:
    """One line on the daemon: alive or not, its last cycle and the next digest."""
    if not beat:
        return "daemon: never ran on this database"
    at = datetime.fromisoformat(str(beat["heartbeat_at"]))
    age = (now - at).total_seconds()
    alive = age < 2 * poll_interval + 120
    state = f"running (pid {beat.get('pid')})" if alive else "not running"
    line = f"daemon: {state}, last heartbeat {_when(at)} ({age:.0f} s ago)"
    cycle = beat.get("last_cycle")
    if isinstance(cycle, dict):
        line += (
            f"; last cycle {cycle.get('feeds')} feeds, {cycle.get('new_entries')} new, "
            f"{cycle.get('matches')} matches, {cycle.get('errors')} errors in {cycle.get('seconds')} s"
        )
    if beat.get("next_digest_at"):
        line += f"; next digest {beat['next_digest_at']}"
    return terminal_safe(line)


def worker_rows(fleet: Sequence[Worker], now: datetime) -> list[dict[str, Any]]:
    """The registered workers for ``watcher status --json``."""
    return [
        {
            "id": w.id, "host": w.host, "pid": w.pid, "started": w.started.isoformat(),
            "heartbeat": w.heartbeat.isoformat(), "version": w.version, "schema": w.schema,
            "live": w.live(now), "last_cycle": w.state.get("last_cycle"),
        }
        for w in fleet
    ]  # fmt: skip


def worker_lines(fleet: Sequence[Worker], now: datetime) -> list[str]:
    """One line a registered worker: live or gone, its heartbeat's age, its last cycle."""
    lines = []
    for w in fleet:
        age = (now - w.heartbeat).total_seconds()
        line = (
            f"worker {w.id}: {'live' if w.live(now) else 'gone'}, heartbeat {age:.0f} s ago, "
            f"up since {w.started:%Y-%m-%d %H:%M} UTC, watcher {w.version} (schema {w.schema})"
        )
        cycle = w.state.get("last_cycle")
        if isinstance(cycle, dict):
            line += f"; last cycle {cycle.get('feeds')} feeds in {cycle.get('seconds')} s"
        lines.append(terminal_safe(line))
    return lines


def run_status(args: argparse.Namespace) -> int:
    """Show each feed's health (last success, last error, failures, next poll, entries, matches)
    and the daemon's heartbeat, last cycle and next digest."""
    from .. import health
    from ..health import Health

    cfg = common.load_config(args)
    found = health.read(cfg)  # SQLite in step with the config: no SQLAlchemy to import
    if found is None:
        from ..store import feeds as store
        from ..store import now_utc
        from ..store.daemon import read_heartbeat
        from ..store.workers import list_workers

        engine = common.open_store(cfg)
        store.sync_config_feeds(engine, cfg.feeds, now_utc())
        found = Health(store.health(engine), read_heartbeat(engine), list_workers(engine))
    rows, beat = found.rows, found.heartbeat
    if args.json:
        doc = status_json(rows)
        doc["daemon"] = beat
        doc["workers"] = worker_rows(found.workers, datetime.now(UTC))  # issue 13
        print(json.dumps(doc, ensure_ascii=False))
        return 0
    print(daemon_line(beat, cfg.schedule.poll_interval, datetime.now(UTC)))
    for line in worker_lines(found.workers, datetime.now(UTC)):  # issue 13: the fleet on one database
        print(line)
    troubled = sum(1 for r in rows if r.feed.failures or r.feed.retired)
    if not common.is_tty():  # pipes and logs: one tab-separated line a feed
        for r in rows:
            f = r.feed
            cells = (
                f.name or f.title or f.url, r.status, _when(f.last_success_at), str(f.failures),
                _when(f.next_poll_at), str(r.entries), str(r.matches), f.last_error or "",
                f.current_url or "",
            )  # fmt: skip
            print("\t".join(terminal_safe(c).replace("\t", " ") for c in cells))
        print(f"{len(rows)} feeds, {troubled} with trouble")
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_lines=False, highlight=False)
    for col in (
        "feed",
        "status",
        "last success",
        "failures",
        "next poll",
        "entries",
        "matches",
        "last error",
    ):
        table.add_column(col, overflow="fold")
    for r in rows:
        f = r.feed
        name = _safe(f.name or f.title or f.url)
        if f.current_url:
            name += f"\n[dim]moved to {_safe(f.current_url)}[/]"
        colour = "red" if f.retired or f.failures else "green" if f.last_success_at else "yellow"
        table.add_row(
            name,
            f"[{colour}]{escape(r.status)}[/]",
            _when(f.last_success_at),
            str(f.failures),
            _when(f.next_poll_at) if not f.retired else "never (retired)",
            str(r.entries),
            str(r.matches),
            _safe(f.last_error or "")[:200],
        )
    console = Console(highlight=False)
    console.print(table)
    console.print(f"{len(rows)} feeds, {troubled} with trouble")
    return 0
