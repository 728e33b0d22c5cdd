"""Nothing starts before it is needed (issue 16): what `--help`, `status`, `feeds list` and a cycle
of 304s import and start, seen from real processes over a real server and SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.server import Server
from watcher import config as config_mod
from watcher.commands.digest import FORMATS
from watcher.commands.feeds import status_json
from watcher.parse_worker import FeedParser
from watcher.pipeline import CycleReport, run_cycle, run_cycle_async
from watcher.render import FORMATS as RENDER_FORMATS
from watcher.store import feeds as store_feeds
from watcher.store import open_db

ROOT = Path(__file__).resolve().parents[1]
# Libraries a command that does not need them must not import (each costs 40-150 ms at start).
HEAVY = (
    "sqlalchemy",
    "trafilatura",
    "httpx",
    "feedparser",
    "jinja2",
    "apscheduler",
    "lxml",
    "rich",
    "watcher.pipeline",
    "watcher.match",
    "watcher.extract",
)
# Runs `watcher ARGS...` through cli.main, then reports on stderr's last line which HEAVY modules
# the process holds.
PROBE = (
    "import json, sys\n"
    "from watcher.cli import main\n"
    "code = main(sys.argv[2:])\n"
    "heavy = json.loads(sys.argv[1])\n"
    "print(json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr)\n"
    "raise SystemExit(code)\n"
)


def watcher(*argv: str, cwd: Path | None = None) -> tuple[int, str, list[str]]:
    """Run the command in a fresh interpreter: exit code, stdout, the heavy modules it imported."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("WATCHER_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(HEAVY), *argv],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=120,
    )
    lines = proc.stderr.strip().splitlines()
    assert lines, f"no output from {argv}: {proc.stdout}"
    return proc.returncode, proc.stdout, json.loads(lines[-1])


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("fetch", "--help"),
        ("status", "--help"),
        ("digest", "--help"),
        ("feeds", "list", "--help"),
        ("run", "--help"),
        ("eval", "--help"),
    ],
)
def test_help_imports_no_library(argv: tuple[str, ...]) -> None:
    code, out, heavy = watcher(*argv)
    assert code == 0 and "usage: watcher" in out
    assert heavy == []


def test_digest_format_choices_match_the_renderer() -> None:
    assert FORMATS == RENDER_FORMATS


class Farm:
    """Feeds with ETags (304 when the client's validator matches) whose entries link to pages here."""

    def __init__(self, server: Server, feeds: int, items: int) -> None:
        self.server, self.feeds, self.items = server, feeds, items
        for f in range(feeds):
            server.handler(f"/feed{f}.xml", self._feed(f))
            for i in range(items):
                body = (
                    f"<html><head><title>Story {f}-{i}</title></head><body><article>"
                    f"<h1>Story {f}-{i}</h1>"
                    + "".join(
                        f"<p>Paragraph {p} of story {f}-{i}: officials said the number of "
                        "arrivals at the border grew again this month.</p>"
                        for p in range(6)
                    )
                    + "</article></body></html>"
                )
                server.route(f"/page/{f}/{i}.html", body)

    def _feed(self, f: int) -> object:
        from datetime import UTC, datetime, timedelta

        start = datetime(2026, 1, 1, tzinfo=UTC)
        items = "".join(
            f"<item><title>Story {f}-{i}</title><link>{self.server.url(f'/page/{f}/{i}.html')}</link>"
            f"<guid isPermaLink='false'>s{f}-{i}</guid><description>About story {f}-{i}</description>"
            f"<pubDate>{format_datetime(start + timedelta(hours=i))}</pubDate></item>"
            for i in range(self.items)
        )
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {f}</title><link>http://news.example/</link>{items}</channel></rss>"
        ).encode()
        etag = f'"feed{f}-v1"'

        def handle(h: BaseHTTPRequestHandler) -> None:
            if h.headers.get("If-None-Match") == etag:
                h.send_response(304)
                h.send_header("ETag", etag)
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("ETag", etag)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)

        return handle

    def urls(self) -> list[str]:
        return [self.server.url(f"/feed{f}.xml") for f in range(self.feeds)]


