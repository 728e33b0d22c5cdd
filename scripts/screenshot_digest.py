#!/usr/bin/env python3
"""Render a sample HTML digest and screenshot it with headless Chromium (docs/digest.png).

The articles below are invented for this picture.  Needs Debian's ``chromium`` package
(``apt-get install -y chromium``).  Usage::

    .venv/bin/python scripts/screenshot_digest.py [--out docs/digest.png] [--html FILE]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher import digest, render  # noqa: E402
from watcher.digest import FeedProblem, Health, Stats  # noqa: E402
from watcher.models import StoredMatch  # noqa: E402

TOPIC = "Russia–Afghan migration"
NOW = datetime(2025, 3, 14, 4, 0, tzinfo=UTC)  # 07:00 in Moscow

PERMITS = (
    "Russia's interior ministry on Thursday tightened the rules for work permits held by migrants "
    "from Afghanistan, adding a Russian-language exam and a medical check to every renewal. "
    "About 38,000 Afghan citizens hold such permits, most of them in Moscow and Yekaterinburg. "
    "Officials said the change would make checks faster, while lawyers expect long queues at "
    "migration centres in April. Employers in construction and delivery said they had not "
    "been asked."
)
PERMITS_COPY = PERMITS.replace("on Thursday tightened", "has tightened").replace(
    "said they had not been asked.", "complained that they had not been consulted."
)
STUDENTS = (
    "The first group of forty Afghan students arrived in Kazan under a new university exchange, "
    "the regional government said. They will study engineering and medicine for five years. "
    "Visas were issued by the Russian embassy in Kabul, whose consular section reopened in "
    "January. "
    "Officials did not say how many more students were expected this year."
)
FLIGHTS = (
    "A private carrier plans weekly flights between Kabul and Moscow from May, the airline said. "
    "The route would be the first regular link since 2021 and is aimed at workers and traders. "
    "Afghan migrants currently travel through Dubai or Tashkent, which can double the fare. "
    "The civil aviation authority has yet to approve the schedule."
)
REMITTANCES = (
    "Правительство обсуждает новые правила денежных переводов для мигрантов из Афганистана. "
    "По словам экспертов, многие трудовые мигранты отправляют деньги семьям через посредников. "
    "Центральный банк предлагает упростить переводы через российские банки. "
    "Решение ожидается до конца весны."
)
QUEUE = (
    "Hundreds of Afghan workers queued outside a migration centre near Moscow on Wednesday to "
    "renew documents before new rules take effect. Several said they had waited since dawn. "
    "The centre extended its opening hours for the rest of the month."
)
GROUPS = {"migration": ["migrants", "work permits"], "place": ["Russia", "Afghanistan", "Moscow"]}


def _match(
    i: int,
    title: str,
    text: str,
    source: str,
    hours: float,
    score: float,
    lang: str = "en",
    **kw: object,
) -> StoredMatch:
    groups = kw.get("groups", GROUPS)
    return StoredMatch(
        match_id=i,
        entry_id=i,
        topic=TOPIC,
        score=score,
        reasons="",
        details={
            "groups": groups,
            "nearest_seed": str(kw.get("seed", "seed 003 (Kabul–Moscow labour)")),
            "seed_similarity": float(str(kw.get("sim", 0.58))),
        },
        url=f"https://{source.lower().replace(' ', '-')}.example/news/{i}",
        title=title,
        source=source,
        feed_url=f"https://{source.lower().replace(' ', '-')}.example/rss",
        language=lang,
        published=NOW - timedelta(hours=hours),
        first_seen=NOW - timedelta(hours=hours - 0.2),
        text=text,
    )


def sample() -> digest.Digest:
    """An invented morning: a syndicated story, a Russian article, a few others, feed trouble."""
    matches = [
        _match(
            1,
            "Russia adds language exam to Afghan migrants' work permits",
            PERMITS,
            "Northwire",
            13,
            0.81,
        ),
        _match(
            2, "Afghan workers face new permit exam", PERMITS_COPY, "The Daily Ledger", 11.5, 0.84
        ),
        _match(
            3,
            "Permit exam for Afghans announced",
            PERMITS_COPY + " More details are expected.",
            "Volga Courier",
            10,
            0.78,
        ),
        _match(
            4,
            "Мигрантам из Афганистана упростят денежные переводы",
            REMITTANCES,
            "Вести Поволжья",
            8,
            0.74,
            "ru",
            groups={"migration": ["мигрант"], "place": ["Афганистан"]},
            sim=0.49,
        ),
        _match(
            5, "Kabul–Moscow flights to resume in May", FLIGHTS, "Air Route News", 6, 0.63, sim=0.41
        ),
        _match(
            6,
            "Queues at Moscow migration centre ahead of rule change",
            QUEUE,
            "City Desk",
            15,
            0.59,
        ),
        _match(
            7,
            "Afghan students arrive in Kazan for engineering degrees",
            STUDENTS,
            "Kazan Today",
            20,
            0.52,
            groups={"place": ["Afghan", "Kazan"]},
            sim=0.37,
        ),
    ]
    return digest.build(
        matches,
        digest_id="20250314T040000Z-5a1e7c09",
        created_at=NOW,
        timezone="Europe/Moscow",
        max_items=4,
        summary_sentences=2,
        topics=[TOPIC],
        topic_words={TOPIC: ["migrant", "Afghan", "Russia", "permit", "мигрант", "Афганистан"]},
        health=Health(
            failing=(
                FeedProblem(
                    "Steppe Herald",
                    "https://steppe-herald.example/rss",
                    NOW - timedelta(days=2, hours=3),
                    31,
                    "HTTP 503 Service Unavailable",
                ),
            ),
            retired=(
                FeedProblem(
                    "Old Frontier Blog", "https://frontier.example/feed", None, 0, "HTTP 410 Gone"
                ),
            ),
        ),
        stats=Stats(cycles=96, feeds=42, polls=3900, errors=7, new_entries=1288, last_cycle_at=NOW),
    )


def page_height(chromium: str, html: Path, width: int, profile: Path) -> int:
    """The rendered height of the page, measured by Chromium itself (no image library needed)."""
    probe = html.with_name("probe.html")
    text = html.read_text(encoding="utf-8")
    script = "<script>document.title='H'+document.documentElement.scrollHeight;</script></body>"
    probe.write_text(text.replace("</body>", script), encoding="utf-8")
    out = subprocess.run(
        [chromium, *flags(profile), f"--window-size={width},800", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    m = re.search(r"<title>H(\d+)</title>", out)
    return int(m.group(1)) if m else 2000


def flags(profile: Path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "digest.png")
    parser.add_argument("--width", type=int, default=760)
    parser.add_argument("--html", type=Path, help="also keep the rendered HTML here")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium not found: apt-get update && apt-get install -y chromium", file=sys.stderr)
        return 1
    html = render.render(render.make_env(), "html", sample())
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "digest.html"
        page.write_text(html, encoding="utf-8")
        profile = Path(tmp) / "profile"
        profile.mkdir()
        height = page_height(chromium, page, args.width, profile)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                chromium,
                *flags(profile),
                f"--window-size={args.width},{height}",
                f"--screenshot={args.out.resolve()}",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
    if args.html:
        args.html.write_text(html, encoding="utf-8")
    print(f"wrote {args.out} ({args.width}x{height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
