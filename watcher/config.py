"""TOML -> validated, frozen dataclasses.

The only module that reads environment variables and resolves paths.  Every error names the field path
(``feeds[3].url``) and, for an unknown key, suggests the nearest valid one.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config_alerts import AlertsConfig, parse_alerts
from .config_topic import ConceptGroup as ConceptGroup  # re-exported: part of the config API
from .config_topic import SimilarityConfig as SimilarityConfig
from .config_topic import TopicConfig as TopicConfig
from .config_topic import parse_topic
from .errors import ConfigError
from .stages import StopAt, from_env
from .tomlread import Table as _Table
from .tomlread import hint as _hint
from .tomlread import parse_duration as parse_duration  # re-exported: part of the config API
from .tomlread import resolve_path as _path

DEFAULT_USER_AGENT = "watcher/0.1 (+{contact})"


@dataclass(frozen=True, slots=True)
class HttpConfig:
    allow_private_addresses: bool = False
    allow_networks: tuple[str, ...] = ()
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_body_bytes: int = 8 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 32
    per_host_concurrency: int = 2
    min_host_gap: float = 0.25
    contact: str = "https://github.com/watcher-news/watcher"
    user_agent: str = ""

    @property
    def agent(self) -> str:
        return self.user_agent or DEFAULT_USER_AGENT.format(contact=self.contact)


@dataclass(frozen=True, slots=True)
class ExtractConfig:
    fetch_articles: bool = True
    timeout: float = 20.0
    workers: int = 0  # 0: one per core
    max_html_bytes: int = 4 * 1024 * 1024
    max_tree_nodes: int = 200_000
    max_tree_depth: int = 200  # libxml2 silently flattens nesting beyond 256
    min_text_chars: int = 200
    favor: str = "speed"  # trafilatura trade-off: speed (~0.9x plain extract), balanced, precision, recall
    metadata: str = "quick"  # quick: what the page declares; full: trafilatura's whole pass (~4x slower)
    parse_helper: bool = True  # parse feeds in a helper process (more than one core, big cycles)


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    poll_interval: float = 900.0
    min_interval: float = 600.0
    max_interval: float = 6 * 3600.0
    backoff_cap: float = 24 * 3600.0
    unconditional_every: float = 12 * 3600.0
    digest_at: str = "07:00"
    timezone: str = "UTC"
    retention: float = 90 * 86400.0
    lease: float = 600.0
    claim_batch: int = 200  # PostgreSQL workers claim due feeds this many at a time (issue 13)


@dataclass(frozen=True, slots=True)
class EmailConfig:
    enabled: bool = False
    smtp_host: str = "localhost"
    smtp_port: int = 587
    from_: str = "watcher@localhost"
    to: tuple[str, ...] = ()
    starttls: bool = True
    ssl: bool = False
    username: str = ""
    password_env: str = ""
    subject: str = "watcher digest {date}: {count} new"
    timeout: float = 30.0

    def password(self, environ: Mapping[str, str]) -> str | None:
        """The SMTP password from the named environment variable, never from the file."""
        return environ.get(self.password_env) if self.password_env else None


@dataclass(frozen=True, slots=True)
class DigestConfig:
    dir: Path = Path("digests")
    formats: tuple[str, ...] = ("markdown", "json", "atom")
    empty: str = "skip"  # "skip" or "note"
    max_items: int = 50
    summary_sentences: int = 3
    atom_items: int = 100
    templates: Path | None = None  # folder whose files override the bundled templates
    email: EmailConfig = field(default_factory=EmailConfig)
    file_mode: int = 0o600  # digest files: the owner's only, unless configured ("0640")


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """``[serve]``: the local review page (``watcher serve``, issue 14)."""

    host: str = "127.0.0.1"
    port: int = 8765
    token_env: str = ""  # names the variable holding the access token (required off loopback)
    near_margin: float = 0.15  # near misses: scores within this much below the threshold
    page_size: int = 50
    rescore_days: int = 7  # the label effect re-scores articles first seen in this many days

    def token(self, environ: Mapping[str, str]) -> str | None:
        """The access token from the named environment variable, never from the file."""
        return (environ.get(self.token_env) or None) if self.token_env else None


@dataclass(frozen=True, slots=True)
class FeedConfig:
    url: str
    name: str = ""
    enabled: bool = True
    interval: float | None = None


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None
    db: str  # a file path or an SQLAlchemy URL
    http: HttpConfig = field(default_factory=HttpConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    feeds: tuple[FeedConfig, ...] = ()
    topics: tuple[TopicConfig, ...] = ()
    db_file_mode: int = 0o600  # [storage] file_mode: a new SQLite file is the owner's only
    serve: ServeConfig = field(default_factory=ServeConfig)
    stop_at: StopAt | None = None  # tests only: WATCHER_TEST_PAUSE / WATCHER_TEST_EXIT (stages.py)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)  # [alerts] (issue 15)

    @property
    def db_shown(self) -> str:
        """The database for messages and logs: a URL's password masked."""
        return _mask_password(self.db)

    @property
    def db_url(self) -> str:
        return self.db if "://" in self.db else f"sqlite:///{self.db}"

    def topic(self, name: str | None) -> TopicConfig:
        """The named topic, or the first one."""
        if not self.topics:
            raise ConfigError("topics: no topic is configured")
        if name is None:
            return self.topics[0]
        for topic in self.topics:
            if topic.name == name:
                return topic
        names = [t.name for t in self.topics]
        raise ConfigError(f"topic {name!r} is not configured{_hint(name, names)}")


