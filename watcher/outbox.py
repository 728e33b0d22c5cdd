"""Send the digest: gather, build, record, write, mail, mark — exactly once (see ``store.digests``).

``send_digest`` first resends any digest left 'pending' by a crash or an interrupted send (same
payload, same Message-ID), then builds one from the matches no digest has claimed, records it
(claiming them), writes the configured files and mails it.  A definite refusal releases the matches
for the next run; an uncertain outcome keeps the digest pending so that the same mail is resent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import sqlalchemy as sa

from . import deliver, render, stages
from . import digest as digest_mod
from .config import Config
from .digest import Digest
from .digest_state import DigestState
from .errors import DeliveryError
from .stages import Stage
from .store import digests as store

log = logging.getLogger(__name__)
FOLLOW_UP_WINDOW = timedelta(
    days=3
)  # copies of a story sent this recently are follow-ups, not news
FILE_FORMATS = (
    "markdown",
    "html",
    "text",
    "json",
)  # one file each per digest; atom is a rolling feed


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    """What a digest run did.

    ``status``: a ``DigestState`` (see ``watcher.digest_state`` for each one and their moves).
    """

    status: DigestState
    digest_id: str | None = None
    message_id: str | None = None
    items: int = 0  # stories, after folding
    matches: int = 0
    paths: tuple[Path, ...] = ()
    emailed: tuple[str, ...] = ()
    resent: tuple[str, ...] = ()  # earlier digests delivered again before this one
    error: str | None = None
    rendered: Mapping[str, str] = field(default_factory=dict)


def topic_words(cfg: Config) -> dict[str, list[str]]:
    """Each topic's vocabulary (all its concept terms and the words of its name), for summaries."""
    return {
        t.name: [w for g in t.groups for w in g.terms] + t.name.replace("–", " ").split()
        for t in cfg.topics
    }


def build_digest(
    cfg: Config, engine: sa.Engine, *, now: datetime, since: datetime | None = None
) -> Digest:
    """The digest of pending matches (or of every match since ``since``), with health and stats."""
    now = now.astimezone(UTC)
    if since is not None:
        matches, earlier = store.matches_since(engine, since), []
    else:
        matches, earlier = (
            store.pending_matches(engine),
            store.claimed_since(engine, now - FOLLOW_UP_WINDOW),
        )
    window = since or store.last_digest_at(engine) or now - timedelta(days=1)
    return digest_mod.build(
        matches,
        digest_id=digest_mod.make_id(now),
        created_at=now,
        timezone=cfg.schedule.timezone,
        earlier=earlier,
        topic_words=topic_words(cfg),
        topics=[t.name for t in cfg.topics],
        max_items=cfg.digest.max_items,
        summary_sentences=cfg.digest.summary_sentences,
        health=store.feed_health(engine, now),
        stats=store.cycle_stats(engine, window),
        since=window,
        review=since is not None,
    )


def _stem(cfg: Config, engine: sa.Engine, d: Digest, suffix: str = "") -> Path:
    """A file stem for the digest's day that no other digest used: 2025-01-31, 2025-01-31-2 …"""
    day = d.created_at.astimezone(ZoneInfo(d.timezone)).strftime("%Y-%m-%d") + suffix
    taken = store.paths(engine)
    for n in range(1, 1000):
        stem = cfg.digest.dir / (day if n == 1 else f"{day}-{n}")
        exts = [render.EXTENSIONS[f] for f in FILE_FORMATS]
        if str(stem) not in taken and not any(
            stem.with_name(f"{stem.name}.{e}").exists() for e in exts
        ):
            return stem
    raise DeliveryError(f"{cfg.digest.dir}: too many digests for {day}")


def _message_id(cfg: Config, digest_id: str) -> str:
    domain = cfg.digest.email.from_.rpartition("@")[2].strip("<> ") or "watcher.local"
    # Short enough never to be folded; unique because the digest id has a random part.
    return f"<watcher.{digest_id}@{domain}>"


def _write(
    env: jinja2.Environment, d: Digest, stem: Path, formats: Sequence[str], mode: int = 0o600
) -> list[Path]:
    written = []
    for fmt in formats:
        if fmt in FILE_FORMATS:
            path = stem.with_name(f"{stem.name}.{render.EXTENSIONS[fmt]}")
            deliver.write_atomic(path, render.render(env, fmt, d), mode=mode)
            written.append(path)
    return written


