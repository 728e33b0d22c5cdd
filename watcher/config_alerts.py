"""``[alerts]`` in config.toml -> a frozen ``AlertsConfig`` (issue 15).

Kept beside ``config.py`` (which calls ``parse_alerts``) so that the alerts keys live in one place.
Apprise URLs carry tokens: put them in an environment variable named by ``urls_env`` rather than in
the file.  Per-topic thresholds: ``[alerts.topics.NAME] min_score = 0.8``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from .errors import ConfigError
from .tomlread import Table
from .tomlread import hint as _hint

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUIET = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


@dataclass(frozen=True, slots=True)
class Target:
    """One Apprise URL and where it was configured (the label is shown; the URL holds secrets)."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    enabled: bool = True
    urls: tuple[str, ...] = ()
    urls_env: tuple[str, ...] = ()  # variables holding Apprise URLs (whitespace or comma separated)
    min_score: float = 0.7
    topic_min_score: Mapping[str, float] = field(default_factory=dict)
    max_per_hour: int = 10  # messages; 0: no limit.  Matches held back are folded, never dropped
    max_items: int = 20  # items listed in one message; the rest go in the next one
    quiet_hours: tuple[time, time] | None = None  # in [schedule] timezone; held, sent after
    retry_max: float = 3600.0  # seconds: the longest wait between two attempts

    @property
    def configured(self) -> bool:
        """Alerts are wanted: some target is configured (even if its variable is not set now)."""
        return self.enabled and bool(self.urls or self.urls_env)

    def threshold(self, topic: str) -> float:
        return self.topic_min_score.get(topic, self.min_score)

    def targets(self, environ: Mapping[str, str]) -> tuple[list[Target], list[str]]:
        """The Apprise URLs to notify, and one error line for each variable that is not set."""
        out = [Target(f"alerts.urls[{i}]", u) for i, u in enumerate(self.urls)]
        errors = []
        for name in self.urls_env:
            value = environ.get(name, "").strip()
            if not value:
                errors.append(f"alerts.urls_env: ${name} is not set or empty")
                continue
            parts = [u for u in re.split(r"[\s,]+", value) if u]
            out.extend(Target(f"${name}[{i}]", u) for i, u in enumerate(parts))
        return out, errors

    def quiet(self, now: datetime, timezone: str) -> bool:
        """Whether ``now`` falls in the quiet hours (a window may span midnight: 22:00-07:00)."""
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        local = now.astimezone(ZoneInfo(timezone)).time().replace(tzinfo=None)
        if start <= end:
            return start <= local < end
        return local >= start or local < end


def parse_quiet_hours(value: str, where: str) -> tuple[time, time] | None:
    if not value.strip():
        return None
    m = _QUIET.match(value)
    if not m:
        raise ConfigError(f'{where}: expected a window such as "22:00-07:00", got {value!r}')
    start = time(int(m.group(1)), int(m.group(2)))
    end = time(int(m.group(3)), int(m.group(4)))
    if start == end:
        raise ConfigError(f"{where}: start and end are the same ({value!r})")
    return start, end


def _names(t: Table, key: str) -> tuple[str, ...]:
    t.known.add(key)
    value = t.raw.get(key, ())
    names = (value,) if isinstance(value, str) else t.strs(key, ())
    for name in names:
        if not _ENV_NAME.fullmatch(name):
            raise ConfigError(f"{t.where(key)}: {name!r} is not an environment variable name")
    return tuple(names)


def parse_alerts(t: Table, topics: Sequence[str]) -> AlertsConfig:
    """Validate ``[alerts]``; ``topics`` are the configured topic names (per-topic keys must name one)."""
    d = AlertsConfig()
    urls = t.strs("urls", ())
    for i, url in enumerate(urls):
        if not re.match(r"^[a-z][a-z0-9+.-]*://", url, re.IGNORECASE):
            raise ConfigError(f"{t.where('urls')}[{i}]: expected an Apprise URL such as json://host/")
    per_topic: dict[str, float] = {}
    tt = t.table("topics")
    for name in list(tt.raw):
        if name not in topics:
            raise ConfigError(
                f"{tt.where(name)}: no topic {name!r} is configured{_hint(name, list(topics))}"
            )
        sub = tt.table(name)
        per_topic[name] = sub.number("min_score", d.min_score, 0.0, 1.0)
        sub.finish()
    tt.finish()
    cfg = AlertsConfig(
        enabled=t.flag("enabled", d.enabled),
        urls=urls,
        urls_env=_names(t, "urls_env"),
        min_score=t.number("min_score", d.min_score, 0.0, 1.0),
        topic_min_score=per_topic,
        max_per_hour=t.whole("max_per_hour", d.max_per_hour, 0),
        max_items=t.whole("max_items", d.max_items, 1),
        quiet_hours=parse_quiet_hours(t.text("quiet_hours", ""), t.where("quiet_hours")),
        retry_max=t.duration("retry_max", d.retry_max),
    )
    t.finish()
    return cfg
