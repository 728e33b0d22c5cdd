"""Feeds and article pages written for the tests (no third-party text)."""

from __future__ import annotations

import html
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.server import Server

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Story:
    slug: str
    title: str
    body: str
    lang: str = "en"


AFGHAN_WORKERS = Story(
    "afghan-workers",
    "Russia opens a pilot quota for Afghan labour migrants",
    "Russia's labour ministry said on Tuesday it would let regional employers hire a first group of "
    "Afghan labour migrants next year under a pilot quota, after months of requests from the Taliban "
    "government in Kabul.\n\nOfficials in Moscow said every Afghan worker would be screened by the "
    "security services before receiving a work permit, and that migrants who break the rules would face "
    "deportation to Afghanistan.\n\nMigration experts said only a few thousand Afghan nationals work "
    "legally in Russia today, far fewer than the migrants from Uzbekistan and Tajikistan who fill "
    "building sites in Russian cities. Rights groups warned that Afghans who fled the Taliban and now "
    "live in Russia without papers risk being sent back.",
)
AFGHAN_REFUGEES_RU = Story(
    "afgancy-ubezhishche",
    "Афганские беженцы в России просят продлить временное убежище",
    "Группа граждан Афганистана, живущих в Москве, обратилась в миграционную службу МВД с просьбой "
    "продлить им временное убежище в России. Многие из них бежали из Кабула после прихода талибов к "
    "власти в 2021 году.\n\nПо словам юристов, без продления документов афганским беженцам грозит "
    "депортация на родину, где их могут преследовать. Правозащитники напоминают, что статус беженца в "
    "России получили лишь единицы, а трудовые мигранты из Афганистана не могут легально работать без "
    "патента.",
    "ru",
)
TALIBAN_TRADE = Story(
    "taliban-trade",
    "Moscow and the Taliban sign a deal on wheat and fuel deliveries",
    "Russia and the Taliban government signed an agreement in Moscow on Monday on deliveries of Russian "
    "wheat, diesel and petrol to Afghanistan, the Russian foreign ministry said.\n\nThe Kremlin's envoy "
    "said trade between the two countries had grown sharply since Moscow recognised the Taliban "
    "administration, and that Russian firms were studying a railway through Uzbekistan. The talks also "
    "covered border security and drug trafficking.",
)
LOCAL_WEATHER = Story(
    "storm",
    "Storm brings heavy snow and closes mountain passes",
    "A winter storm brought up to a metre of snow to the mountains overnight, closing two passes and "
    "cutting power to several villages, the regional emergency service said.\n\nForecasters expect the "
    "snow to ease on Thursday. Drivers were told to carry chains and to avoid travel after dark where "
    "they could.",
)


def page(story: Story, site: str = "Test Gazette") -> str:
    paras = "".join(f"<p>{html.escape(p)}</p>\n" for p in story.body.split("\n\n"))
    return (
        f'<!DOCTYPE html><html lang="{story.lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(story.title)}</title>"
        f'<meta property="og:site_name" content="{site}"></head><body>'
        '<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>'
        f"<article><h1>{html.escape(story.title)}</h1>{paras}</article>"
        "<footer>Copyright Test Gazette. All rights reserved. Contact us.</footer></body></html>"
    )


def rss(title: str, items: list[tuple[str, str, str]], when: datetime | None = None) -> str:
    """RSS 2.0 with (title, link, guid) items, newest first."""
    when = when or datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    out = []
    for i, (t, link, guid) in enumerate(items):
        date = format_datetime(when - timedelta(hours=i))
        out.append(
            f"<item><title>{html.escape(t)}</title><link>{html.escape(link)}</link>"
            f'<guid isPermaLink="false">{html.escape(guid)}</guid><pubDate>{date}</pubDate>'
            f"<description>{html.escape(t)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title><link>http://example.test/</link>{''.join(out)}</channel></rss>"
    )


def serve_feed(server: Server, path: str, title: str, items: list[tuple[str, str, str]]) -> str:
    """Serve an RSS feed of (title, link, guid) items at path; returns its URL."""
    return server.route(path, rss(title, items), headers={"Content-Type": "application/rss+xml"})


def closed_port() -> int:
    """A loopback port with nothing listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp: Path, feeds: list[tuple[str, str]], extra: str = "") -> Path:
    """A config with the shipped topic (seeded from the project's seeds/) and the given feeds."""
    shipped = (ROOT / "config.toml").read_text(encoding="utf-8")
    topic = shipped[shipped.index("# --- topics: begin") : shipped.index("# --- topics: end")]
    topic = topic.replace('"seeds/', f'"{ROOT}/seeds/')
    feed_text = "".join(f'[[feeds]]\nname = "{n}"\nurl = "{u}"\n\n' for n, u in feeds)
    text = (
        '[storage]\ndb = "seen.db"\n\n[http]\nallow_private_addresses = true\nmin_host_gap = 0.0\n'
        "read_timeout = 5\nconnect_timeout = 2\n\n[extract]\nworkers = 1\n\n"
        f'[digest]\ndir = "digests"\nformats = ["markdown"]\n\n{extra}\n{feed_text}{topic}'
    )
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path
