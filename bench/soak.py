"""Soak: many feeds with new items every cycle, many cycles, one daemon-like process.

Runs the daemon's cycle (pipeline.run_cycle_async with the long-lived extraction pool, feed parser
helper and topic models the daemon keeps) against a farm on 127.0.0.1 and prints peak and final RSS,
the RSS growth after warm-up (target: under 10 %) and cycle-time percentiles.

    .venv/bin/python bench/soak.py [--feeds 500] [--cycles 200]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.farm import Farm, peak_rss_kb, rss_kb
from watcher import config, pipeline
from watcher.extract_pool import ExtractPool
from watcher.parse_worker import FeedParser
from watcher.store import open_db

ROOT = Path(__file__).resolve().parents[1]


async def soak(feeds: int, cycles: int, warmup: int) -> None:
    farm = Farm(feeds, items=20, real_pages=False)
    tmp = Path(tempfile.mkdtemp(prefix="watcher-soak-"))
    base = config.load(ROOT / "config.toml", environ={})
    cfg = dataclasses.replace(
        base,
        db=str(tmp / "seen.db"),
        feeds=tuple(
            config.FeedConfig(url=u, name=f"farm {i}") for i, u in enumerate(farm.feed_urls())
        ),
        http=dataclasses.replace(
            base.http,
            allow_private_addresses=True,
            min_host_gap=0.0,
            per_host_concurrency=32,  # one host serves the whole farm; the global limit stays 32
        ),
        extract=dataclasses.replace(base.extract, fetch_articles=False),
    )
    engine = open_db(cfg.db_url)
    models = pipeline.build_models(cfg, engine)
    times: list[float] = []
    rss: list[int] = []
    new_total = 0
    async with (
        ExtractPool(cfg.extract) as pool,
        FeedParser.for_config(cfg.extract) as parser,
        httpx.AsyncClient() as client,
    ):
        for i in range(cycles):
            await client.get(farm.url("/_next"))
            t0 = time.perf_counter()
            report = await pipeline.run_cycle_async(
                cfg, engine, models=models, pool=pool, parser=parser
            )
            times.append(time.perf_counter() - t0)
            rss.append(rss_kb())
            new_total += report.new_entries
            if i % 20 == 0 or i == cycles - 1:
                print(
                    f"cycle {i:4d}: {times[-1]:.2f} s, new {report.new_entries}, errors "
                    f"{len(report.errors)}, rss {rss[-1] / 1024:.1f} MiB, feeds parsed by the "
                    f"helper {parser.sent} (restarts {parser.restarts})",
                    flush=True,
                )
    farm.stop()
    q = statistics.quantiles(times, n=100)
    after_warmup = rss[warmup - 1]
    growth = (rss[-1] - after_warmup) / after_warmup * 100
    print()
    print(f"feeds={feeds} cycles={cycles} new_entries={new_total}")
    print(
        f"cycle time: p50 {q[49]:.3f} s, p90 {q[89]:.3f} s, p99 {q[98]:.3f} s, max {max(times):.3f} s"
    )
    print(
        f"rss: after warm-up ({warmup} cycles) {after_warmup / 1024:.1f} MiB, "
        f"final {rss[-1] / 1024:.1f} MiB, "
        f"peak {peak_rss_kb() / 1024:.1f} MiB"
    )
    print(f"rss growth after warm-up: {growth:+.1f} % (target < 10 %)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    args = ap.parse_args()
    asyncio.run(soak(args.feeds, args.cycles, args.warmup))


if __name__ == "__main__":
    main()