def _mask_password(url: str) -> str:
    """A URL with its password (if any) replaced by ***."""
    try:
        parts = urlsplit(url)
        if "://" not in url or parts.password is None:
            return url
    except ValueError:
        return url
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{parts.netloc.rpartition('@')[2]}"))


def _file_mode(t: _Table, key: str) -> int:
    """A file mode: an octal string such as "0640" (or TOML's 0o640); the owner keeps read-write."""
    t.known.add(key)
    value = t.raw.get(key, 0o600)
    mode = -1
    if isinstance(value, str) and re.fullmatch(r"0?o?[0-7]{3}", value.strip()):
        mode = int(value.strip().lstrip("0o") or "0", 8)
    elif isinstance(value, int) and not isinstance(value, bool):
        mode = value
    if not 0 <= mode <= 0o777 or mode & 0o600 != 0o600:
        raise ConfigError(
            f'{t.where(key)}: expected an octal file mode such as "0600" or "0640" that lets the '
            f"owner read and write, got {value!r}"
        )
    return mode


def _http(t: _Table) -> HttpConfig:
    d = HttpConfig()
    cfg = HttpConfig(
        allow_private_addresses=t.flag("allow_private_addresses", d.allow_private_addresses),
        allow_networks=t.strs("allow_networks", d.allow_networks),
        connect_timeout=t.number("connect_timeout", d.connect_timeout, 0.01),
        read_timeout=t.number("read_timeout", d.read_timeout, 0.01),
        max_body_bytes=t.whole("max_body_bytes", d.max_body_bytes, 1024),
        max_redirects=t.whole("max_redirects", d.max_redirects, 0),
        concurrency=t.whole("concurrency", d.concurrency, 1),
        per_host_concurrency=t.whole("per_host_concurrency", d.per_host_concurrency, 1),
        min_host_gap=t.number("min_host_gap", d.min_host_gap),
        contact=t.text("contact", d.contact),
        user_agent=t.text("user_agent", d.user_agent),
    )
    t.finish()
    return cfg


def _extract(t: _Table) -> ExtractConfig:
    d = ExtractConfig()
    cfg = ExtractConfig(
        fetch_articles=t.flag("fetch_articles", d.fetch_articles),
        timeout=t.number("timeout", d.timeout, 0.01),
        workers=t.whole("workers", d.workers, 0),
        max_html_bytes=t.whole("max_html_bytes", d.max_html_bytes, 1024),
        max_tree_nodes=t.whole("max_tree_nodes", d.max_tree_nodes, 100),
        max_tree_depth=t.whole("max_tree_depth", d.max_tree_depth, 10),
        min_text_chars=t.whole("min_text_chars", d.min_text_chars, 0),
        favor=t.choice("favor", d.favor, ("precision", "balanced", "recall", "speed")),
        metadata=t.choice("metadata", d.metadata, ("quick", "full")),
        parse_helper=t.flag("parse_helper", d.parse_helper),
    )
    t.finish()
    return cfg


