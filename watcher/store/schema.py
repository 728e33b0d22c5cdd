"""The database schema (SQLAlchemy Core tables) and its versioned migrations.

Times are stored as timezone-aware UTC datetimes.  The schema version lives in the ``meta`` table so that
the same code runs on SQLite and PostgreSQL.  A migration is a function from version N-1 to N; a database
whose version is newer than ``SCHEMA_VERSION`` is refused.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

metadata = sa.MetaData()
UTC_TIME = sa.DateTime(timezone=True)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False, unique=True),  # as configured or added
    sa.Column("current_url", sa.Text),  # after permanent redirects
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    sa.Column("title", sa.Text, nullable=False, server_default=""),  # as the feed calls itself
    sa.Column("source", sa.String(16), nullable=False, server_default="config"),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("retired", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("interval", sa.Float),  # per-feed override, seconds
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("body_hash", sa.String(64)),
    sa.Column("last_status", sa.String(32)),
    sa.Column("last_http_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("warning", sa.Text),  # e.g. bozo text of the last parse
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("first_failure_at", UTC_TIME),
    sa.Column("last_success_at", UTC_TIME),
    sa.Column("last_polled_at", UTC_TIME),
    sa.Column("last_unconditional_at", UTC_TIME),
    sa.Column("next_poll_at", UTC_TIME),
    sa.Column("lease_until", UTC_TIME),  # claim of one poller; expires by itself
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("adaptive_interval", sa.Float),  # the schedule's current interval, seconds
    sa.Column("created_at", UTC_TIME, nullable=False),
)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id"), nullable=False),  # where first seen
    sa.Column("url", sa.Text, nullable=False, unique=True),  # canonical; the identity
    sa.Column("link", sa.Text, nullable=False),  # as the feed gave it
    sa.Column("guid", sa.Text),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("summary", sa.Text, nullable=False, server_default=""),
    sa.Column("author", sa.Text, nullable=False, server_default=""),
    sa.Column("published_at", UTC_TIME),
    sa.Column("first_seen_at", UTC_TIME, nullable=False),
    sa.Index("ix_entries_guid", "guid"),
    sa.Index("ix_entries_first_seen", "first_seen_at"),
)

# Which feeds carried an entry (an article can reach us through several feeds).
entry_feeds = sa.Table(
    "entry_feeds",
    metadata,
    sa.Column(
        "entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("seen_at", UTC_TIME, nullable=False),
)

articles = sa.Table(
    "articles",
    metadata,
    sa.Column(
        "entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("final_url", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),  # ok, fallback, timeout, failed, too_large
    sa.Column("source", sa.String(16), nullable=False),  # trafilatura, feed, none
    sa.Column("extractor_version", sa.String(32), nullable=False, server_default=""),
    sa.Column("error", sa.Text),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("sitename", sa.Text, nullable=False, server_default=""),
    sa.Column("author", sa.Text, nullable=False, server_default=""),
    sa.Column("language", sa.String(16)),
    sa.Column("published_at", UTC_TIME),
    sa.Column("text", sa.Text, nullable=False, server_default=""),
    sa.Column("raw_html", sa.LargeBinary),  # zlib-compressed page, kept for matches as evidence
    sa.Column("raw_sha256", sa.String(64)),
    sa.Column("fetched_at", UTC_TIME),
)

matches = sa.Table(
    "matches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("reasons", sa.Text, nullable=False, server_default=""),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),  # JSON of the Score
    sa.Column("matched_at", UTC_TIME, nullable=False),
    sa.Column("digest_id", sa.String(64), sa.ForeignKey("digests.id")),  # set once, when recorded
    sa.Column("cluster_key", sa.String(64)),  # near-duplicate fingerprint (syndicated copies)
    sa.UniqueConstraint("entry_id", "topic", name="uq_matches_entry_topic"),
    sa.Index("ix_matches_digest", "digest_id"),
)

labels = sa.Table(
    "labels",
    metadata,
    sa.Column(
        "entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("topic", sa.Text, primary_key=True),
    sa.Column("relevant", sa.Boolean, nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
)

digests = sa.Table(
    "digests",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("message_id", sa.Text, nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("sent_at", UTC_TIME),
    sa.Column("status", sa.String(16), nullable=False),  # pending, sent, failed, dry
    sa.Column("error", sa.Text),
    sa.Column("items", sa.Integer, nullable=False, server_default="0"),
    sa.Column("payload", sa.Text, nullable=False, server_default="{}"),  # the rendered data (JSON)
    sa.Column("path", sa.Text),
)

# One row a poll cycle: what `status` and the empty-day note report.
cycles = sa.Table(
    "cycles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("started_at", UTC_TIME, nullable=False),
    sa.Column("finished_at", UTC_TIME),
    sa.Column("feeds", sa.Integer, nullable=False, server_default="0"),
    sa.Column("errors", sa.Integer, nullable=False, server_default="0"),
    sa.Column("new_entries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("matches", sa.Integer, nullable=False, server_default="0"),
)

V1_TABLES = list(metadata.tables.values())  # the first schema (tables added later are below)


def _v1(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=V1_TABLES)


# --- issue 13: several workers on one PostgreSQL (begin) ---------------------------------------
# Tables of the fleet: who is running (``workers``), the next moment each host may be asked
# (``hosts``, shared politeness), and which scheduled digest a worker took (``digest_slots``).
workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # host:pid:random, also the lease owner
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started", UTC_TIME, nullable=False),
    sa.Column("heartbeat", UTC_TIME, nullable=False),
    sa.Column("version", sa.String(32), nullable=False),  # watcher's version
    sa.Column("schema", sa.Integer, nullable=False),  # the schema version it was built for
    sa.Column("state", sa.Text, nullable=False, server_default="{}"),  # JSON: last cycle, digest
)

hosts = sa.Table(
    "hosts",
    metadata,
    sa.Column("host", sa.Text, primary_key=True),
    sa.Column("next_at", UTC_TIME, nullable=False),  # no request may start before (fleet-wide)
)

digest_slots = sa.Table(
    "digest_slots",
    metadata,
    sa.Column("slot", sa.String(64), primary_key=True),  # the scheduled time, ISO 8601
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("claimed_at", UTC_TIME, nullable=False),
)

FLEET_TABLES = (workers, hosts, digest_slots)


def _v4_workers(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=FLEET_TABLES)
    # The claim walks due feeds in next_poll_at order and stops at its batch: with this index it
    # reads a batch's rows, not the whole table (100,000 feeds: bench/scale.py).
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                "CREATE INDEX IF NOT EXISTS ix_feeds_due ON feeds (next_poll_at ASC NULLS FIRST)"
            )
        )
    else:  # SQLite sorts NULL first anyway and takes no NULLS clause in an index
        conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_feeds_due ON feeds (next_poll_at)"))


# --- issue 13 (end) -----------------------------------------------------------------------------

# MIGRATIONS[n] brings a database from version n to n + 1.
MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {0: _v1}

# ---- issue 14 (watcher serve): the score of every scored article, matched or not -------------------
# The near misses (articles just below a topic's threshold) and the review page read it.
scores = sa.Table(
    "scores",
    metadata,
    sa.Column(
        "entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("topic", sa.Text, primary_key=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),  # JSON of the Score
    sa.Column("scored_at", UTC_TIME, nullable=False),
    sa.Index("ix_scores_topic_scored", "topic", "scored_at"),  # near misses: newest first
)


def _v2_serve(conn: sa.Connection) -> None:
    """The scores table, and indexes the review pages filter and sort by."""
    scores.create(conn, checkfirst=True)
    # Plain SQL: an sa.Index built here would attach itself to the table on every call.
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_matches_matched ON matches (matched_at)"))


SCHEMA_VERSION = 2
MIGRATIONS[1] = _v2_serve
# ---- end issue 14 ----------------------------------------------------------------------------------

# --- issue 15: alerts (tables and migration of this feature) ---------------------------------------
# Outside `metadata` so that _v1 keeps creating exactly the version-1 tables; _v3_alerts adds these.
alerts_metadata = sa.MetaData()

# One message (a burst of matches folded together), recorded before it is sent; its payload frozen.
alert_messages = sa.Table(
    "alert_messages",
    alerts_metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending, sent
    sa.Column("payload", sa.Text, nullable=False),  # JSON: the items as they will be sent
    sa.Column("delivered", sa.Text, nullable=False, server_default="[]"),  # JSON: target keys done
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTC_TIME),
    sa.Column("lease_until", UTC_TIME),  # one sender at a time (daemon and `watcher fetch`)
    sa.Column("lease_owner", sa.String(128)),  # host:pid; a dead local owner's lease is void
    sa.Column("error", sa.Text),
    sa.Column("sent_at", UTC_TIME),
    sa.Index("ix_alert_messages_status", "status", "created_at"),
)

# One row per match considered for an alert: the unique key is what makes each match alerted once.
alerts = sa.Table(
    "alerts",
    alerts_metadata,
    sa.Column(
        "match_id",
        sa.Integer,
        sa.ForeignKey(matches.c.id, ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("status", sa.String(16), nullable=False),  # queued, batched, skipped
    sa.Column("reason", sa.String(32), nullable=False, server_default=""),  # why skipped
    sa.Column("message_id", sa.String(64), sa.ForeignKey(alert_messages.c.id)),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Index("ix_alerts_status", "status"),
)


def _v3_alerts(conn: sa.Connection) -> None:
    alerts_metadata.create_all(conn)  # checkfirst: safe on a database that has them


SCHEMA_VERSION = 3
MIGRATIONS[2] = _v3_alerts
# --- end issue 15 ------------------------------------------------------------------------------------

SCHEMA_VERSION = 4
MIGRATIONS[3] = _v4_workers

# --- issue 13b: a host's concurrency held by the whole fleet (PostgreSQL) ---------------------------
# Outside `metadata` (like the alerts) so that _v4 keeps creating exactly the version-4 tables.  One row
# per request in flight to a host: slot 0..per_host_concurrency-1, leased to a worker until `until`
# (the server's clock); a crashed worker's row is free again once its lease is past.  Not copied by
# `watcher db copy`: rows live only as long as one request.
slots_metadata = sa.MetaData()

host_slots = sa.Table(
    "host_slots",
    slots_metadata,
    sa.Column("host", sa.Text, primary_key=True),
    sa.Column("slot", sa.Integer, primary_key=True),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("until", UTC_TIME, nullable=False),
)


def _v5_host_slots(conn: sa.Connection) -> None:
    slots_metadata.create_all(conn)  # checkfirst: safe on a database that has it


SCHEMA_VERSION = 5
MIGRATIONS[4] = _v5_host_slots
# --- end issue 13b -----------------------------------------------------------------------------------
