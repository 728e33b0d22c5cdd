"""Polling throughput: watcher beside a naive loop and rss2email, over a feed farm on loopback.

Serves N feeds x M items (default 1,000 x 20) from a separate process on many loopback addresses
(127.0.0.2 ... 127.0.0.H, all loopback on Linux; the per-host limit would serialize a single-host
farm).  The farm answers conditional GETs with 304 and gzips when asked.  Two comparisons, each
like for like (issue 16):

  whole process, start to exit, as cron runs them (the headline):
    watcher   `watcher fetch` (a subprocess: imports, config, database, fetch, parse, store; no
              article pages, no topics), first poll, then --rounds re-polls of the unchanged farm;
    rss2email `r2e run --no-send` (a subprocess), the same (a real peer, installed in its own venv,
              default /tmp/r2e-venv: python3 -m venv /tmp/r2e-venv &&
              /tmp/r2e-venv/bin/pip install rss2email);
  in-process, after imports (the poll loop alone):
    watcher   run_cycle_async over a fresh database, first poll and unchanged re-poll;
    naive     the loop a user would write: sequential httpx + feedparser, first poll only.

Re-polls alternate watcher and rss2email and the median of each is kept, so a busy neighbour on
the machine disturbs both alike.  The farm counts, per host, the most simultaneous open
connections and requests in flight.

    .venv/bin/python bench/poll.py [--feeds 1000] [--items 20] [--hosts 500] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import multiprocessing as mp
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.farm import WORDS  # noqa: E402

LAST_MODIFIED = "Sun, 01 Nov 2026 00:00:00 GMT"


def feed_xml(host: str, port: int, feed: int, items: int) -> bytes:
    """One RSS 2.0 document with `items` items (about 0.6 KB each)."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for k in range(items):
        link = f"http://news{feed % 97}.example/{feed}/{k}.html?utm_source=rss"
        words = " ".join(WORDS[(feed + k + j) % len(WORDS)] for j in range(60))
        out.append(
            f"<item><title>Story {feed}-{k}: {WORDS[k % len(WORDS)]} {WORDS[feed % len(WORDS)]}"
            f"</title><link>{link}</link><guid isPermaLink='false'>farm-{feed}-{k}</guid>"
            f"<description>&lt;p&gt;{words}.&lt;/p&gt;</description>"
            f"<pubDate>{format_datetime(start - timedelta(hours=k))}</pubDate></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Farm feed {feed}</title><link>http://{host}:{port}/</link>"
        f"<description>bench</description>{''.join(out)}</channel></rss>"
    ).encode()


# ---------------------------------------------------------------- the farm (its own process)


class Farm:
    """Per-host connection and request counters of the serving process."""

    def __init__(self, hosts: list[str]) -> None:
        self.open = dict.fromkeys(hosts, 0)
        self.inflight = dict.fromkeys(hosts, 0)
        self.max_open = dict.fromkeys(hosts, 0)
        self.max_inflight = dict.fromkeys(hosts, 0)
        self.requests = 0
        self.connections = 0  # TCP connections accepted (keep-alive reuse shows as < requests)
        self.bytes_sent = 0
        self.cpu0 = time.process_time()

    def reset(self) -> None:
        for d in (self.max_open, self.max_inflight):
            for k in d:
                d[k] = 0
        self.requests = self.connections = self.bytes_sent = 0
        self.cpu0 = time.process_time()

    def snapshot(self) -> dict[str, Any]:
        return {
            "max_open": max(self.max_open.values()),
            "max_inflight": max(self.max_inflight.values()),
            "requests": self.requests,
            "connections": self.connections,
            "bytes_sent": self.bytes_sent,
            "farm_cpu": time.process_time() - self.cpu0,
        }


