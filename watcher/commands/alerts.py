"""``watcher alerts``: send what is due now; ``--dry-run``; ``alerts test``; ``alerts list`` (issue 15)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..textsafe import terminal_safe
from . import common

if TYPE_CHECKING:  # imported when the command runs: --help stays light (issue 16)
    import sqlalchemy as sa

    from .. import alerts
    from ..alert_message import AlertMessage
    from ..config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "alerts",
        help="push strong matches now through Apprise; test the targets; list sent alerts",
        description="Queue the matches at or above [alerts] min_score that were not alerted yet "
        "and send them, folded into one message, to every [alerts] URL; a message that failed is "
        "retried first (when its backoff is over).  `watcher fetch` and the daemon do the same after "
        "every poll.  test: send a sample message to every target.  list: recent alert messages.",
    )
    common.add_common(p)
    p.add_argument(
        "action",
        nargs="?",
        choices=("test", "list"),
        help="test: send a sample message; list: recent messages and their state",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="show what would be sent now; send and record nothing"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _require(cfg: Config) -> None:
    if not cfg.alerts.enabled:
        raise ConfigError("alerts: disabled: set enabled = true in [alerts] of the config")
    if not cfg.alerts.configured:
        raise ConfigError(
            "alerts: no target: add urls (or urls_env) to [alerts] in the config, "
            'e.g. urls_env = ["WATCHER_ALERT_URLS"] with that variable holding Apprise URLs'
        )


def _message_json(m: AlertMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "title": m.title,
        "items": [
            {
                "match_id": i.match_id,
                "topic": i.topic,
                "score": i.score,
                "title": i.title,
                "source": i.source,
                "why": i.why,
                "url": i.url,
            }
            for i in m.items
        ],
    }


def run(args: argparse.Namespace) -> int:
    from .. import alerts
    from ..store import now_utc

    cfg = common.load_config(args)
    _require(cfg)
    now = now_utc()
    if args.action == "test":
        results = alerts.send_test(cfg, now=now, environ=os.environ)
        if args.json:
            data = [{"target": t, "ok": r.ok, "error": r.error or None} for t, r in results]
            print(json.dumps({"targets": data}, ensure_ascii=False))
        for target, r in results:
            if not args.json:
                print(f"{target}: ok" if r.ok else f"{target}: FAILED {terminal_safe(r.error)}".rstrip())
        return 0 if results and all(r.ok for _, r in results) else 1
    engine = common.open_store(cfg)
    if args.action == "list":
        return _list(engine, args.json)
    if args.dry_run:
        return _dry_run(cfg, engine, args.json)
    outcome = alerts.deliver(cfg, engine, now=now, environ=os.environ)
    if args.json:
        print(json.dumps(outcome_json(outcome), ensure_ascii=False))
    else:
        print(summary(outcome))
    for e in outcome.errors:
        print(f"watcher: alerts: {terminal_safe(e)}", file=sys.stderr)
    return 0 if not outcome.errors else 1


def outcome_json(o: alerts.AlertsOutcome) -> dict[str, Any]:
    return {
        "status": o.status,
        "queued": o.queued,
        "sent": list(o.sent),
        "items": o.items,
        "held": o.held,
        "retry_at": o.retry_at.isoformat() if o.retry_at else None,
        "errors": list(o.errors),
    }


def summary(o: alerts.AlertsOutcome) -> str:
    """One line for people: what went, what waits and until when."""
    text = f"alerts: {o.status}"
    if o.sent:
        text += f", {len(o.sent)} message(s) sent with {o.items} match(es)"
    if o.held:
        text += f", {o.held} match(es) held"
    if o.retry_at:
        text += f", next try at {o.retry_at.isoformat(timespec='seconds')}"
    return text


def _dry_run(cfg: Config, engine: sa.Engine, as_json: bool) -> int:
    from .. import alerts
    from ..store import now_utc

    p = alerts.preview(cfg, engine, now=now_utc(), environ=os.environ)
    if as_json:
        data = {
            "pending": [_message_json(m) for m in p.pending],
            "new": _message_json(p.new) if p.new else None,
            "quiet_hours": p.quiet,
            "targets": list(p.targets),
            "errors": list(p.errors),
        }
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print(f"targets: {', '.join(p.targets) or 'none'}" + (" (quiet hours now)" if p.quiet else ""))
    for e in p.errors:
        print(f"watcher: alerts: {terminal_safe(e)}", file=sys.stderr)
    for m in (*p.pending, *([p.new] if p.new else [])):
        print(f"\n--- {m.id}: {m.title}\n{terminal_safe(m.body('text'))}")
    if not p.pending and p.new is None:
        print("nothing to send")
    return 0


def _list(engine: sa.Engine, as_json: bool) -> int:
    from ..store import alerts as store_alerts

    rows = store_alerts.recent(engine)
    if as_json:
        data = [
            {
                "id": m.id,
                "status": m.status,
                "created_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "items": len(json.loads(m.payload)),
                "attempts": m.attempts,
                "error": m.error,
            }
            for m in rows
        ]
        print(json.dumps({"messages": data, "counts": store_alerts.counts(engine)}))
        return 0
    for m in rows:
        when = (m.sent_at or m.created_at).isoformat(timespec="seconds")
        err = f"  ({terminal_safe(m.error)})" if m.error else ""
        print(f"{m.id}  {m.status:<7}  {when}  items={len(json.loads(m.payload))}{err}")
    if not rows:
        print("no alert messages yet")
    return 0
