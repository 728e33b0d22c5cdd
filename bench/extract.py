"""Extraction throughput: extract_article on one core, ExtractPool on all cores, and the floor.

The floor is ``trafilatura.extract`` with the product's own settings (``extract.trafilatura_options``
for the chosen ``favor``: ``fast=True`` for the default "speed", no comments, no metadata pass) in a
``ProcessPoolExecutor`` with as many workers: like for like (issue 16), so the pool's figure
against it shows what the pool and watcher's quick metadata pass cost.  Rounds are interleaved
(pool, floor, in-process, then again) and the best round of each is kept, so a busy neighbour on
the machine disturbs all contenders alike.  Pages come from ../shared/fixtures (the Zyte article
benchmark) or, when that is absent, are generated.

    .venv/bin/python bench/extract.py [--rounds 3] [--workers N] [--limit N] [--favor speed]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gzip
import json
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher.config import ExtractConfig  # noqa: E402
from watcher.extract import extract_article, trafilatura_options  # noqa: E402
from watcher.extract_pool import ExtractPool  # noqa: E402

FIXTURES = ROOT.parent / "shared" / "fixtures" / "html" / "article-extraction-benchmark"
FAVOR = ("precision", "balanced", "recall", "speed")
Page = tuple[bytes, str]


def load_pages(limit: int | None) -> tuple[list[Page], str]:
    """The fixture pages, else generated ones."""
    truth = FIXTURES / "ground-truth.json"
    if truth.is_file():
        meta = json.loads(truth.read_text(encoding="utf-8"))
        pages = [
            (gzip.decompress((FIXTURES / "html" / f"{key}.html.gz").read_bytes()), value["url"])
            for key, value in sorted(meta.items())
        ]
        return pages[:limit], str(FIXTURES.relative_to(ROOT.parent))
    return generated_pages(limit or 120), "generated pages (../shared is absent)"


def generated_pages(n: int) -> list[Page]:
    """Article-shaped pages with navigation, a body of a dozen paragraphs and a footer."""
    pages = []
    for i in range(n):
        paras = "".join(
            f"<p>Paragraph {j} of story {i}: officials in the region said on Tuesday that the "
            f"number of arrivals had grown for the {j + 2}th month in a row, and that shelters "
            "were full.</p>"
            for j in range(12)
        )
        nav = "".join(f"<li><a href='/s{k}'>Section {k}</a></li>" for k in range(30))
        html = (
            f"<html lang='en'><head><title>Story {i}</title></head><body>"
            f"<nav><ul>{nav}</ul></nav><article><h1>Story {i}</h1>{paras}</article>"
            "<footer>(c) Example News</footer></body></html>"
        )
        pages.append((html.encode(), f"https://news.example/{i}"))
    return pages


def floor_extract(page: Page, favor: str) -> int:
    """trafilatura.extract alone, with the settings extract_article gives it (no metadata pass)."""
    import trafilatura

    return len(trafilatura.extract(page[0], url=page[1], **trafilatura_options(favor)) or "")


Sample = tuple[float, float]  # (pages per wall-clock second, CPU seconds per page)


def _cpu(pids: list[int]) -> float:
    """CPU seconds used so far by this process (all threads) and the given children (Linux)."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")  # no /proc: CPU figures are not available here
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


async def _sample(n: int, pids: list[int], run: Callable[[], Awaitable[object]]) -> Sample:
    cpu, start = _cpu(pids), time.perf_counter()
    await run()
    return n / (time.perf_counter() - start), (_cpu(pids) - cpu) / n


async def measure(
    cfg: ExtractConfig, pages: list[Page], rounds: int, workers: int
) -> tuple[dict[str, Sample], float]:
    """Best round of each contender (pages/s, CPU s/page), and the pool's start-up time."""
    samples: dict[str, list[Sample]] = {"one": [], "pool": [], "floor": []}
    plain = functools.partial(floor_extract, favor=cfg.favor)
    n = len(pages)
    start = time.perf_counter()
    async with ExtractPool(cfg, workers=workers) as pool:
        await asyncio.gather(*(pool.extract(h, u) for h, u in pages[:workers]))
        ready = time.perf_counter() - start
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx) as ex:
            list(ex.map(plain, pages[:workers]))
            extract_article(pages[0][0], pages[0][1], cfg=cfg)
            mine = pool.worker_pids()
            children = [p.pid for p in multiprocessing.active_children()]
            theirs = [pid for pid in children if pid is not None and pid not in mine]

            async def pooled() -> object:
                return await asyncio.gather(*(pool.extract(h, u) for h, u in pages))

            async def floor() -> object:
                return list(ex.map(plain, pages))

            async def here() -> object:
                return [extract_article(h, u, cfg=cfg) for h, u in pages]

            for _ in range(rounds):
                samples["pool"].append(await _sample(n, mine, pooled))
                samples["floor"].append(await _sample(n, theirs, floor))
                samples["one"].append(await _sample(n, [], here))
    best = {k: (max(r for r, _ in v), min(c for _, c in v)) for k, v in samples.items()}
    return best, ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="0: one per core")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N pages")
    parser.add_argument("--favor", default=ExtractConfig().favor, choices=FAVOR)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # trafilatura's "discarding data" lines are not measured
    cfg = ExtractConfig(workers=args.workers, favor=args.favor)
    workers = ExtractPool(cfg).size
    pages, origin = load_pages(args.limit)
    mib = sum(len(h) for h, _ in pages) / 2**20
    print(f"{len(pages)} pages ({mib:.1f} MiB) from {origin}")
    cores = os.cpu_count()
    print(f"favor={args.favor}; {workers} workers; {cores} cores; best of {args.rounds} rounds")
    best, ready = asyncio.run(measure(cfg, pages, args.rounds, workers))
    rows = [
        ("extract_article, in-process, 1 core", "one"),
        (f"ExtractPool, {workers} workers", "pool"),
        ("floor: trafilatura.extract (same settings), PPE", "floor"),
    ]
    print(f"  {'':<45} {'pages/s':>8} {'CPU ms/page':>12}")
    for name, key in rows:
        rate, cpu = best[key]
        print(f"  {name:<45} {rate:8.1f} {cpu * 1000:12.1f}")
    print(f"  pool start-up (spawn, import, warm-up): {ready:.2f} s")
    pool, one, floor = best["pool"], best["one"], best["floor"]
    print("ratios            wall-clock   by CPU per page (immune to a busy machine)")
    print(f"pool / in-process    {pool[0] / one[0]:5.2f}x      ({workers} workers)")
    by_cpu = floor[1] / pool[1]
    print(f"pool / floor         {pool[0] / floor[0]:5.2f}x      {by_cpu:5.2f}x   (target >= 0.80)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
