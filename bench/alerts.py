"""Alerts (issue 15): what they add to a poll cycle, how soon a match reaches the endpoint, idle cost.

1. A whole demo cycle (bundled feeds on 127.0.0.1, extraction, matching, recording) with alerts
   delivered through Apprise to a local JSON endpoint, against the same cycle without alerts
   (baseline), rounds interleaved, best round of each kept: the ratio is the alerts' share.
2. Latency: from the end of the cycle that recorded the matches to the message arriving.
3. The daemon's idle look at alerts (nothing new) on a database of many considered matches.

    .venv/bin/python bench/alerts.py [--rounds 5] [--matches 20000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher import alerts, demo, pipeline  # noqa: E402
from watcher.config_alerts import AlertsConfig  # noqa: E402
from watcher.store import open_db, schema  # noqa: E402


class Endpoint:
    def __init__(self) -> None:
        self.arrived: list[float] = []
        ep = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ep.arrived.append(time.perf_counter())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"json://127.0.0.1:{self.httpd.server_address[1]}/"


def one_cycle(with_alerts: bool, ep: Endpoint, tmp: Path) -> tuple[float, float | None, int]:
    """(seconds for cycle [+ alerts], latency cycle end -> arrival, matches)."""
    with demo.packaged_config() as base, demo.serve(tuple(s for t in base.topics for s in t.seeds)) as feeds:
        out = Path(tempfile.mkdtemp(dir=tmp))
        cfg = demo.demo_config(base, out, feeds)
        cfg = dataclasses.replace(cfg, alerts=AlertsConfig(urls=(ep.url,), min_score=0.0))
        engine = open_db(cfg.db_url)
        floor = datetime.now(UTC) - timedelta(seconds=1)
        t0 = time.perf_counter()
        report = pipeline.run_cycle(cfg, engine)
        t1 = time.perf_counter()
        latency = None
        if with_alerts:
            before = len(ep.arrived)
            o = alerts.deliver(cfg, engine, now=datetime.now(UTC), environ={}, floor=floor)
            assert o.status == "sent", o
            latency = ep.arrived[before] - t1
        took = time.perf_counter() - t0
        engine.dispose()
    return took, latency, len(report.matches)


def idle_cost(n: int, tmp: Path, ep: Endpoint) -> tuple[float, float]:
    """(seconds to queue n new matches the first time, seconds for an idle look afterwards)."""
    engine = open_db(f"sqlite:///{tmp / 'idle.db'}")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        feed = sa.insert(schema.feeds).values(url="https://x.example/f", created_at=now)
        fid = conn.execute(feed).inserted_primary_key[0]
        rows = [
            {"feed_id": fid, "url": f"https://x.example/{i}", "link": f"https://x.example/{i}"}
            for i in range(n)
        ]
        conn.execute(sa.insert(schema.entries), [{**r, "first_seen_at": now} for r in rows])
        conn.execute(
            sa.insert(schema.matches),
            [{"entry_id": i + 1, "topic": "t", "score": 0.5, "matched_at": now} for i in range(n)],
        )
    with demo.packaged_config() as base:
        cfg = dataclasses.replace(base, alerts=AlertsConfig(urls=(ep.url,), min_score=0.9))
    t0 = time.perf_counter()
    alerts.deliver(cfg, engine, now=now, environ={}, floor=now - timedelta(days=1))
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        assert alerts.deliver(cfg, engine, now=now, environ={}).status == "idle"
        best = min(best, time.perf_counter() - t0)
    engine.dispose()
    return first, best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--matches", type=int, default=20000)
    args = ap.parse_args()
    ep = Endpoint()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        one_cycle(True, ep, tmp)  # warm-up: imports, Apprise plugins, extraction workers
        base, with_alerts, latencies = [], [], []
        matches = 0
        for _ in range(args.rounds):
            took, _, matches = one_cycle(False, ep, tmp)
            base.append(took)
            took, latency, _ = one_cycle(True, ep, tmp)
            with_alerts.append(took)
            assert latency is not None
            latencies.append(latency)
        first, idle = idle_cost(args.matches, tmp, ep)
    result = {
        "cycle_without_alerts_s": round(min(base), 3),
        "cycle_with_alerts_s": round(min(with_alerts), 3),
        "ratio": round(min(with_alerts) / min(base), 3),
        "matches_per_cycle": matches,
        "latency_cycle_end_to_arrival_ms": {
            "best": round(min(latencies) * 1000, 1),
            "median": round(sorted(latencies)[len(latencies) // 2] * 1000, 1),
        },
        f"first_look_at_{args.matches}_matches_ms": round(first * 1000, 1),
        f"idle_look_at_{args.matches}_considered_matches_ms": round(idle * 1000, 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
