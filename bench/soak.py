"""Soak: many feeds with new items every cycle, many cycles, one daemon-like process.

Runs the daemon's cycle (pipeline.run_cycle_async with the long-lived extraction pool, feed parser
helper and topic models the daemon keeps) against a farm on 127.0.0.1, with article pages fetched
and extracted by the workers (real pages from ../shared/fixtures when present; --no-extract turns
it off), and prints the RSS of the main process and of main + extraction workers + parse helper:
after warm-up, final, and the growth after warm-up (target: under 10 % for each), with cycle-time
percentiles.  Workers are recycled after extract_pool.RECYCLE_AFTER pages, as in the daemon.

    .venv/bin/python bench/soak.py [--feeds 500] [--cycles 200] [--warmup 20] [--no-extract]
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


def pid_rss_kb(pid: int) -> int:
    """Resident set size of another process, in KiB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def soak(feeds: int, cycles: int, warmup: int, extract: bool) -> None:
    farm = Farm(feeds, items=20, real_pages=extract)
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
        extract=dataclasses.replace(base.extract, fetch_articles=extract),
    )
    engine = open_db(cfg.db_url)
    models = pipeline.build_models(cfg, engine)
    times: list[float] = []
    rss: list[int] = []
    total: list[int] = []  # main + workers + parse helper
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
            helpers = [*pool.worker_pids(), *([parser.pid] if parser.pid else [])]
            total.append(rss[-1] + sum(pid_rss_kb(pid) for pid in helpers))
            new_total += report.new_entries
            if i % 20 == 0 or i == cycles - 1:
                print(
                    f"cycle {i:4d}: {times[-1]:.2f} s, new {report.new_entries}, errors "
                    f"{len(report.errors)}, extraction fallbacks {report.extract_failures}, "
                    f"rss main {rss[-1] / 1024:.1f} MiB, with workers {total[-1] / 1024:.1f} MiB, "
                    f"feeds parsed by the helper {parser.sent} (restarts {parser.restarts}), "
                    f"worker restarts {pool.restarts}",
                    flush=True,
                )
    farm.stop()
    q = statistics.quantiles(times, n=100, method="inclusive")  # never past the max
    print()
    print(f"feeds={feeds} cycles={cycles} new_entries={new_total} extraction={'on' if extract else 'off'}")
    print(
        f"cycle time: p50 {q[49]:.3f} s, p90 {q[89]:.3f} s, p99 {q[98]:.3f} s, max {max(times):.3f} s"
    )
    for name, series in (("main process", rss), ("main + workers", total)):
        # Median of the few cycles around each end: one cycle's garbage or a worker being
        # recycled at that moment does not decide the figure.
        span = max(1, min(5, warmup // 2))
        start = statistics.median(series[warmup - span : warmup])
        end = statistics.median(series[-span:])
        print(
            f"rss {name}: after warm-up ({warmup} cycles) {start / 1024:.1f} MiB, final "
            f"{end / 1024:.1f} MiB, max {max(series) / 1024:.1f} MiB; growth after warm-up "
            f"{(end - start) / start * 100:+.1f} % (target < 10 %)"
        )
    print(f"peak rss of the main process: {peak_rss_kb() / 1024:.1f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--no-extract", action="store_true", help="feeds only: no article pages")
    args = ap.parse_args()
    asyncio.run(soak(args.feeds, args.cycles, args.warmup, not args.no_extract))


if __name__ == "__main__":
    main()
