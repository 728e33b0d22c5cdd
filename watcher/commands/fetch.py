"""``watcher fetch`` (one cycle against the configured feeds) and ``watcher demo`` (the same, offline)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..textsafe import one_line, terminal_safe
from . import alerts as alerts_cmd
from . import common

if TYPE_CHECKING:  # imported when the command runs: --help stays light (issue 16)
    from rich.console import Console

    from .. import pipeline
    from ..alerts import AlertsOutcome
    from ..pipeline import CycleReport


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("fetch", help="poll every enabled feed once and print the new matches")
    common.add_common(p)
    p.add_argument(
        "--feed",
        action="append",
        default=[],
        metavar="URL",
        help="poll just this feed (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--digest", action="store_true", help="also write the Markdown digest of pending matches"
    )
    p.add_argument(
        "--no-alerts",
        action="store_true",
        help="send no [alerts] for this run's matches (they are never alerted later either)",
    )
    p.set_defaults(func=run_fetch)

    d = sub.add_parser(
        "demo",
        help="run the whole pipeline offline on bundled demo feeds served on 127.0.0.1",
        description="Uses the shipped default topic and seeds (package data); --config X tries "
        "the topics of X on the demo feeds instead.",
    )
    common.add_common(d)
    d.add_argument("dir", nargs="?", type=Path, default=Path("watcher-demo"), help="output folder")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.set_defaults(func=run_demo)


@contextmanager
def progress_bar(enabled: bool, feeds: int) -> Iterator[pipeline.Progress | None]:
    """A progress bar on a terminal; nothing in pipes and logs."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        tasks = {
            "feed": bar.add_task("feeds polled", total=feeds),
            "article": bar.add_task("articles extracted", total=None),
            "match": bar.add_task("matches", total=None),
        }

        def advance(event: str, n: int) -> None:
            bar.advance(tasks[event], n)

        yield advance


def report_json(report: CycleReport) -> dict[str, object]:
    return {
        "feeds": len(report.feeds),
        "new_entries": report.new_entries,
        "matches": [
            {
                "entry_id": m.entry_id,
                "url": m.url,
                "title": m.title,
                "topic": m.score.topic,
                "score": round(m.score.score, 4),
                "reasons": m.score.reasons(),
            }
            for m in report.matches
        ],
        "errors": [{"feed": f.feed, "error": f.error} for f in report.errors],
    }


def print_report(report: CycleReport, console: Console) -> None:
    from rich.markup import escape

    for m in sorted(report.matches, key=lambda m: -m.score.score):
        console.print(
            f"[bold green]{m.score.score:.2f}[/] [bold]{escape(one_line(terminal_safe(m.title)))}[/]  "
            f"[dim]{escape(one_line(terminal_safe(m.url)))}[/]\n      [cyan]{escape(m.score.topic)}[/]: "
            f"{escape(one_line(terminal_safe(m.score.reasons())))}",
            highlight=False,
        )
    for f in report.errors:
        console.print(
            f"[red]error[/] {escape(one_line(terminal_safe(f.feed)))}: "
            f"{escape(one_line(terminal_safe(f.error or '')))}",
            highlight=False,
        )
    console.print(
        f"{len(report.feeds)} feeds polled, {report.new_entries} new entries, "
        f"{len(report.matches)} matches, {len(report.errors)} errors",
        highlight=False,
    )


def run_fetch(args: argparse.Namespace) -> int:
    # httpx imports its own command-line client (click, pygments, rich: ~40 ms) when they are
    # installed, as rich is here; this process never runs it, so it is marked as absent and httpx
    # defines its stub instead (issue 16: cron's `watcher fetch --json` imports only what it uses).
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from .. import pipeline
    from ..store import now_utc

    cfg = common.load_config(args)
    store = common.open_cycle_store(cfg)  # SQLAlchemy only once the cycle needs it (issue 16)
    feeds = len(args.feed) or len([f for f in cfg.feeds if f.enabled])
    started = now_utc()
    # batch work from before the cycle starts its threads and workers (they inherit it)
    with common.batch_scheduling(), progress_bar(common.is_tty() and not args.json, feeds) as progress:
        report = pipeline.run_cycle(cfg, store, urls=args.feed or None, progress=progress)
    # Alerts for what this cycle recorded (issue 15): a one-shot run from cron alerts too.  With
    # no [alerts] target the alerts module (and SQLAlchemy with it) is never imported (issue 16).
    sent: AlertsOutcome | None = None
    if cfg.alerts.configured:
        from .. import alerts

        sent = alerts.deliver(
            cfg,
            store.engine(),
            now=now_utc(),
            environ=os.environ,
            floor=started,
            skip="no-alerts" if args.no_alerts else "",
        )
    if args.json:
        data = report_json(report)
        if sent is not None and sent.status != "off":
            data["alerts"] = alerts_cmd.outcome_json(sent)
        print(json.dumps(data, ensure_ascii=False))
    else:
        from rich.console import Console  # not for --json (cron): ~30 ms of imports

        print_report(report, Console(highlight=False, soft_wrap=True))
        if sent is not None and sent.status not in ("off", "idle"):
            print(alerts_cmd.summary(sent))
    for error in sent.errors if sent is not None else ():
        print(f"watcher: alerts: {terminal_safe(error)}", file=sys.stderr)
    if args.digest:
        from .. import outbox  # Jinja2: only when a digest is written
        from ..store import now_utc

        path = outbox.write_markdown_digest(cfg, store.engine(), now=now_utc())
        if path is not None and not args.json:
            print(f"digest: {path}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .. import demo

    if args.config is not None:  # an explicit --config: try its topics on the demo feeds
        outcome = demo.run(common.load_config(args), args.dir)
    else:  # the demo's own topic and seeds (package data), whatever the current folder holds
        with demo.packaged_config(args.overrides) as base:
            outcome = demo.run(base, args.dir)
    if args.json:
        data = report_json(outcome.report)
        data["digest"] = str(outcome.digest) if outcome.digest else None
        data["db"] = str(outcome.db)
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print_report(outcome.report, Console(highlight=False, soft_wrap=True))
    print(f"database: {outcome.db}")
    print(f"digest: {outcome.digest}" if outcome.digest else "digest: nothing to report")
    return 0
