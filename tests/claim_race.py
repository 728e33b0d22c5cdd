"""One of two poller processes racing for the feeds of one database (``python -m tests.claim_race``).

Arguments: CONFIG GO_FILE DEADLINE_SECONDS.  Waits for GO_FILE (so both start together), then runs
due-only poll cycles back to back until every feed has been polled once or the deadline passes;
prints {"polled": [feed URL, ...], "cycles": n} as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from watcher import config as config_mod
from watcher.extract_pool import ExtractPool
from watcher.parse_worker import FeedParser
from watcher.pipeline import run_cycle_async
from watcher.store import open_db
from watcher.store.schema import feeds


async def race(cfg: config_mod.Config, go: Path, deadline: float) -> dict[str, object]:
    engine = open_db(cfg.db_url)
    polled: list[str] = []
    cycles = 0
    async with ExtractPool(cfg.extract, workers=0) as pool, FeedParser(enabled=False) as parser:
        models = None
        while not go.exists():
            await asyncio.sleep(0.01)
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            report = await run_cycle_async(
                cfg, engine, due_only=True, models=models or [], pool=pool, parser=parser
            )
            cycles += 1
            polled += [f.feed for f in report.feeds]
            with engine.connect() as conn:
                left = conn.execute(
                    sa.select(sa.func.count()).where(feeds.c.last_polled_at.is_(None))
                ).scalar_one()
            if not left:
                break
            await asyncio.sleep(0.02)
    engine.dispose()
    return {"polled": polled, "cycles": cycles}


def main(argv: list[str]) -> int:
    cfg = config_mod.load(Path(argv[0]), environ={})
    print(json.dumps(asyncio.run(race(cfg, Path(argv[1]), float(argv[2])))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
