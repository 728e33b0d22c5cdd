"""How fast the review pages render over a big store (issue 14: target < 200 ms a page).

Fills an SQLite file with N stored articles (default 50,000) in 40 feeds: every one scored, ~4 % of
them matches, ~8 % near misses, a few labels and digests; then serves the site with uvicorn on
127.0.0.1 and times each page over HTTP (median and worst of --runs requests, after one warm-up).

Baseline, same run, same file: the same pages with the indexes the serve migration adds dropped
(``ix_scores_topic_scored``, ``ix_matches_matched``), so the ratio shows what they buy.

    .venv/bin/python bench/serve.py [--articles 50000] [--runs 15]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.serve_helpers import running
from watcher import config, store
from watcher.store import schema

ROOT = Path(__file__).resolve().parents[1]
WORDS = [
    *[
        "russia",
        "moscow",
        "afghan",
        "afghanistan",
        "migrant",
        "migrants",
        "labour",
        "quota",
        "permit",
        "visa",
        "refugee",
        "kabul",
    ],
    *[
        "taliban",
        "trade",
        "wheat",
        "tram",
        "city",
        "council",
        "budget",
        "school",
        "weather",
        "football",
        "election",
        "market",
    ],
]
INDEXES = ("ix_scores_topic_scored", "ix_matches_matched")


def fill(engine: sa.Engine, n: int, topic: str, threshold: float, seed: int = 7) -> int:
    """N articles as the pipeline stores them; returns the id of a matched entry."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.feeds),
            [
                {"id": i, "url": f"https://feed{i}.example/rss", "name": f"Wire {i}", "created_at": now,
                 "last_status": "ok", "last_success_at": now, "next_poll_at": now + timedelta(minutes=15)}
                for i in range(1, 41)
            ],
        )  # fmt: skip
        batch = 5000
        for start in range(1, n + 1, batch):
            ids = range(start, min(n + 1, start + batch))
            entries, articles, entry_feeds, scores, matches = [], [], [], [], []
            for i in ids:
                seen = now - timedelta(minutes=i * 2)
                feed = 1 + i % 40
                title = " ".join(rng.choices(WORDS, k=8)).capitalize()
                text = " ".join(rng.choices(WORDS, k=220))
                entries.append({"id": i, "feed_id": feed, "url": f"https://news.example/{i}",
                                "link": f"https://news.example/{i}", "title": title,
                                "summary": text[:300], "published_at": seen,
                                "first_seen_at": seen})  # fmt: skip
                articles.append({"entry_id": i, "status": "ok", "source": "trafilatura",
                                 "extractor_version": "2.0.0", "title": title, "text": text,
                                 "language": rng.choice(("en", "en", "ru")), "fetched_at": seen})  # fmt: skip
                entry_feeds.append({"entry_id": i, "feed_id": feed, "seen_at": seen})
                if i % 7 == 0:
                    entry_feeds.append({"entry_id": i, "feed_id": 1 + (i + 3) % 40, "seen_at": seen})
                roll = rng.random()
                score = (
                    threshold + rng.random() * (1 - threshold)
                    if roll < 0.04
                    else threshold - rng.random() * 0.15
                    if roll < 0.12
                    else rng.random() * (threshold - 0.15)
                )
                details = json.dumps(
                    {"topic": topic, "score": score, "groups": {"russia": ["moscow"], "afghan": ["afgha*"],
                     "migration": ["migrant"] if score > 0.2 else []},
                     "strengths": {"russia": 0.63, "afghan": 0.86, "migration": 0.9},
                     "similarity_score": 0.4, "similarity_weight": 0.1, "nearest_seed": "000_seed"}
                )  # fmt: skip
                scores.append(
                    {"entry_id": i, "topic": topic, "score": score, "details": details, "scored_at": seen}
                )
                if score >= threshold:
                    matches.append({"entry_id": i, "topic": topic, "score": score, "details": details,
                                    "reasons": "russia: moscow", "matched_at": seen,
                                    "digest_id": None})  # fmt: skip
            conn.execute(sa.insert(schema.entries), entries)
            conn.execute(sa.insert(schema.articles), articles)
            conn.execute(sa.insert(schema.entry_feeds), entry_feeds)
            conn.execute(sa.insert(schema.scores), scores)
            if matches:
                conn.execute(sa.insert(schema.matches), matches)
        first = conn.execute(sa.select(sa.func.min(schema.matches.c.entry_id))).scalar_one()
        conn.execute(sa.text("ANALYZE"))
    return int(first)


def time_pages(base: str, pages: list[tuple[str, str]], runs: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        for name, path in pages:
            assert client.get(path).status_code == 200, path  # warm-up (and the page works)
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                r = client.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
            out[name] = times
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config.load(ROOT / "config.toml", db=str(Path(tmp) / "bench.db"))
        cfg = dataclasses.replace(cfg, feeds=())
        topic = cfg.topics[0]
        engine = store.open_db(cfg.db_url)
        t = time.perf_counter()
        entry = fill(engine, args.articles, topic.name, topic.threshold)
        size = (Path(tmp) / "bench.db").stat().st_size / 2**20
        print(f"filled {args.articles} articles in {time.perf_counter() - t:.1f} s ({size:.0f} MiB)")
        pages = [
            ("matches /", "/"),
            ("matches, 2nd page", f"/?offset={cfg.serve.page_size}"),
            ("matches ?language=ru&min_score=0.8", "/?language=ru&min_score=0.8"),
            ("matches ?feed=7", "/?feed=7"),
            ("matches ?from..to (a week)", _week()),
            ("near misses", "/near"),
            ("article", f"/article/{entry}"),
            ("feeds", "/feeds"),
            ("try (form)", "/try"),
            ("digests", "/digests"),
        ]
        with running(cfg, engine) as base:
            indexed = time_pages(base, pages, args.runs)
        with engine.begin() as conn:
            for name in INDEXES:
                conn.execute(sa.text(f"DROP INDEX {name}"))
            conn.execute(sa.text("ANALYZE"))
        with running(cfg, engine) as base:
            bare = time_pages(base, pages, max(3, args.runs // 3))
    print(f"{'page':38} {'median ms':>9} {'worst ms':>9} {'no-index ms':>11} {'ratio':>6}")
    for name, _ in pages:
        med, worst = statistics.median(indexed[name]), max(indexed[name])
        base_med = statistics.median(bare[name])
        flag = "" if med < 200 else "  over 200 ms"
        print(f"{name:38} {med:9.1f} {worst:9.1f} {base_med:11.1f} {base_med / med:5.1f}x{flag}")
    print(f"target: every page under 200 ms with {args.articles} stored articles (median over {args.runs})")
    return 0


def _week() -> str:
    today = datetime.now(UTC).date()
    return f"/?from={today - timedelta(days=7)}&to={today}"


if __name__ == "__main__":
    sys.exit(main())
