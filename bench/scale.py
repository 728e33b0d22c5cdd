"""Scale (issue 13): what one PostgreSQL carries with several `watcher run` workers, beside the
single SQLite daemon.

In one run, for each table size (default 10,000 and 100,000 feeds):

  claim+record  the store's cost per feed of one poll that finds nothing new: ``claim_due`` in
                batches of 200, then the 304's state written (``apply_updates``, 64 a transaction,
                as the pipeline does); SQLite and PostgreSQL;
  gated         with --gap G: the most workers again with http.min_host_gap = G, every request
                start reserved in the shared ``hosts`` table (the fleet's politeness, its cost);
  slots         with --slots: the cost of the fleet's per-host concurrency gate (issue 13b), one
                request's take + release of a ``host_slots`` row, and of the gap's ``hosts`` UPSERT,
                beside the cheapest round trip (``SELECT 1`` in a transaction) as the baseline;
                sequential, and 4 threads at once (a worker's gate pool) over 50 hosts;
  polled/s      whole `watcher run` processes (1, 2, 4 workers on PostgreSQL; the single daemon on
                SQLite as the baseline) over a farm that answers every conditional GET with 304;
                every feed is due at the start; feeds polled a second, measured from the database
                between 5 % of the way and the end of the window; CPU a poll of the workers and
                of the PostgreSQL server over the same stretch (start-up excluded; the server's
                includes this script's once-a-second count of polled feeds).

The farm is an asyncio server in its own process on 50 loopback addresses (127.0.0.2 …), so the
per-host limit does not serialise it; ``http.min_host_gap = 0`` and ``per_host_concurrency = 8``
for every run alike.  PostgreSQL is a throwaway server started like the tests' (tests/pg.py), with
fsync on and ``synchronous_commit = off`` — the same durability class as the SQLite store's WAL with
``synchronous = NORMAL`` (a power cut may lose the last commits, never corrupts), so like for like.
The machine is shared: compare figures within one run.

    .venv/bin/python bench/scale.py [--sizes 10000,100000] [--workers 1,2,4] [--window 25]
                                    [--gap 0.01] [--slots] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from tests.pg import PgServer, _bindir  # noqa: E402
from watcher import hostgate, store  # noqa: E402
from watcher.config import HttpConfig, ScheduleConfig  # noqa: E402
from watcher.http import Fetcher  # noqa: E402
from watcher.models import FetchResult, FetchStatus  # noqa: E402
from watcher.schedule import after_poll  # noqa: E402
from watcher.store import feeds as store_feeds  # noqa: E402
from watcher.store import workers as store_workers  # noqa: E402
from watcher.store.schema import feeds  # noqa: E402

HOSTS = [f"127.0.0.{i}" for i in range(2, 52)]
ETAG = '"v1"'
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title></channel></rss>'


# ------------------------------------------------------------------ the 304 farm (its own process)


def _serve(port: int, conn: Connection) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                fresh = f"if-none-match: {ETAG}".encode() in head.lower()
                status, body = (b"304 Not Modified", b"") if fresh else (b"200 OK", FEED)
                writer.write(
                    b"HTTP/1.1 "
                    + status
                    + b"\r\nContent-Type: application/rss+xml\r\nETag: "
                    + ETAG.encode()
                    + b"\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\nConnection: keep-alive\r\n\r\n"
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        servers = [await asyncio.start_server(handle, h, port, backlog=1024) for h in HOSTS]
        conn.send("ready")
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


def start_farm() -> tuple[mp.Process, int]:
    import socket

    with socket.socket() as s:
        s.bind((HOSTS[0], 0))
        port = int(s.getsockname()[1])
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_serve, args=(port, child), daemon=True)
    proc.start()
    if not parent.poll(30) or parent.recv() != "ready":
        raise SystemExit("the farm did not start")
    return proc, port


# ------------------------------------------------------------------ the database


def seed(engine: sa.Engine, n: int, port: int) -> None:
    """n feeds over the farm's hosts, each with the ETag the farm answers 304 to."""
    now = datetime.now(UTC)
    rows = [
        {
            "url": f"http://{HOSTS[i % len(HOSTS)]}:{port}/f/{i}.xml",
            "source": "added",
            "etag": ETAG,
            "last_status": "ok",
            "last_success_at": now,
            "last_unconditional_at": now,
            "next_poll_at": now,
            "created_at": now,
        }
        for i in range(n)
    ]
    with engine.begin() as conn:
        for i in range(0, n, 5000):
            conn.execute(sa.insert(feeds), rows[i : i + 5000])
    analyze(engine)


