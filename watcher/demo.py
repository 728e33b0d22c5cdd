"""``watcher demo``: bundled demo feeds served on 127.0.0.1, the whole pipeline, a Markdown digest.

Works with no network at all: the feeds and article pages are ours (``demo_data/articles.toml``), and
the topic's own seed articles are served too, so the run shows matches, near misses staying out, an
article carried by two feeds (once with tracking parameters) stored once, and a syndicated copy folded.
"""

from __future__ import annotations

import dataclasses
import html
import threading
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from . import config as config_mod
from . import outbox, pipeline
from .config import Config, DigestConfig, EmailConfig, FeedConfig
from .pipeline import CycleReport
from .store import now_utc, open_db

SEED_DATE = "2026-11-17T09:00:00+00:00"


@dataclass(frozen=True, slots=True)
class DemoOutcome:
    report: CycleReport
    digest: Path | None
    db: Path


@dataclass(frozen=True, slots=True)
class Page:
    slug: str
    site: str
    title: str
    body: str
    published: datetime
    lang: str
    feeds: tuple[str, ...]
    query: dict[str, str]


@contextmanager
def data_dir() -> Iterator[Path]:
    """The package's ``demo_data`` folder: the shipped config.toml (feeds, default topic) and seeds."""
    with resources.as_file(resources.files(__package__).joinpath("demo_data")) as path:
        yield path


@contextmanager
def packaged_config(overrides: Sequence[str] = ()) -> Iterator[Config]:
    """The shipped config with its default topic and seeds, read from package data (issue 15).

    So the demo gives the same result from any folder and after a plain ``pip install``: it never
    reads ./config.toml.  The seed paths stay valid while the context is open.
    """
    with data_dir() as data:
        raw = tomllib.loads((data / "config.toml").read_text(encoding="utf-8"))
        for assignment in overrides:
            config_mod.apply_override(raw, assignment)
        yield config_mod.parse(raw, data, None, db=str(Path.cwd() / "seen.db"))


def load_demo(seed_files: tuple[str, ...]) -> tuple[list[dict[str, Any]], list[Page]]:
    """The demo feeds and pages: bundled articles plus the topic's seed articles."""
    raw = tomllib.loads(
        resources.files(__package__).joinpath("demo_data/articles.toml").read_text("utf-8")
    )
    pages = [
        Page(
            a["slug"],
            a["site"],
            a["title"],
            a["body"].strip(),
            datetime.fromisoformat(a["published"]),
            a["lang"],
            tuple(a["feeds"]),
            dict(a.get("query", {})),
        )
        for a in raw["articles"]
    ]
    for i, path in enumerate(seed_files):
        if "://" in path:
            continue
        title, _, body = Path(path).read_text(encoding="utf-8").strip().partition("\n")
        pages.append(
            Page(
                f"seed-{i + 1}",
                "Steppe Courier",
                title.strip(),
                body.strip(),
                datetime.fromisoformat(SEED_DATE),
                "en",
                ("steppe",),
                {},
            )
        )
    return raw["feeds"], pages


def render_page(page: Page) -> str:
    """A news page with the navigation, related links and footer extraction has to cut away."""
    paras = "\n".join(
        f"<p>{html.escape(p.strip())}</p>" for p in page.body.split("\n\n") if p.strip()
    )
    return f"""<!DOCTYPE html>
<html lang="{page.lang}"><head><meta charset="utf-8">
<title>{html.escape(page.title)} | {html.escape(page.site)}</title>
<meta property="og:site_name" content="{html.escape(page.site)}">
<meta property="article:published_time" content="{page.published.isoformat()}">
</head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/eurasia">Eurasia</a>
<a href="/economy">Economy</a> <a href="/subscribe">Subscribe</a></nav></header>
<main><article>
<h1>{html.escape(page.title)}</h1>
<p class="byline">By Staff Correspondent ·
<time datetime="{page.published.isoformat()}">{page.published:%d %B %Y}</time></p>
{paras}
</article>
<aside><h2>Most read</h2><ul><li><a href="/a/1">Markets close mixed</a></li>
<li><a href="/a/2">Weather warning for the weekend</a></li></ul></aside></main>
<footer><p>© 2026 {html.escape(page.site)}. All rights reserved.</p>
<p><a href="/privacy">Privacy</a> · <a href="/terms">Terms</a> · <a href="/contact">Contact</a></p></footer>
</body></html>"""