def _serve(hosts: list[str], port: int, feeds: int, items: int, conn: Connection) -> None:
    bodies: dict[str, tuple[bytes, bytes, str]] = {}
    for i in range(feeds):
        host = hosts[i % len(hosts)]
        body = feed_xml(host, port, i, items)
        bodies[f"{host}/feed/{i}.xml"] = (body, gzip.compress(body, 6), f'"f{i}-v1"')
    farm = Farm(hosts)

    async def handle(host: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        farm.open[host] += 1
        farm.connections += 1
        farm.max_open[host] = max(farm.max_open[host], farm.open[host])
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    break
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                farm.inflight[host] += 1
                farm.max_inflight[host] = max(farm.max_inflight[host], farm.inflight[host])
                farm.requests += 1
                await asyncio.sleep(0)  # let other requests overlap, as a real server would
                found = bodies.get(f"{host}{path}")
                extra = ""
                if found is None:
                    status, payload = "404 Not Found", b"not found"
                else:
                    body, zipped, etag = found
                    fresh = headers.get("if-none-match") == etag or (
                        "if-none-match" not in headers
                        and headers.get("if-modified-since") == LAST_MODIFIED
                    )
                    extra = f"ETag: {etag}\r\nLast-Modified: {LAST_MODIFIED}\r\n"
                    if fresh:
                        status, payload = "304 Not Modified", b""
                    elif "gzip" in headers.get("accept-encoding", ""):
                        status, payload = "200 OK", zipped
                        extra += "Content-Encoding: gzip\r\n"
                    else:
                        status, payload = "200 OK", body
                close = headers.get("connection", "").lower() == "close"
                response = (
                    f"HTTP/1.1 {status}\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
                    f"Content-Length: {len(payload)}\r\n{extra}"
                    f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
                ).encode() + payload
                farm.bytes_sent += len(response)
                writer.write(response)
                await writer.drain()
                farm.inflight[host] -= 1
                if close:
                    break
        finally:
            farm.open[host] -= 1
            writer.close()

    async def main() -> None:
        servers = []
        for host in hosts:
            servers.append(
                await asyncio.start_server(
                    lambda r, w, h=host: handle(h, r, w), host, port, backlog=1024
                )
            )
        conn.send("ready")
        loop = asyncio.get_running_loop()
        while True:
            ready = await loop.run_in_executor(None, conn.poll, 0.2)
            if not ready:
                continue
            command = conn.recv()
            if command == "stop":
                break
            if command == "reset":
                farm.reset()
                conn.send("ok")
            elif command == "stats":
                conn.send(farm.snapshot())
        for s in servers:
            s.close()

    asyncio.run(main())


def _free_port(hosts: list[str]) -> int:
    import socket

    for _ in range(50):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = int(s.getsockname()[1])
        try:
            probes = []
            for h in hosts:
                p = socket.socket()
                p.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probes.append(p)
                p.bind((h, port))
            return port
        except OSError:
            continue
        finally:
            for p in probes:
                p.close()
    raise RuntimeError("no port free on every loopback address")


class FarmProcess:
    def __init__(self, feeds: int, items: int, hosts: int) -> None:
        self.hosts = [f"127.0.{(i + 2) // 256}.{(i + 2) % 256}" for i in range(hosts)]
        self.port = _free_port(self.hosts)
        self.feeds, self.items = feeds, items
        self.conn, child = mp.Pipe()
        self.proc = mp.get_context("spawn").Process(
            target=_serve, args=(self.hosts, self.port, feeds, items, child), daemon=True
        )

    def __enter__(self) -> FarmProcess:
        self.proc.start()
        if not self.conn.poll(120) or self.conn.recv() != "ready":
            raise RuntimeError("the farm did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.send("stop")
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.terminate()

    def urls(self) -> list[str]:
        return [
            f"http://{self.hosts[i % len(self.hosts)]}:{self.port}/feed/{i}.xml"
            for i in range(self.feeds)
        ]

    def reset(self) -> None:
        self.conn.send("reset")
        self.conn.recv()

    def stats(self) -> dict[str, Any]:
        self.conn.send("stats")
        result: dict[str, Any] = self.conn.recv()
        return result


# ---------------------------------------------------------------- the pollers


def watcher_config(farm: FarmProcess, workdir: Path, args: argparse.Namespace) -> Path:
    """The config a cron user would write for this farm: its feeds, no topics, no article pages."""
    feeds = "".join(f'[[feeds]]\nurl = "{u}"\n' for u in farm.urls())
    path = workdir / "watcher.toml"
    path.write_text(
        f'[storage]\ndb = "{workdir / "cron.db"}"\n'
        f'[http]\nallow_networks = ["127.0.0.0/8"]\nmin_host_gap = {args.min_host_gap}\n'
        "[extract]\nfetch_articles = false\n\n" + feeds,
        encoding="utf-8",
    )
    return path


def run_process(argv: list[str], farm: FarmProcess) -> dict[str, Any]:
    """One whole process, start to exit: wall time, CPU time (its own and its children's)."""
    farm.reset()
    t0, c0 = time.perf_counter(), _children_cpu()
    proc = subprocess.run(argv, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - t0, _children_cpu() - c0
    out: dict[str, Any] = {"seconds": seconds, "cpu": cpu, "exit": proc.returncode, **farm.stats()}
    if proc.returncode:
        out["stderr"] = proc.stderr[-500:]
    return out


def watcher_fetch(config: Path) -> list[str]:
    return [sys.executable, "-m", "watcher", "fetch", "--json", "--config", str(config)]


def repoll_imports(config: Path) -> list[str]:
    """One more (untimed) unchanged re-poll under -X importtime: the heavy libraries it imported
    (issue 16: the stdlib store path imports no SQLAlchemy)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *watcher_fetch(config)[1:]], capture_output=True, text=True
    )
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if "|" in line}
    return sorted(n for n in ("sqlalchemy", "feedparser", "trafilatura", "jinja2") if n in names)


def rss2email_setup(farm: FarmProcess, workdir: Path, r2e: str) -> list[str] | str:
    """`r2e run --no-send` over a fresh r2e config holding the farm's feeds; or why it cannot run."""
    if not shutil.which(r2e) and not Path(r2e).exists():
        return f"skipped: {r2e} not found (see the module docstring to install rss2email)"
    cfg, data = workdir / "r2e.cfg", workdir / "r2e.json"
    base = [r2e, "-c", str(cfg), "-d", str(data)]
    subprocess.run([*base, "new", "bench@example.org"], check=True, capture_output=True)
    opml = workdir / "feeds.opml"
    outlines = "".join(
        f'<outline type="rss" text="f{i}" xmlUrl="{u}"/>' for i, u in enumerate(farm.urls())
    )
    opml.write_text(
        f'<?xml version="1.0"?><opml version="1.0"><head/><body>{outlines}</body></opml>'
    )
    subprocess.run([*base, "opmlimport", str(opml)], check=True, capture_output=True)
    return [*base, "run", "--no-send"]


def run_whole(farm: FarmProcess, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """watcher fetch and r2e run, each a whole process: first poll, then alternating re-polls."""
    config = watcher_config(farm, workdir, args)
    # Like for like: pip compiled rss2email's bytecode when it installed it; an editable install of
    # watcher under PYTHONDONTWRITEBYTECODE would recompile every module on every run.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "watcher")], check=True,
                   capture_output=True)  # fmt: skip
    r2e = "skipped" if args.skip_rss2email else rss2email_setup(farm, workdir, args.r2e)
    contenders: dict[str, list[str]] = {"watcher": watcher_fetch(config)}
    if isinstance(r2e, list):
        contenders["rss2email"] = r2e
    out: dict[str, Any] = {name: {"first": run_process(argv, farm), "unchanged_rounds": []}
                           for name, argv in contenders.items()}  # fmt: skip
    for _ in range(args.rounds):
        for name, argv in contenders.items():
            out[name]["unchanged_rounds"].append(run_process(argv, farm))
    for result in out.values():
        rounds = result["unchanged_rounds"]
        median = statistics.median(r["seconds"] for r in rounds)
        result["unchanged"] = min(rounds, key=lambda r: abs(r["seconds"] - median))
        result["unchanged_cpu"] = statistics.median(r["cpu"] for r in rounds)
    out["watcher"]["repoll_imports"] = repoll_imports(config)
    if isinstance(r2e, str):
        out["rss2email"] = r2e
    return out


def run_watcher(farm: FarmProcess, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """In-process: one cycle over a fresh database, then the unchanged re-poll (imports excluded)."""
    from watcher import config as config_mod
    from watcher.extract_pool import ExtractPool
    from watcher.parse_worker import FeedParser
    from watcher.pipeline import run_cycle_async
    from watcher.store import open_db

    raw = {
        "storage": {"db": str(workdir / "watcher.db")},
        "http": {"allow_networks": ["127.0.0.0/8"], "min_host_gap": args.min_host_gap},
        "extract": {"fetch_articles": False, "workers": 1},
        "feeds": [{"url": u} for u in farm.urls()],
    }
    cfg = config_mod.parse(raw, workdir)
    engine = open_db(cfg.db_url)
    out: dict[str, Any] = {"per_host_concurrency": cfg.http.per_host_concurrency}

    async def both() -> None:
        async with (  # started once, as in the daemon
            ExtractPool(cfg.extract) as pool,
            FeedParser.for_config(cfg.extract) as parser,
        ):
            for phase in ("first", "unchanged"):
                farm.reset()
                t0, c0 = time.perf_counter(), time.process_time()
                report = await run_cycle_async(
                    cfg, engine, due_only=False, models=[], pool=pool, parser=parser
                )
                seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
                statuses: dict[str, int] = {}
                for f in report.feeds:
                    statuses[f.status] = statuses.get(f.status, 0) + 1
                out[phase] = {
                    "seconds": seconds,
                    "cpu": cpu,
                    "new_entries": report.new_entries,
                    "statuses": statuses,
                    **farm.stats(),
                }

    asyncio.run(both())
    engine.dispose()
    return out


def run_naive(farm: FarmProcess) -> dict[str, Any]:
    import feedparser
    import httpx

    farm.reset()
    t0, c0 = time.perf_counter(), time.process_time()
    entries = 0
    with httpx.Client(timeout=30) as client:
        for url in farm.urls():
            response = client.get(url)
            entries += len(feedparser.parse(response.content).entries)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"seconds": seconds, "cpu": cpu, "entries": entries, **farm.stats()}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=500, help="loopback addresses to spread over")
    parser.add_argument("--min-host-gap", type=float, default=0.25, help="http.min_host_gap")
    parser.add_argument("--rounds", type=int, default=3, help="unchanged re-polls of each (median)")
    parser.add_argument("--r2e", default="/tmp/r2e-venv/bin/r2e")
    parser.add_argument("--skip-rss2email", action="store_true")
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with (
        tempfile.TemporaryDirectory() as tmp,
        FarmProcess(args.feeds, args.items, args.hosts) as farm,
    ):
        work = Path(tmp)
        results: dict[str, Any] = {
            "feeds": args.feeds, "items": args.items, "hosts": args.hosts,
            "min_host_gap": args.min_host_gap, "cpus": os.cpu_count(), "load": os.getloadavg()[0],
        }  # fmt: skip
        results["whole"] = run_whole(farm, work, args)
        if not args.skip_in_process:
            results["watcher"] = run_watcher(farm, work, args)
            results["naive"] = run_naive(farm)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)
    return 0


def _line(label: str, r: dict[str, Any]) -> str:
    extra = f"  exit {r['exit']}: {r.get('stderr', '')[-200:]}" if r.get("exit") else ""
    return (
        f"{label:<26}{r['seconds']:7.2f} s  (cpu {r['cpu']:.2f} s)  "
        f"{r['requests']} requests, {r.get('connections', '?')} connects, "
        f"{r['bytes_sent'] / 1e6:.2f} MB{extra}"
    )


def report(r: dict[str, Any]) -> None:
    """Print the figures and the ratios."""
    whole = r["whole"]
    w, e = whole["watcher"], whole["rss2email"]
    lines = [
        f"farm: {r['feeds']} feeds x {r['items']} items on {r['hosts']} loopback hosts, "
        f"{r['cpus']} CPUs, load {r['load']:.1f}; watcher http.min_host_gap={r['min_host_gap']}",
        "whole process, start to exit (median of the re-polls):",
        _line("  watcher fetch, first", w["first"]),
        _line("  watcher fetch, unchanged", w["unchanged"]),
        "  watcher re-poll imported: " + (", ".join(w["repoll_imports"]) or "no SQLAlchemy, feedparser, "
                                           "trafilatura or Jinja2"),
    ]
    if isinstance(e, dict):
        lines += [
            _line("  r2e run, first", e["first"]),
            _line("  r2e run, unchanged", e["unchanged"]),
            f"  rss2email/watcher: first poll {e['first']['seconds'] / w['first']['seconds']:.2f}x "
            f"(target >= 3), unchanged re-poll "
            f"{e['unchanged']['seconds'] / w['unchanged']['seconds']:.2f}x (target >= 2.5); "
            f"by median CPU {e['unchanged_cpu'] / w['unchanged_cpu']:.2f}x",
        ]
    else:
        lines.append(f"  rss2email {e}")
    if "watcher" in r:
        first, again, n = r["watcher"]["first"], r["watcher"]["unchanged"], r["naive"]
        lines += [
            "in-process, after imports:",
            f"  watcher cycle, first     {first['seconds']:7.2f} s  (cpu {first['cpu']:.2f} s)  "
            f"{first['new_entries']} new entries, {first['statuses']}",
            f"  watcher cycle, unchanged {again['seconds']:7.2f} s  (cpu {again['cpu']:.2f} s)  "
            f"{again['bytes_sent'] / 1e3:.0f} kB received, {again['statuses']}",
            f"  watcher per host: at most {max(first['max_inflight'], again['max_inflight'])} "
            f"requests in flight, {max(first['max_open'], again['max_open'])} open connections "
            f"(limit {r['watcher']['per_host_concurrency']})",
            f"  naive first poll         {n['seconds']:7.2f} s  (cpu {n['cpu']:.2f} s)  "
            f"({n['entries']} entries; sequential httpx + feedparser)",
            f"  naive/watcher first poll {n['seconds'] / first['seconds']:.2f}x",
        ]
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