def analyze(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(sa.text("VACUUM ANALYZE feeds" if store.is_postgres(engine) else "ANALYZE"))


def make_due(engine: sa.Engine) -> datetime:
    """Every feed due now, no lease held; the time it was done."""
    at = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.update(feeds).values(
                next_poll_at=at - timedelta(seconds=1),
                lease_until=None,
                lease_owner=None,
                last_polled_at=None,
            )
        )
    analyze(engine)
    return datetime.now(UTC)


def polled_since(engine: sa.Engine, at: datetime) -> int:
    with engine.connect() as conn:
        q = sa.select(sa.func.count()).select_from(feeds).where(feeds.c.last_polled_at >= at)
        return int(conn.execute(q).scalar_one())


def claim_record_cost(engine: sa.Engine, batches: int = 25, batch: int = 200) -> dict[str, float]:
    """Milliseconds per feed: claim (batches of 200) and record a 304 (64 states a transaction)."""
    make_due(engine)
    cfg, rng = ScheduleConfig(), random.Random(1)
    claim_s = record_s = 0.0
    n = 0
    for _ in range(batches):
        now = datetime.now(UTC)
        t = time.perf_counter()
        got = store_feeds.claim_due(engine, now=now, owner="bench", lease_seconds=600, limit=batch)
        claim_s += time.perf_counter() - t
        updates = []
        for f in got:
            result = FetchResult(f.url, FetchStatus.NOT_MODIFIED, http_status=304, etag=f.etag)
            update = after_poll(
                f,
                result,
                parsed=None,
                new_entries=0,
                known_entries=0,
                publish_times=[],
                body_hash=None,
                now=now,
                cfg=cfg,
                rng=rng,
            )
            assert f.id is not None
            updates.append((f.id, update))
        t = time.perf_counter()
        for i in range(0, len(updates), 64):
            with engine.begin() as conn:
                store_feeds.apply_updates(conn, updates[i : i + 64])
        record_s += time.perf_counter() - t
        n += len(got)
    return {"claim_ms": 1000 * claim_s / n, "record_ms": 1000 * record_s / n, "feeds": n}


def gate_cost(engine: sa.Engine, rounds: int = 400, threads: int = 4) -> dict[str, float]:
    """Milliseconds per request of the fleet gate's round trips, beside a bare one (PostgreSQL):
    all three as the gate makes them, one autocommitted statement each."""
    auto = engine.execution_options(isolation_level="AUTOCOMMIT")
    gate = hostgate.FleetGate(engine)

    def bare(i: int) -> None:
        with auto.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def slot(i: int) -> None:
        host = HOSTS[i % len(HOSTS)]
        got = gate.take_now(host, 8, 160.0)
        assert got is not None, "bench: a slot must be free"
        gate.release_now(host, got)

    def gap(i: int) -> None:
        with auto.connect() as conn:
            store_workers.reserve_host(conn, HOSTS[i % len(HOSTS)], 0.0)

    out: dict[str, float] = {}
    for name, fn in (("bare", bare), ("slot", slot), ("gap", gap)):
        fn(0)  # warm the pool and the plan
        t = time.perf_counter()
        for i in range(rounds):
            fn(i)
        out[f"{name}_ms"] = 1000 * (time.perf_counter() - t) / rounds
        with ThreadPoolExecutor(threads) as pool:
            t = time.perf_counter()
            list(pool.map(fn, range(rounds)))
        out[f"{name}_ms_{threads}threads"] = 1000 * (time.perf_counter() - t) / rounds
    gate.close()
    return out


def fetch_through_gate(url: str, port: int, n: int = 3000) -> dict[str, float]:
    """Conditional GETs a second from one Fetcher over the farm's 50 hosts, without and with the
    fleet gate (slots only, gap 0): the same Fetcher, settings and farm, so like for like."""
    cfg = HttpConfig(
        allow_private_addresses=True, per_host_concurrency=8, concurrency=64, min_host_gap=0.0
    )
    urls = [f"http://{HOSTS[i % len(HOSTS)]}:{port}/feed/{i}" for i in range(n)]

    async def run(gate: hostgate.FleetGate | None) -> float:
        async with Fetcher(cfg, host_slots=gate) as fetcher:
            t = time.perf_counter()
            got = await asyncio.gather(*(fetcher.get(u, etag=ETAG) for u in urls))
            wall = time.perf_counter() - t
        assert all(r.http_status == 304 for r in got), "bench: the farm answers 304"
        return n / wall

    engine = store.open_db(url)
    try:
        asyncio.run(run(None))  # warm: connections, imports
        plain = asyncio.run(run(None))
        with hostgate.FleetGate(engine) as gate:
            asyncio.run(run(gate))
            gated = asyncio.run(run(gate))
    finally:
        engine.dispose()
    return {"plain_per_s": plain, "gated_per_s": gated}