def render_feed(feed: dict[str, Any], pages: list[Page], base: str) -> tuple[str, str]:
    """RSS 2.0 or Atom for one demo feed; returns (body, content type)."""
    e = html.escape
    items = [p for p in pages if feed["slug"] in p.feeds]
    items.sort(key=lambda p: p.published, reverse=True)

    def link(p: Page) -> str:
        q = p.query.get(feed["slug"])
        return f"{base}/articles/{p.slug}.html" + (f"?{q}" if q else "")

    if feed["format"] == "atom":
        entries = "".join(
            f'<entry><title>{e(p.title)}</title><link href="{e(link(p))}"/>'
            f"<id>{e(base)}/articles/{p.slug}</id><updated>{p.published.isoformat()}</updated>"
            f"<summary>{e(p.body.split(chr(10))[0][:280])}</summary></entry>"
            for p in items
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
            f'xml:lang="{feed["lang"]}"><title>{e(feed["title"])}</title><id>{e(base)}/feeds/{feed["slug"]}</id>'
            f"<updated>{now_utc().isoformat()}</updated>{entries}</feed>"
        )
        return body, "application/atom+xml; charset=utf-8"
    entries = "".join(
        f"<item><title>{e(p.title)}</title><link>{e(link(p))}</link>"
        f'<guid isPermaLink="false">{e(p.slug)}</guid>'
        f"<pubDate>{format_datetime(p.published.astimezone(UTC))}</pubDate>"
        f"<description>{e(p.body.split(chr(10))[0][:280])}</description></item>"
        for p in items
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{e(feed['title'])}</title><link>{e(base)}/</link><language>{feed['lang']}</language>"
        f"{entries}</channel></rss>"
    )
    return body, "application/rss+xml; charset=utf-8"


@contextmanager
def serve(seed_files: tuple[str, ...]) -> Iterator[list[FeedConfig]]:
    """Serve the demo on 127.0.0.1 on a free port; yields the feeds to poll."""
    feeds, pages = load_demo(seed_files)
    routes: dict[str, tuple[bytes, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body, ctype = routes.get(self.path.split("?", 1)[0], (b"not found", "text/plain"))
            self.send_response(200 if ctype != "text/plain" else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    for page in pages:
        routes[f"/articles/{page.slug}.html"] = (
            render_page(page).encode(),
            "text/html; charset=utf-8",
        )
    out = []
    for feed in feeds:
        body, ctype = render_feed(feed, pages, base)
        routes[f"/feeds/{feed['slug']}"] = (body.encode(), ctype)
        out.append(FeedConfig(url=f"{base}/feeds/{feed['slug']}", name=feed["title"]))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        httpd.shutdown()
        httpd.server_close()


def demo_config(base: Config, out_dir: Path, feeds: list[FeedConfig]) -> Config:
    """The user's topics with the demo's feeds, a fresh database and a Markdown digest in out_dir."""
    return dataclasses.replace(
        base,
        db=str(out_dir / "seen.db"),
        feeds=tuple(feeds),
        http=dataclasses.replace(base.http, allow_private_addresses=True, min_host_gap=0.0),
        extract=dataclasses.replace(base.extract, workers=min(2, base.extract.workers or 2)),
        digest=DigestConfig(
            dir=out_dir,
            formats=("markdown",),
            email=EmailConfig(enabled=False),
            templates=base.digest.templates,
        ),
    )


def run(base: Config, out_dir: Path) -> DemoOutcome:
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "seen.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    seeds = tuple(s for t in base.topics for s in t.seeds)
    with serve(seeds) as feeds:
        cfg = demo_config(base, out_dir, feeds)
        engine = open_db(cfg.db_url)
        report = pipeline.run_cycle(cfg, engine)
        digest = outbox.write_markdown_digest(cfg, engine, now=now_utc())
        engine.dispose()
    return DemoOutcome(report, digest, db)
