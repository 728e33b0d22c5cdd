"""Start-up time of the quick commands, whole process (start to exit), beside rss2email's.

Runs each command --runs times, interleaved (one run of each in turn, so a busy neighbour on the
machine slows all alike), and prints the median and the fastest run of each and the ratio of the
medians to `r2e --help`; the issue-16 target is at most 1.5x for `watcher --help` and
`watcher status`.  `status` and `feeds list` read a database of --feeds configured feeds (synced
by one `feeds list` before timing); `r2e list` is rss2email's nearest peer of `status`.  rss2email
lives in its own venv (default /tmp/r2e-venv: python3 -m venv /tmp/r2e-venv &&
/tmp/r2e-venv/bin/pip install rss2email).

    .venv/bin/python bench/startup.py [--runs 15] [--feeds 1000] [--r2e /tmp/r2e-venv/bin/r2e]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode()[-500:]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--r2e", default="/tmp/r2e-venv/bin/r2e")
    args = ap.parse_args(argv)
    watcher = str(Path(sys.executable).with_name("watcher"))
    if not Path(watcher).exists():
        raise SystemExit(f"{watcher} not found: pip install -e . in this venv")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        feeds = "".join(
            f'[[feeds]]\nurl = "http://127.0.0.1:9/feed/{i}.xml"\nname = "Feed {i}"\n'
            for i in range(args.feeds)
        )
        (work / "config.toml").write_text(f'[storage]\ndb = "{work / "w.db"}"\n' + feeds)
        cfg = ["--config", str(work / "config.toml")]
        subprocess.run([watcher, "feeds", "list", *cfg], check=True, capture_output=True)
        commands: dict[str, list[str]] = {
            "watcher --help": [watcher, "--help"],
            "watcher status": [watcher, "status", *cfg],
            "watcher status --json": [watcher, "status", "--json", *cfg],
            "watcher feeds list": [watcher, "feeds", "list", *cfg],
        }
        if shutil.which(args.r2e) or Path(args.r2e).exists():
            r2e = [args.r2e, "-c", str(work / "r2e.cfg"), "-d", str(work / "r2e.json")]
            subprocess.run([*r2e, "new", "bench@example.org"], check=True, capture_output=True)
            commands["r2e --help"] = [args.r2e, "--help"]
            commands["r2e list"] = [*r2e, "list"]
        else:
            print(f"rss2email not found at {args.r2e}: no baseline (see the docstring)")
        times: dict[str, list[float]] = {name: [] for name in commands}
        for cmd in commands.values():  # one untimed run each: the page cache, .pyc files
            timed(cmd, work)
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(timed(cmd, work))
    print(
        f"{args.runs} runs each, interleaved; {args.feeds} feeds in the database; "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    base = statistics.median(times["r2e --help"]) if "r2e --help" in times else None
    for name, values in times.items():
        median = statistics.median(values)
        ratio = f"  {median / base:.2f}x r2e --help" if base else ""
        print(f"{name:<24} median {median * 1000:6.0f} ms  fastest {min(values) * 1000:6.0f} ms{ratio}")
    if base:
        print("target: watcher --help and watcher status within 1.5x of r2e --help")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