def write_config(tmp: Path, urls: list[str], *, topics: bool = True) -> Path:
    shipped = (ROOT / "config.toml").read_text(encoding="utf-8")
    block = shipped[shipped.index("# --- topics: begin") : shipped.index("# --- topics: end")]
    text = (
        f'[storage]\ndb = "{tmp / "w.db"}"\n'
        '[http]\nallow_networks = ["127.0.0.1"]\nmin_host_gap = 0.0\nper_host_concurrency = 8\n'
        "[extract]\nworkers = 1\nparse_helper = true\n\n"
        + "".join(f'[[feeds]]\nurl = "{u}"\nname = "Feed {i}"\n\n' for i, u in enumerate(urls))
        + (block.replace('"seeds/', f'"{ROOT}/seeds/') if topics else "")
    )
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_cycle_of_304s_builds_no_model_and_starts_no_process(http_server: Server, tmp_path: Path) -> None:
    farm = Farm(http_server, feeds=10, items=2)  # 10 feeds: more than the parse helper waits for
    path = write_config(tmp_path, farm.urls())
    cfg = config_mod.load(path)
    engine = open_db(cfg.db_url)

    def cycle() -> CycleReport:
        # A parser handed in (as the daemon's): it starts its helper after 8 documents, however
        # few may come; `watcher fetch`'s own would not start one for 10 feeds (issue 16).
        async def run() -> CycleReport:
            async with FeedParser.for_config(cfg.extract) as parser:
                return await run_cycle_async(cfg, engine, parser=parser)

        return asyncio.run(run())

    first = cycle()
    assert first.new_entries == 20 and not first.errors
    assert first.models_loaded == len(cfg.topics) == 1
    assert first.extract_workers == 1 and first.parse_helper
    pages = sum(http_server.hits(f"/page/{f}/{i}.html") for f in range(10) for i in range(2))
    assert pages == 20

    # Polled again at once (fetch polls every feed, due or not): every one answers 304.
    again = cycle()
    assert [f.status for f in again.feeds] == ["not_modified"] * 10
    assert again.models_loaded == 0 and again.extract_workers == 0 and not again.parse_helper
    engine.dispose()

    # The whole command, in its own process: the extraction and matching code is never imported.
    code, out, heavy = watcher("fetch", "--json", "--config", str(path), "--feed", farm.urls()[0])
    report = json.loads(out)
    assert code == 0 and report["feeds"] == 1 and report["new_entries"] == 0
    assert not {"trafilatura", "watcher.extract", "watcher.match", "jinja2"} & set(heavy)


def test_status_reads_the_file_without_sqlalchemy_and_says_what_the_store_says(
    http_server: Server, tmp_path: Path
) -> None:
    farm = Farm(http_server, feeds=3, items=2)
    http_server.route("/gone.xml", b"", status=410)
    urls = [*farm.urls(), http_server.url("/gone.xml")]
    path = write_config(tmp_path, urls, topics=False)
    cfg = config_mod.load(path)
    engine = open_db(cfg.db_url)
    run_cycle(cfg, engine)

    code, out, heavy = watcher("status", "--json", "--config", str(path))
    assert code == 0 and "sqlalchemy" not in heavy and "httpx" not in heavy
    fast = json.loads(out)
    full = status_json(store_feeds.health(engine))
    assert fast["feeds"] == full["feeds"]
    by_url = {f["url"]: f for f in fast["feeds"]}
    assert by_url[urls[0]]["entries"] == 2 and by_url[urls[0]]["etag"] == '"feed0-v1"'
    assert by_url[urls[3]]["status"] == "retired"

    # A feed added to the config must be synced first: status takes the store's path and shows it.
    http_server.route("/new.xml", b"")
    path = write_config(tmp_path, [*urls, http_server.url("/new.xml")], topics=False)
    code, out, heavy = watcher("status", "--json", "--config", str(path))
    rows = {f["url"]: f for f in json.loads(out)["feeds"]}
    assert code == 0 and "sqlalchemy" in heavy
    assert rows[http_server.url("/new.xml")]["status"] == "new" and len(rows) == 5
    engine.dispose()


def test_feeds_list_imports_no_pipeline(tmp_path: Path) -> None:
    path = write_config(tmp_path, ["http://127.0.0.1:9/feed.xml"], topics=False)
    code, out, heavy = watcher("feeds", "list", "--json", "--config", str(path))
    assert code == 0 and json.loads(out)["feeds"][0]["url"] == "http://127.0.0.1:9/feed.xml"
    assert not {"trafilatura", "httpx", "feedparser", "watcher.pipeline", "jinja2"} & set(heavy)


def test_feeds_list_reads_a_file_in_step_without_sqlalchemy(http_server: Server, tmp_path: Path) -> None:
    farm = Farm(http_server, feeds=3, items=1)
    path = write_config(tmp_path, farm.urls(), topics=False)
    engine = open_db(config_mod.load(path).db_url)
    run_cycle(config_mod.load(path), engine)
    store_feeds.add_feed(engine, http_server.url("/added.xml"), name="added", now=datetime.now(UTC))

    code, out, heavy = watcher("feeds", "list", "--json", "--config", str(path))
    assert code == 0 and "sqlalchemy" not in heavy
    listed = json.loads(out)["feeds"]
    want = store_feeds.list_feeds(engine)
    assert [(f["url"], f["source"], f["enabled"]) for f in listed] == [
        (f.url, f.source, f.enabled) for f in want
    ]
    assert len(listed) == 4 and listed[-1]["source"] != "config"  # config feeds first

    # A feed new in the config must be synced first: the store's path lists it.
    path = write_config(tmp_path, [*farm.urls(), http_server.url("/new.xml")], topics=False)
    code, out, heavy = watcher("feeds", "list", "--json", "--config", str(path))
    assert code == 0 and "sqlalchemy" in heavy
    assert http_server.url("/new.xml") in {f["url"] for f in json.loads(out)["feeds"]}
    engine.dispose()