def _schedule(t: _Table) -> ScheduleConfig:
    d = ScheduleConfig()
    digest_at = t.text("digest_at", d.digest_at)
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?", digest_at):
        raise ConfigError(f'{t.where("digest_at")}: expected a time such as "07:00", got {digest_at!r}')
    tz = t.text("timezone", d.timezone)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as e:  # OSError: "America", a long name
        raise ConfigError(f"{t.where('timezone')}: unknown IANA time zone {tz!r}") from e
    cfg = ScheduleConfig(
        poll_interval=t.duration("poll_interval", d.poll_interval),
        min_interval=t.duration("min_interval", d.min_interval),
        max_interval=t.duration("max_interval", d.max_interval),
        backoff_cap=t.duration("backoff_cap", d.backoff_cap),
        unconditional_every=t.duration("unconditional_every", d.unconditional_every),
        digest_at=digest_at,
        timezone=tz,
        retention=t.duration("retention", d.retention),
        lease=t.duration("lease", d.lease),
        claim_batch=t.whole("claim_batch", d.claim_batch, 1),
    )
    t.finish()
    if cfg.min_interval > cfg.max_interval:
        raise ConfigError("schedule.min_interval: must not exceed schedule.max_interval")
    return cfg


def _email(t: _Table) -> EmailConfig:
    d = EmailConfig()
    if "password" in t.raw:
        raise ConfigError(
            f"{t.where('password')}: passwords are not read from the file; "
            "name an environment variable in password_env"
        )
    cfg = EmailConfig(
        enabled=t.flag("enabled", d.enabled),
        smtp_host=t.text("smtp_host", d.smtp_host),
        smtp_port=t.whole("smtp_port", d.smtp_port, 1),
        from_=t.text("from", d.from_),
        to=t.strs("to", d.to),
        starttls=t.flag("starttls", d.starttls),
        ssl=t.flag("ssl", d.ssl),
        username=t.text("username", d.username),
        password_env=t.text("password_env", d.password_env),
        subject=t.text("subject", d.subject),
        timeout=t.number("timeout", d.timeout, 0.01),
    )
    t.finish()
    if cfg.ssl and cfg.starttls:
        raise ConfigError(f"{t.where('ssl')}: ssl (implicit TLS) and starttls exclude each other")
    if cfg.enabled and not cfg.to:
        raise ConfigError(f"{t.where('to')}: e-mail is enabled but has no recipient")
    if cfg.username and not (cfg.ssl or cfg.starttls) and not _loopback(cfg.smtp_host):
        raise ConfigError(
            f"{t.where('username')}: a login without TLS would send the password in clear text; "
            "set starttls or ssl (plain logins go to a relay on this machine only)"
        )
    return cfg


def _serve(t: _Table) -> ServeConfig:
    d = ServeConfig()
    if "token" in t.raw:
        raise ConfigError(
            f"{t.where('token')}: tokens are not read from the file; name an environment variable "
            "in token_env"
        )
    cfg = ServeConfig(
        host=t.text("host", d.host),
        port=t.whole("port", d.port, 0),
        token_env=t.text("token_env", d.token_env),
        near_margin=t.number("near_margin", d.near_margin, 0.0, 1.0),
        page_size=t.whole("page_size", d.page_size, 1),
        rescore_days=t.whole("rescore_days", d.rescore_days, 0),
    )
    t.finish()
    return cfg


def _loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _digest(t: _Table, base: Path) -> DigestConfig:
    d = DigestConfig()
    formats = t.strs("formats", d.formats)
    for i, f in enumerate(formats):
        valid = ("markdown", "html", "text", "json", "atom")
        if f not in valid:
            raise ConfigError(f"{t.where('formats')}[{i}]: unknown format {f!r}{_hint(f, valid)}")
    templates = t.text("templates", "")
    cfg = DigestConfig(
        dir=_path(base, t.text("dir", str(d.dir))),
        formats=formats,
        empty=t.choice("empty", d.empty, ("skip", "note")),
        max_items=t.whole("max_items", d.max_items, 1),
        summary_sentences=t.whole("summary_sentences", d.summary_sentences, 1),
        atom_items=t.whole("atom_items", d.atom_items, 1),
        templates=_path(base, templates) if templates else None,
        email=_email(t.table("email")),
        file_mode=_file_mode(t, "file_mode"),
    )
    t.finish()
    return cfg


