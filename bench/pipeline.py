"""Throughput of `watcher fetch` against a feed farm, beside the naive loop and the extraction floor.

Builds a farm on 127.0.0.1 (N feeds x M items; article pages are the real pages under
../shared/fixtures/html/ when present, else generated ones), then in one run measures:

  watcher   `watcher fetch` (a subprocess) over the farm, then again over the unchanged farm;
  naive     the loop a user would write: sequential httpx + feedparser + trafilatura;
  floor     trafilatura alone over the same HTML with watcher's own settings
            (``extract.trafilatura_options``: fast=True for favor "speed", no metadata pass), in as
            many processes as watcher runs extraction workers, no I/O: like for like (issue 16).

Prints articles/s for all three, the ratios, the second-run share and the peak RSS of watcher's main
process and its workers; per round, the CPU that other processes used on the machine meanwhile (another
user's load slows one side of a round: compare rounds with little of it); the machine's idle
core-seconds during the first watcher run and floor, and when the watcher's workers started, were all
busy and last worked (the start-up and the tail).  --profile DIR also records py-spy profiles of
watcher's main process and its workers (pip install py-spy) while it runs.

    .venv/bin/python bench/pipeline.py [--feeds 200] [--items 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.farm import Farm, load_pages, page_index

ROOT = Path(__file__).resolve().parents[1]


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    kids = [int(p) for p in text.split()]
    return kids + [g for k in kids for g in _children(k)]


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a live process has used so far (0.0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _cpu_times() -> list[int]:
    """The machine's CPU time so far, all cores together, in clock ticks (/proc/stat's first line:
    user, nice, system, idle, iowait, irq, softirq, steal); [] where it cannot be read."""
    try:
        return [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return []


def machine_idle() -> float:
    """Seconds the machine's cores have spent idle so far (idle and iowait)."""
    ticks = _cpu_times()
    return (ticks[3] + ticks[4]) / os.sysconf("SC_CLK_TCK") if ticks else 0.0


def machine_busy() -> float:
    """Seconds the machine's cores have spent busy so far (everything but idle and iowait)."""
    ticks = _cpu_times()
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK") if ticks else 0.0


def other_load(farm_pid: int) -> Callable[[], float]:
    """A meter: CPU seconds used on the machine, since it was made, by anything but this benchmark,
    its children (waited for) and the farm: another user's load, which slows one side of a round."""
    busy0, ours0 = machine_busy(), children_cpu() + _cpu_s(farm_pid) + time.process_time()
    return lambda: max(
        0.0,
        machine_busy() - busy0 - (children_cpu() + _cpu_s(farm_pid) + time.process_time() - ours0),
    )


