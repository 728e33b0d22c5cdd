"""Extraction throughput: extract_article on one core, ExtractPool on all cores, and the floor.

The floor (issue 7) is plain ``trafilatura.extract`` in a ``ProcessPoolExecutor`` with as many
workers; the pool should reach at least 0.9x of it.  Pages come from ../shared/fixtures (the Zyte
article benchmark) or, when that is absent, are generated.

    .venv/bin/python bench/extract.py [--rounds 3] [--workers N] [--limit N]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import logging
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher.config import ExtractConfig  # noqa: E402
from watcher.extract import ExtractPool, extract_article  # noqa: E402

FIXTURES = ROOT.parent / "shared" / "fixtures" / "html" / "article-extraction-benchmark"
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
        return pages[:limit], f"{FIXTURES.relative_to(ROOT.parent)}"
    return generated_pages(limit or 120), "generated pages (../shared is absent)"


def generated_pages(n: int) -> list[Page]:
    """Article-shaped pages with navigation, a body of a dozen paragraphs and a footer."""
    pages = []
    for i in range(n):
        paras = "".join(
            f"<p>Paragraph {j} of story {i}: officials in the region said on Tuesday that the number of "
            f"arrivals had grown for the {j + 2}th month in a row, and that shelters were full.</p>"
            for j in range(12)
        )
        nav = "".join(f"<li><a href='/s{k}'>Section {k}</a></li>" for k in range(30))
        html = (
            f"<html lang='en'><head><title>Story {i}</title></head><body><nav><ul>{nav}</ul></nav>"
            f"<article><h1>Story {i}</h1>{paras}</article><footer>(c) Example News</footer></body></html>"
        )
        pages.append((html.encode(), f"https://news.example/{i}"))
    return pages


def floor_extract(page: Page) -> int:
    """Plain trafilatura.extract, as the floor measures it."""
    import trafilatura

    text = trafilatura.extract(page[0], url=page[1])
    return len(text or "")


def floor_same_options(page: Page) -> int:
    """trafilatura.extract with the options extract_article uses (metadata, precision, no comments)."""
    import trafilatura

    text = trafilatura.extract(
        page[0],
        url=page[1],
        with_metadata=True,
        include_comments=False,
        favor_precision=True,
        output_format="json",
    )
    return len(text or "")


def bench_inprocess(cfg: ExtractConfig, pages: list[Page], rounds: int) -> float:
    extract_article(pages[0][0], pages[0][1], cfg=cfg)  # imports and first-use caches
    start = time.perf_counter()
    for _ in range(rounds):
        for html, url in pages:
            extract_article(html, url, cfg=cfg)
    return rounds * len(pages) / (time.perf_counter() - start)


def bench_pool(
    cfg: ExtractConfig, pages: list[Page], rounds: int, workers: int
) -> tuple[float, float]:
    async def run() -> tuple[float, float]:
        start = time.perf_counter()
        async with ExtractPool(cfg, workers=workers) as pool:
            await asyncio.gather(*(pool.extract(h, u) for h, u in pages[:workers]))
            ready = time.perf_counter() - start
            start = time.perf_counter()
            for _ in range(rounds):
                await asyncio.gather(*(pool.extract(h, u) for h, u in pages))
            return rounds * len(pages) / (time.perf_counter() - start), ready

    return asyncio.run(run())


def bench_floor(fn: object, pages: list[Page], rounds: int, workers: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx) as ex:
        list(ex.map(fn, pages[:workers]))  # type: ignore[call-overload]
        start = time.perf_counter()
        for _ in range(rounds):
            list(ex.map(fn, pages))  # type: ignore[call-overload]
        return rounds * len(pages) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="0: one per core")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N pages")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # trafilatura's "discarding data" lines are not the benchmark
    cfg = ExtractConfig(workers=args.workers)
    workers = ExtractPool(cfg).size
    pages, origin = load_pages(args.limit)
    mib = sum(len(h) for h, _ in pages) / 2**20
    print(
        f"{len(pages)} pages ({mib:.1f} MiB) from {origin}; {args.rounds} rounds; {workers} workers"
    )
    print(f"  cores visible: {os.cpu_count()}")

    one = bench_inprocess(cfg, pages, args.rounds)
    print(f"extract_article, in-process, one core : {one:7.1f} pages/s")
    pool, ready = bench_pool(cfg, pages, args.rounds, workers)
    print(
        f"ExtractPool, {workers} workers             : {pool:7.1f} pages/s  (start-up {ready:.2f} s)"
    )
    floor = bench_floor(floor_extract, pages, args.rounds, workers)
    print(f"floor: trafilatura.extract, PPE         : {floor:7.1f} pages/s")
    same = bench_floor(floor_same_options, pages, args.rounds, workers)
    print(f"floor, same options (metadata, precision): {same:7.1f} pages/s")
    print(f"pool / in-process   : {pool / one:5.2f}x")
    print(f"pool / floor        : {pool / floor:5.2f}x  (target >= 0.90)")
    print(f"pool / floor, same  : {pool / same:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