# ------------------------------------------------------------------ whole worker processes


def write_config(folder: Path, gap: float = 0.0) -> Path:
    path = folder / f"config-{gap}.toml"
    path.write_text(
        f'[storage]\ndb = "unused.db"\n\n[http]\nallow_private_addresses = true\nmin_host_gap = {gap}\n'
        "per_host_concurrency = 8\nconcurrency = 64\n\n[extract]\nworkers = 1\n"
        'fetch_articles = false\n\n[schedule]\npoll_interval = 1\nmin_interval = "1h"\n'
        'max_interval = "2h"\nunconditional_every = "30d"\n\n[digest]\ndir = "digests"\n'
        'formats = ["markdown"]\n',
        encoding="utf-8",
    )
    return path


def _ticks(pid: int) -> tuple[int, int, int]:
    """(own CPU, reaped children's CPU, ppid) of a process, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]), int(fields[1])


def server_cpu(pg: PgServer | None) -> float:
    """CPU seconds used so far by the PostgreSQL server: postmaster, live and exited backends."""
    if pg is None:
        return 0.0
    master = int((pg.data / "postmaster.pid").read_text().split()[0])
    own, reaped, _ = _ticks(master)
    total = own + reaped
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(master):
            try:
                cpu, _, ppid = _ticks(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
            if ppid == master:
                total += cpu
    return total / os.sysconf("SC_CLK_TCK")


def polled_per_second(
    engine: sa.Engine, url: str, workers: int, n: int, config: Path, window: float, pg: PgServer | None
) -> dict[str, float]:
    start = make_due(engine)
    env = {k: v for k, v in os.environ.items() if k not in ("WATCHER_DB", "WATCHER_CONFIG")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "watcher", "-q", "run", "--config", str(config), "--db", url],
            cwd=config.parent,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    samples: list[tuple[float, int]] = []
    first: float | None = None
    cpu_at: tuple[int, float, float] | None = None  # (count, workers' CPU, server's CPU) at 5 %
    try:
        while True:
            count = polled_since(engine, start)
            now = time.monotonic()
            samples.append((now, count))
            if count and first is None:
                first = now
            if cpu_at is None and count >= 0.05 * min(n, window * 300):
                cpu_at = (count, _cpu(procs), server_cpu(pg))  # start-up excluded
            if count >= n or (first is not None and now - first >= window):
                cpu_end = (count, _cpu(procs), server_cpu(pg))
                break
            if first is None and len(samples) > 100:
                raise SystemExit("the workers polled nothing in 100 s")
            time.sleep(1.0)  # the count scans the table: sampled once a second, it stays cheap
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(60)
    final = samples[-1][1]
    t0, c0 = next((t, c) for t, c in samples if c >= 0.05 * final)
    t1, c1 = samples[-1]
    rate = (c1 - c0) / (t1 - t0) if t1 > t0 else float("nan")
    assert cpu_at is not None
    steady = max(cpu_end[0] - cpu_at[0], 1)
    return {
        "polled_per_s": rate,
        "polled": final,
        "worker_cpu_ms_per_feed": 1000 * (cpu_end[1] - cpu_at[1]) / steady,
        "server_cpu_ms_per_feed": 1000 * (cpu_end[2] - cpu_at[2]) / steady,
    }


def _cpu(procs: list[subprocess.Popen[bytes]]) -> float:
    """CPU seconds used so far by the worker processes (and helpers they reaped)."""
    total = 0
    for p in procs:
        own, reaped, _ = _ticks(p.pid)
        total += own + reaped
    return total / os.sysconf("SC_CLK_TCK")


def _show(n: int, name: str, what: str, r: dict[str, float]) -> None:
    print(
        f"{n:>7} feeds {name:<10} {what}: {r['polled_per_s']:7.0f} feeds/s "
        f"({r['polled']:.0f} polled; CPU/feed: workers {r['worker_cpu_ms_per_feed']:.2f} ms, "
        f"PostgreSQL {r['server_cpu_ms_per_feed']:.2f} ms)",
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--window", type=float, default=25.0, help="seconds of polling measured per run")
    ap.add_argument(
        "--gap", type=float, default=0.0, help="also run the most workers with this min_host_gap (fleet gate)"
    )
    ap.add_argument("--slots", action="store_true", help="also measure the fleet's per-host slot gate")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    counts = [int(w) for w in args.workers.split(",")]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop workers, farm and server
    bindir = _bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
    pg = PgServer(bindir, settings="-c synchronous_commit=off").start()
    farm, port = start_farm()
    results: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="watcher-scale-") as tmp:
            config = write_config(Path(tmp))
            gated = write_config(Path(tmp), args.gap)
            for n in sizes:
                sqlite_url = f"sqlite:///{tmp}/scale-{n}.db"
                pg_url = pg.create_database(f"scale{n}_")
                for name, url in (("sqlite", sqlite_url), ("postgresql", pg_url)):
                    engine = store.open_db(url)
                    seed(engine, n, port)
                    cost = claim_record_cost(engine)
                    results.append({"feeds": n, "db": name, "what": "claim+record", **cost})
                    print(
                        f"{n:>7} feeds {name:<10} claim {cost['claim_ms']:.3f} ms/feed, "
                        f"record {cost['record_ms']:.3f} ms/feed",
                        flush=True,
                    )
                    if name == "postgresql" and args.slots:
                        g = gate_cost(engine)
                        results.append({"feeds": n, "db": name, "what": "gate", **g})
                        print(
                            f"{n:>7} feeds {name:<10} per request: slot take+release {g['slot_ms']:.3f} ms "
                            f"({g['slot_ms'] / g['bare_ms']:.2f}x a bare round trip, {g['bare_ms']:.3f} ms), "
                            f"gap UPSERT {g['gap_ms']:.3f} ms; 4 threads: slot {g['slot_ms_4threads']:.3f}, "
                            f"bare {g['bare_ms_4threads']:.3f}, gap {g['gap_ms_4threads']:.3f} ms/request",
                            flush=True,
                        )
                        f = fetch_through_gate(url, port)
                        results.append({"feeds": n, "db": name, "what": "fetcher", **f})
                        print(
                            f"{n:>7} feeds {name:<10} one Fetcher, 304s: {f['plain_per_s']:.0f} GET/s alone, "
                            f"{f['gated_per_s']:.0f} GET/s through the slot gate "
                            f"({f['gated_per_s'] / f['plain_per_s']:.2f}x)",
                            flush=True,
                        )
                    runs = [1] if name == "sqlite" else counts
                    for w in runs:
                        r = polled_per_second(
                            engine, url, w, n, config, args.window, pg if name == "postgresql" else None
                        )
                        results.append({"feeds": n, "db": name, "workers": w, **r})
                        _show(n, name, f"{w} worker(s)", r)
                    if name == "postgresql" and args.gap:  # the same, through the fleet's host gate
                        w = max(counts)
                        r = polled_per_second(engine, url, w, n, gated, args.window, pg)
                        results.append({"feeds": n, "db": name, "gated_workers": w, **r})
                        _show(n, name, f"{w} worker(s), shared host gap {args.gap} s", r)
                    engine.dispose()
    finally:
        farm.terminate()
        pg.stop()
    print("\nfeeds/s, PostgreSQL workers vs the single SQLite daemon (same table size, same run):")
    for n in sizes:
        base = next(
            r["polled_per_s"] for r in results if r["feeds"] == n and r.get("workers") and r["db"] == "sqlite"
        )
        for r in results:
            if r["feeds"] == n and r["db"] == "postgresql" and r.get("workers"):
                at15 = r["polled_per_s"] * 900
                print(
                    f"  {n:>7} feeds, {r['workers']} worker(s): {r['polled_per_s']:6.0f}/s = "
                    f"{r['polled_per_s'] / base:4.2f}x SQLite; at a 15-minute interval: {at15:,.0f} feeds"
                )
        for g in (r for r in results if r["feeds"] == n and r.get("gated_workers")):
            plain = next(
                r["polled_per_s"]
                for r in results
                if r["feeds"] == n and r["db"] == "postgresql" and r.get("workers") == g["gated_workers"]
            )
            print(
                f"  {n:>7} feeds, {g['gated_workers']} worker(s) through the shared host gate: "
                f"{g['polled_per_s']:6.0f}/s = {g['polled_per_s'] / plain:4.2f}x the same without it"
            )
        pg_runs = [r for r in results if r["feeds"] == n and r["db"] == "postgresql" and r.get("workers")]
        server = min(r["server_cpu_ms_per_feed"] for r in pg_runs)
        worker = min(r["worker_cpu_ms_per_feed"] for r in pg_runs)
        print(
            f"  {n:>7} feeds: PostgreSQL spends {server:.2f} ms CPU a poll -> one server core carries "
            f"{1000 / server:,.0f} polls/s ({900_000 / server:,.0f} feeds at 15 min); a worker spends "
            f"{worker:.2f} ms -> {1000 / worker:,.0f} polls/s a worker core"
        )
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