def _deliver(
    cfg: Config,
    engine: sa.Engine,
    d: Digest,
    *,
    message_id: str,
    stem: Path,
    formats: Sequence[str],
    environ: Mapping[str, str],
    ssl_context: ssl.SSLContext | None,
    track: bool = True,
) -> DigestOutcome:
    """Write and mail a recorded digest; if ``track``, mark it sent, failed, or leave it pending."""
    env = render.make_env(cfg.digest.templates)
    paths = tuple(_write(env, d, stem, formats, cfg.digest.file_mode))
    base = DigestOutcome(DigestState.SENT, d.id, message_id, d.count, len(d.match_ids), paths)
    email = cfg.digest.email
    if email.enabled:
        msg = deliver.build_message(
            subject=render.subject(d, email.subject),
            sender=email.from_,
            to=email.to,
            text=render.render(env, "text", d),
            html=render.render(env, "html", d),
            message_id=message_id,
            date=d.created_at,
            digest_id=d.id,
        )
        result = deliver.send(email, msg, environ=environ, ssl_context=ssl_context)
        if not result.ok:
            error = result.error or "send failed"
            if not track:
                return dataclasses.replace(base, status=DigestState.FAILED, error=error)
            if result.definite:
                released = store.mark_failed(engine, d.id, error)
                log.warning("digest=%s status=failed released=%d error=%s", d.id, released, error)
                return dataclasses.replace(base, status=DigestState.FAILED, error=error)
            store.note_error(engine, d.id, error)
            log.warning("digest=%s status=pending (will be resent as is) error=%s", d.id, error)
            return dataclasses.replace(base, status=DigestState.PENDING, error=error)
        base = dataclasses.replace(
            base, emailed=tuple(r for r in email.to if r not in result.refused)
        )
    if track:
        stages.reached(cfg.stop_at, Stage.DIGEST_DELIVERED, digest=d.id)
        store.mark_sent(engine, d.id, datetime.now(UTC))
    log.info(
        "digest=%s status=sent items=%d matches=%d files=%d",
        d.id,
        base.items,
        base.matches,
        len(paths),
    )
    return base


def _resend_unfinished(
    cfg: Config,
    engine: sa.Engine,
    formats: Sequence[str],
    environ: Mapping[str, str],
    ctx: ssl.SSLContext | None,
) -> tuple[list[str], DigestOutcome | None]:
    """Resend every pending digest as recorded; stop at the first that does not go through."""
    done: list[str] = []
    for old in store.unfinished(engine):
        d = digest_mod.from_dict(json.loads(old.payload))
        stem = Path(old.path) if old.path else _stem(cfg, engine, d)
        outcome = _deliver(
            cfg,
            engine,
            d,
            message_id=old.message_id,
            stem=stem,
            formats=formats,
            environ=environ,
            ssl_context=ctx,
        )
        if outcome.status is not DigestState.SENT:
            return done, dataclasses.replace(outcome, resent=tuple(done))
        done.append(old.id)
    return done, None


def write_feed(cfg: Config, engine: sa.Engine, *, now: datetime) -> Path:
    """Rewrite ``feed.atom``: the most recent matches (folded), newest first."""
    recent = store.recent_matches(engine, cfg.digest.atom_items)
    d = digest_mod.build(
        recent,
        digest_id="feed",
        created_at=now,
        timezone=cfg.schedule.timezone,
        topic_words=topic_words(cfg),
        max_items=len(recent) or 1,
        summary_sentences=cfg.digest.summary_sentences,
    )
    items = sorted(
        (it for s in d.sections for it in s.all_items),
        key=lambda it: (it.time, it.match_id),
        reverse=True,
    )
    feed_id = "urn:watcher:feed:" + hashlib.sha256(cfg.db_url.encode()).hexdigest()[:16]
    path = cfg.digest.dir / "feed.atom"
    deliver.write_atomic(
        path,
        render.render_atom(items, feed_id=feed_id, title="watcher matches", updated=now),
        mode=cfg.digest.file_mode,
    )
    return path