def children_cpu() -> float:
    """CPU seconds of every waited-for child process (and of their waited-for children)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_watcher(
    config: Path,
    cwd: Path,
    profile: Path | None = None,
    workers_cpu: list[float] | None = None,
    timeline: dict[str, float] | None = None,
) -> tuple[float, int, int, str]:
    """Wall time, peak RSS of the main process and of all workers together (KiB), and the output.

    ``workers_cpu`` receives the CPU seconds of the extraction workers, then of the other child
    processes (the feed parse helper, the resource tracker), each last read before they ended.
    ``timeline`` receives, in seconds from the start: "spawned" (the first extraction worker
    seen), "busy" (the first 0.25 s in which the workers used 1.5 cores or more: all of them at
    work) and "last" (the last time a worker's CPU grew: after it, the tail).
    """
    spy: list[str] = []
    if profile:
        exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        spy = [exe, "record", "--subprocesses", "--format", "raw", "-r", "50", "-o", str(profile)]
        spy.append("--")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*spy, sys.executable, "-m", "watcher", "fetch", "--config", str(config)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak_main = peak_all = 0
    stop = threading.Event()
    cpu: dict[int, float] = {}
    helpers: set[int] = set()  # children that are not extraction workers
    known: set[int] = set()  # children classified: only once they run their own command line
    parent_cmdline = ""

    marks: dict[str, float] = {}
    window: list[tuple[float, float]] = []  # (time, workers' CPU) over the last 0.25 s

    def mark(t: float) -> None:
        worker_cpu = sum(c for pid, c in cpu.items() if pid in known and pid not in helpers)
        if worker_cpu and "spawned" not in marks:
            marks["spawned"] = t
        if window and worker_cpu > window[-1][1]:
            marks["last"] = t
        window.append((t, worker_cpu))
        while window and t - window[0][0] > 0.25:
            t0_, c0 = window.pop(0)
            if "busy" not in marks and (worker_cpu - c0) / (t - t0_) >= 1.5:
                marks["busy"] = t0_

    def sample() -> None:
        nonlocal peak_main, peak_all, parent_cmdline
        while not stop.is_set():
            peak_main = max(peak_main, _status_kb(proc.pid, "VmHWM:"))
            parent_cmdline = parent_cmdline or _cmdline(proc.pid)
            kids = _children(proc.pid)
            for kid in kids:
                # Between fork and exec a child still shows its parent's command line: a worker
                # seen then was once counted as a helper (issue 16: the split was wrong).
                line = _cmdline(kid)
                if kid not in known and line and line != parent_cmdline:
                    known.add(kid)
                    if "spawn_main" not in line:
                        helpers.add(kid)
                cpu[kid] = max(cpu.get(kid, 0.0), _cpu_s(kid))
            total = _status_kb(proc.pid, "VmRSS:") + sum(_status_kb(c, "VmRSS:") for c in kids)
            peak_all = max(peak_all, total)
            mark(time.perf_counter() - t0)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"watcher fetch failed: {err[-2000:]}")
    if workers_cpu is not None:
        workers_cpu.append(sum(c for pid, c in cpu.items() if pid not in helpers))
        workers_cpu.append(sum(c for pid, c in cpu.items() if pid in helpers))
    if timeline is not None:
        timeline.update(marks)
    return time.perf_counter() - t0, peak_main, peak_all, out.strip().splitlines()[-1]


def naive(farm: Farm) -> tuple[float, int]:
    import feedparser
    import httpx
    import trafilatura

    t0 = time.perf_counter()
    n = 0
    with httpx.Client(timeout=30) as client:
        for url in farm.feed_urls():
            parsed = feedparser.parse(client.get(url).content)
            for entry in parsed.entries:
                page = client.get(entry.link).text
                trafilatura.extract(page, url=entry.link)
                n += 1
    return time.perf_counter() - t0, n


def _extract(page: bytes, favor: str) -> int:
    import trafilatura

    from watcher.extract import trafilatura_options

    return len(trafilatura.extract(page, **trafilatura_options(favor)) or "")


def floor(pages: list[bytes], processes: int, favor: str) -> float:
    t0 = time.perf_counter()
    with ProcessPoolExecutor(processes) as ex:
        list(ex.map(functools.partial(_extract, favor=favor), pages, chunksize=8))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--skip-naive", action="store_true", help="leave out the (slow) naive loop")
    ap.add_argument("--profile", type=Path, help="write py-spy stacks of the first run here (slows it down)")
    ap.add_argument(
        "--rounds", type=int, default=1, help="first runs and floors, alternated (more: the median ratio)"
    )
    args = ap.parse_args()
    farm = Farm(args.feeds, args.items, real_pages=True)
    pages = load_pages()
    served = [pages[page_index(f, k, len(pages))] for f in range(args.feeds) for k in range(args.items)]
    total = len(served)
    tmp = Path(tempfile.mkdtemp(prefix="watcher-bench-"))
    feeds = "".join(f'[[feeds]]\nurl = "{u}"\n' for u in farm.feed_urls())
    shipped = (ROOT / "config.toml").read_text(encoding="utf-8")
    topic = shipped[shipped.index("# --- topics: begin") : shipped.index("# --- topics: end")]
    config = tmp / "config.toml"
    config.write_text(
        '[storage]\ndb = "seen.db"\n[http]\nallow_private_addresses = true\nmin_host_gap = 0.0\n'
        "per_host_concurrency = 32\n" + feeds + topic.replace('"seeds/', f'"{ROOT}/seeds/'),
        encoding="utf-8",
    )
    print(
        f"farm: {args.feeds} feeds x {args.items} items = {total} articles on 127.0.0.1:{farm.port}; "
        f"{len(pages)} distinct pages; cores: {os.cpu_count()}",
        flush=True,
    )

    farm_pid = farm.proc.pid or 0
    cpu0, farm0, idle0, other = children_cpu(), _cpu_s(farm_pid), machine_idle(), other_load(farm_pid)
    workers: list[float] = []
    marks: dict[str, float] = {}
    first, peak_main, peak_all, summary = run_watcher(config, tmp, args.profile, workers, marks)
    cpu_watcher, cpu_farm = children_cpu() - cpu0, _cpu_s(farm_pid) - farm0
    idle_w, other_w = machine_idle() - idle0, other()
    print(
        f"watcher first run:  {first:7.2f} s  {total / first:7.1f} articles/s   [{summary}]",
        flush=True,
    )
    second, _, _, summary2 = run_watcher(config, tmp)
    print(f"watcher second run: {second:7.2f} s  (unchanged farm)          [{summary2}]", flush=True)
    t_naive = n_naive = cpu_naive = 0.0
    if not args.skip_naive:
        cpu0 = time.process_time()
        t_naive, n = naive(farm)
        n_naive, cpu_naive = float(n), time.process_time() - cpu0
        print(f"naive loop:         {t_naive:7.2f} s  {n_naive / t_naive:7.1f} articles/s", flush=True)
    from watcher.config import ExtractConfig
    from watcher.extract_pool import cpu_count

    favor, processes = ExtractConfig().favor, cpu_count()  # watcher's defaults, as configured above
    cpu0, idle0, other = children_cpu(), machine_idle(), other_load(farm_pid)
    t_floor = floor(served, processes, favor)
    cpu_floor, idle_f, other_f = children_cpu() - cpu0, machine_idle() - idle0, other()
    print(
        f"extraction floor:   {t_floor:7.2f} s  {total / t_floor:7.1f} articles/s   "
        f"[trafilatura alone, favor={favor}, no metadata, {processes} processes]",
        flush=True,
    )
    rounds = [(first, t_floor, cpu_watcher, cpu_floor)]
    others = [(other_w, other_f)]
    print(f"round 1: the runs above  (other load meanwhile: {other_w:.1f} and {other_f:.1f} core-s)")
    for _ in range(args.rounds - 1):  # alternated, so that a burst of other load hits both sides
        for name in ("seen.db", "seen.db-wal", "seen.db-shm"):  # a fresh store: every entry is new
            (tmp / name).unlink(missing_ok=True)
        cpu0, other = children_cpu(), other_load(farm_pid)
        again = run_watcher(config, tmp)[0]
        other_again = other()
        cpu_again = children_cpu() - cpu0
        cpu0, other = children_cpu(), other_load(farm_pid)
        t_again = floor(served, processes, favor)
        others.append((other_again, other()))
        rounds.append((again, t_again, cpu_again, children_cpu() - cpu0))
        print(
            f"round {len(rounds)}: watcher {again:6.2f} s, floor {t_again:6.2f} s  (other load meanwhile: "
            f"{others[-1][0]:.1f} and {others[-1][1]:.1f} core-s)",
            flush=True,
        )
    farm.stop()
    if len(rounds) > 1:
        walls = sorted(t_f / t_w for t_w, t_f, _, _ in rounds)
        cpus = sorted(c_f / c_w for _, _, c_w, c_f in rounds)
        print(
            f"over {len(rounds)} alternated rounds: watcher / floor {walls[0]:.2f}-{walls[-1]:.2f}x, "
            f"median {statistics.median(walls):.2f}x; by CPU {cpus[0]:.2f}-{cpus[-1]:.2f}, "
            f"median {statistics.median(cpus):.2f}"
        )
    w, fl = total / first, total / t_floor
    print()
    if n_naive:
        print(f"watcher / naive  = {w / (n_naive / t_naive):.2f}x   (target >= 1.8)")
    print(f"watcher / floor  = {w / fl:.2f}x   (target >= 0.8)")
    print(f"second / first   = {second / first * 100:.1f} %  (target < 5 %)")
    naive_cpu = f"naive {cpu_naive / n_naive * 1000:.1f} ms, " if n_naive else ""
    print(
        f"CPU per article (independent of other load): watcher {cpu_watcher / total * 1000:.1f} ms "
        f"(main + workers), {naive_cpu}"
        f"floor {cpu_floor / total * 1000:.1f} ms; floor / watcher = {cpu_floor / cpu_watcher:.2f}"
    )
    ms = 1000 / total
    print(
        f"  of which main process {(cpu_watcher - workers[0] - workers[1]) * ms:.1f} ms, extraction "
        f"workers {workers[0] * ms:.1f} ms, feed parse helper {workers[1] * ms:.1f} ms (last read before "
        f"they ended); the farm serving it (its own process, on the same cores) "
        f"{cpu_farm * ms:.1f} ms"
    )
    cores = os.cpu_count() or 1
    print(
        f"cores idle (/proc/stat, first run; another process's load is not idle): watcher "
        f"{idle_w:.1f} core-s of {cores * first:.1f} ({idle_w / (cores * first) * 100:.0f} %), floor "
        f"{idle_f:.1f} of {cores * t_floor:.1f} ({idle_f / (cores * t_floor) * 100:.0f} %)"
    )
    if {"spawned", "busy", "last"} <= marks.keys():
        print(
            f"  watcher's timeline: first extraction worker at {marks['spawned']:.2f} s, all "
            f"workers busy from {marks['busy']:.2f} s, last worker CPU at {marks['last']:.2f} s, "
            f"exit at {first:.2f} s (tail {first - marks['last']:.2f} s)"
        )
    print(
        f"peak RSS: main process {peak_main / 1024:.0f} MiB (target <= 300 MB), "
        f"main + workers {peak_all / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