def _feeds(root: _Table) -> tuple[FeedConfig, ...]:
    feeds: list[FeedConfig] = []
    seen: dict[str, str] = {}
    for t in root.tables("feeds"):
        url = t.text("url", "")
        if not re.match(r"^https?://[^\s/]+", url):
            raise ConfigError(f"{t.where('url')}: expected an http(s) URL, got {url!r}")
        if url in seen:
            raise ConfigError(f"{t.where('url')}: {url} is already listed as {seen[url]}")
        seen[url] = t.path
        interval = t.duration("interval", 0) if "interval" in t.raw else None
        feeds.append(
            FeedConfig(url=url, name=t.text("name", ""), enabled=t.flag("enabled", True), interval=interval)
        )
        t.finish()
    return tuple(feeds)


def parse(raw: dict[str, Any], base_dir: Path, path: Path | None = None, db: str | None = None) -> Config:
    """Validate a parsed TOML document; relative paths resolve against base_dir."""
    root = _Table(raw, "")
    storage = root.table("storage")
    db_value = db or storage.text("db", "seen.db")
    if not db and _mask_password(db_value) != db_value:
        raise ConfigError(
            f"{storage.where('db')}: passwords are not read from the file; leave it out of the URL "
            "and set PGPASSWORD (or pass the whole URL in WATCHER_DB)"
        )
    storage.known.add("db")  # read even when --db / WATCHER_DB overrides it
    db_file_mode = _file_mode(storage, "file_mode")
    storage.finish()
    topics = tuple(parse_topic(t, base_dir) for t in root.tables("topics"))
    names = [t.name for t in topics]
    if len(set(names)) != len(names):
        raise ConfigError("topics: two topics share a name")
    cfg = Config(
        path=path,
        db=db_value if "://" in db_value else str(_path(base_dir, db_value)),
        http=_http(root.table("http")),
        extract=_extract(root.table("extract")),
        schedule=_schedule(root.table("schedule")),
        digest=_digest(root.table("digest"), base_dir),
        feeds=_feeds(root),
        topics=topics,
        db_file_mode=db_file_mode,
        serve=_serve(root.table("serve")),
        alerts=parse_alerts(root.table("alerts"), names),
    )
    root.finish()
    return cfg


def apply_override(raw: dict[str, Any], assignment: str) -> None:
    """Apply one ``--set a.b.c=VALUE`` (VALUE in TOML syntax; a bare word is taken as a string)."""
    key, sep, text = assignment.partition("=")
    key = key.strip()
    if not sep or not re.fullmatch(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*", key):
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE, e.g. http.allow_private_addresses=true")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        value = text
    table = raw
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        nxt = table.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"--set {key}: {'.'.join(parts[: i + 1])} is not a table")
        table = nxt
    table[parts[-1]] = value


def load(
    path: Path | None,
    *,
    overrides: Sequence[str] = (),
    db: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read the config file (``--config`` / ``WATCHER_CONFIG`` / ./config.toml) and apply overrides."""
    env = os.environ if environ is None else environ
    if path is None and env.get("WATCHER_CONFIG"):
        path = Path(env["WATCHER_CONFIG"])
    if path is None and Path("config.toml").is_file():
        path = Path("config.toml")
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise ConfigError(f"{path}: no such config file") from e
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read: {e}") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: invalid TOML: {e}") from e
        except RecursionError as e:  # tomllib recurses per nested array or inline table
            raise ConfigError(f"{path}: invalid TOML: nested too deeply") from e
    for assignment in overrides:
        apply_override(raw, assignment)
    base = path.resolve().parent if path is not None else Path.cwd()
    cfg = parse(raw, base, path, db or env.get("WATCHER_DB") or None)
    try:
        stop_at = from_env(env)
    except ValueError as e:
        raise ConfigError(str(e)) from e
    return dataclasses.replace(cfg, stop_at=stop_at) if stop_at else cfg