def send_digest(
    cfg: Config,
    engine: sa.Engine,
    *,
    now: datetime,
    since: datetime | None = None,
    dry_run: bool = False,
    formats: Sequence[str] | None = None,
    environ: Mapping[str, str] = os.environ,
    ssl_context: ssl.SSLContext | None = None,
) -> DigestOutcome:
    """Deliver what has not been delivered; see the module docstring for the order of steps."""
    if dry_run or since is not None:  # nothing is claimed or marked: no need to wait for a sender
        return _send_digest(cfg, engine, now=now, since=since, dry_run=dry_run, formats=formats,
                            environ=environ, ssl_context=ssl_context)  # fmt: skip
    with store.sender_lock(engine):  # one sender at a time, across workers (issue 13)
        return _send_digest(cfg, engine, now=now, since=since, dry_run=dry_run, formats=formats,
                            environ=environ, ssl_context=ssl_context)  # fmt: skip


def _send_digest(
    cfg: Config,
    engine: sa.Engine,
    *,
    now: datetime,
    since: datetime | None,
    dry_run: bool,
    formats: Sequence[str] | None,
    environ: Mapping[str, str],
    ssl_context: ssl.SSLContext | None,
) -> DigestOutcome:
    now = now.astimezone(UTC)
    fmts = tuple(formats or cfg.digest.formats)
    resent: list[str] = []
    if not dry_run and since is None:
        resent, stopped = _resend_unfinished(cfg, engine, fmts, environ, ssl_context)
        if stopped is not None:
            return stopped
    d = build_digest(cfg, engine, now=now, since=since)
    env = render.make_env(cfg.digest.templates)
    if dry_run:
        rendered = {f: render.render(env, f, d) for f in fmts}
        return DigestOutcome(DigestState.DRY, d.id, None, d.count, len(d.match_ids), rendered=rendered)
    feed = [write_feed(cfg, engine, now=now)] if "atom" in fmts else []
    if since is not None:
        paths = _write(env, d, _stem(cfg, engine, d, "-review"), fmts, cfg.digest.file_mode)
        return DigestOutcome(DigestState.REVIEW, d.id, None, d.count, len(d.match_ids), tuple(paths + feed))
    if d.empty and cfg.digest.empty == "skip":
        log.info("digest: nothing new, skipped")
        return DigestOutcome(DigestState.SKIPPED, resent=tuple(resent), paths=tuple(feed))
    stem = _stem(cfg, engine, d)
    message_id = _message_id(cfg, d.id)
    payload = json.dumps(digest_mod.to_dict(d), ensure_ascii=False)
    store.record(
        engine,
        digest_id=d.id,
        message_id=message_id,
        created_at=now,
        payload=payload,
        items=d.count,
        match_ids=d.match_ids,
        path=str(stem),
    )
    stages.reached(cfg.stop_at, Stage.DIGEST_RECORDED, digest=d.id)
    outcome = _deliver(
        cfg,
        engine,
        d,
        message_id=message_id,
        stem=stem,
        formats=fmts,
        environ=environ,
        ssl_context=ssl_context,
    )
    return dataclasses.replace(outcome, resent=tuple(resent), paths=outcome.paths + tuple(feed))


def resend_digest(
    cfg: Config,
    engine: sa.Engine,
    digest_id: str,
    *,
    formats: Sequence[str] | None = None,
    environ: Mapping[str, str] = os.environ,
    ssl_context: ssl.SSLContext | None = None,
) -> DigestOutcome:
    """Deliver a past digest again: same items, same Message-ID (its files are rewritten too)."""
    old = store.load(engine, digest_id)
    if old is None:
        raise DeliveryError(f"no digest {digest_id!r} (see `watcher digest list`)")
    d = digest_mod.from_dict(json.loads(old.payload))
    # A sent digest stays sent whatever happens now; a failed one is pending again (and takes back
    # those of its matches no other digest has claimed meanwhile), so success marks its items sent.
    track = old.status is not DigestState.SENT
    if old.status is DigestState.FAILED:
        store.reopen(engine, old.id, d.match_ids)
    stem = Path(old.path) if old.path else _stem(cfg, engine, d)
    return _deliver(
        cfg,
        engine,
        d,
        message_id=old.message_id,
        stem=stem,
        formats=tuple(formats or cfg.digest.formats),
        environ=environ,
        ssl_context=ssl_context,
        track=track,
    )


def write_markdown_digest(
    cfg: Config, engine: sa.Engine, *, now: datetime, dry_run: bool = False
) -> Path | None:
    """Deliver the digest with Markdown among its files; the .md path, if one was written."""
    formats = tuple(dict.fromkeys(("markdown", *cfg.digest.formats)))
    outcome = send_digest(cfg, engine, now=now, dry_run=dry_run, formats=formats)
    return next((p for p in outcome.paths if p.suffix == ".md"), None)
