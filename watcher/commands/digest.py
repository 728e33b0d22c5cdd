"""``watcher digest``: render and deliver what is new (files, e-mail); ``watcher digest list``."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..errors import ConfigError
from ..textsafe import terminal_safe
from . import common

if TYPE_CHECKING:  # imported when the command runs: --help stays light (issue 16)
    import sqlalchemy as sa

    from .. import outbox

# render.FORMATS, spelled here so that --help does not import Jinja2 (a test keeps them equal).
FORMATS = ("markdown", "html", "text", "json", "atom")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "digest",
        help="write and send the digest of matches not yet sent",
        description="Gather the matches no digest has carried yet (or every match since --since), "
        "write the configured files under digest.dir and mail them if [digest.email] is enabled. "
        "Each match goes out in exactly one digest; a digest whose send failed is retried first.",
    )
    common.add_common(p)
    p.add_argument(
        "action", nargs="?", choices=("list",), help="list: show recent digests and their state"
    )
    p.add_argument(
        "--since", metavar="DATE", help="look back at every match since DATE (marks nothing)"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="render only: no files, no mail, nothing marked"
    )
    p.add_argument(
        "--resend", metavar="ID", help="send a past digest again (same items, same Message-ID)"
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        action="append",
        help="only this format (repeatable; default: digest.formats)",
    )
    p.add_argument("--stdout", action="store_true", help="also print the rendered digest")
    p.add_argument(
        "--json", action="store_true", help="print one JSON object describing what was done"
    )
    p.set_defaults(func=run)


def parse_since(text: str, tz: str) -> datetime:
    """A date (midnight in the configured time zone) or an ISO date-time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as e:
        raise ConfigError(f"--since: expected a date such as 2025-01-31, got {text!r}") from e
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(UTC)


def run(args: argparse.Namespace) -> int:
    from .. import outbox
    from ..digest_state import SUCCEEDED
    from ..store import now_utc

    cfg = common.load_config(args)
    engine = common.open_store(cfg)
    if args.action == "list":
        return _list(engine, args.json)
    formats = tuple(args.format) if args.format else None
    if args.resend:
        outcome = outbox.resend_digest(cfg, engine, args.resend, formats=formats)
    else:
        since = parse_since(args.since, cfg.schedule.timezone) if args.since else None
        outcome = outbox.send_digest(
            cfg, engine, now=now_utc(), since=since, dry_run=args.dry_run, formats=formats
        )
    if args.json:
        print(json.dumps(_as_json(outcome), ensure_ascii=False))
    else:
        _print(outcome, args.stdout or args.dry_run, (formats or cfg.digest.formats)[0])
    return 0 if outcome.status in SUCCEEDED else 1


def _as_json(o: outbox.DigestOutcome) -> dict[str, object]:
    return {
        "status": o.status,
        "digest": o.digest_id,
        "message_id": o.message_id,
        "items": o.items,
        "matches": o.matches,
        "paths": [str(p) for p in o.paths],
        "emailed": list(o.emailed),
        "resent": list(o.resent),
        "error": o.error,
    }


def _print(o: outbox.DigestOutcome, show: bool, fmt: str) -> None:
    if show and o.rendered:
        print(terminal_safe(o.rendered.get(fmt) or next(iter(o.rendered.values()))), end="")
    elif show:
        md = next((p for p in o.paths if p.suffix == ".md"), None) or next(iter(o.paths), None)
        if md is not None and md.suffix != ".atom":
            print(terminal_safe(md.read_text(encoding="utf-8")), end="")
    for old in o.resent:
        print(f"resent digest {old} (an earlier send had not been confirmed)")
    for path in o.paths:
        print(f"wrote {path}")
    if o.status == "skipped":
        print('nothing new: no digest (digest.empty = "skip")')
    elif o.status == "dry":
        print(f"dry run: {o.items} stories ({o.matches} matches) would go out; nothing was marked")
    elif o.status == "review":
        print(f"look back: {o.items} stories ({o.matches} matches); nothing was marked")
    elif o.status == "sent":
        to = f", mailed to {', '.join(o.emailed)} as {o.message_id}" if o.emailed else ""
        print(f"digest {o.digest_id}: {o.items} stories ({o.matches} matches){to}")
    else:
        state = (
            "its matches are pending again" if o.status == "failed" else "it will be resent as is"
        )
        print(f"digest {o.digest_id} not delivered ({state}): {terminal_safe(o.error or '')}")


def _list(engine: sa.Engine, as_json: bool) -> int:
    from ..store import digests as store_digests

    rows = store_digests.list_digests(engine)
    if as_json:
        data = [
            {
                "id": d.id,
                "created_at": d.created_at.isoformat(),
                "status": d.status,
                "items": d.items,
                "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                "message_id": d.message_id,
                "error": d.error,
            }
            for d in rows
        ]
        print(json.dumps(data, ensure_ascii=False))
        return 0
    if not rows:
        print("no digests yet")
    for d in rows:
        when = d.created_at.strftime("%Y-%m-%d %H:%M")
        err = f"  {terminal_safe(d.error)}" if d.error and d.status != "sent" else ""
        print(f"{d.id}  {when} UTC  {d.status:<7}  {d.items:>3} stories{err}")
    return 0
