"""Pure: what a SIGHUP reload changes, and which of those changes need a restart (issue 17).

A running daemon applies a new config at once for everything it reads per cycle or per job (feeds,
topics, http, the schedule's rules, the digest's settings) and reschedules its tick and digest jobs
when their times change.  Two things are fixed for the life of the process: the database it opened
(``storage``) and its extraction pool and parsing helper (``extract``); their changes are reported,
and the daemon keeps running with the old values until it is restarted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .config import Config

RESTART_ONLY = ("storage.db", "storage.file_mode", "extract")
# Changes that the daemon must act on (its scheduler jobs), beyond reading the new config.
RESCHEDULE_TICK = frozenset({"schedule.poll_interval", "schedule.timezone"})
RESCHEDULE_DIGEST = frozenset({"schedule.digest_at", "schedule.timezone"})


@dataclass(frozen=True, slots=True)
class Reload:
    """The config to run with now, the settings that changed and were applied, and those not."""

    cfg: Config
    applied: tuple[str, ...]
    need_restart: tuple[str, ...]


def changed(old: Config, new: Config) -> list[str]:
    """Dotted names of the settings that differ (schedule field by field, other sections whole)."""
    out = []
    if old.db != new.db:
        out.append("storage.db")
    if old.db_file_mode != new.db_file_mode:
        out.append("storage.file_mode")
    for f in dataclasses.fields(old.schedule):
        if getattr(old.schedule, f.name) != getattr(new.schedule, f.name):
            out.append(f"schedule.{f.name}")
    for section in ("http", "extract", "digest", "feeds", "topics"):
        if getattr(old, section) != getattr(new, section):
            out.append(section)
    return out


def plan(old: Config, new: Config) -> Reload:
    """Apply what can be applied; keep the running values of what needs a restart."""
    names = changed(old, new)
    restart = tuple(n for n in names if n in RESTART_ONLY)
    cfg = dataclasses.replace(
        new, db=old.db, db_file_mode=old.db_file_mode, extract=old.extract, stop_at=old.stop_at
    )
    return Reload(cfg, tuple(n for n in names if n not in RESTART_ONLY), restart)


__all__ = ["RESCHEDULE_DIGEST", "RESCHEDULE_TICK", "RESTART_ONLY", "Reload", "changed", "plan"]
