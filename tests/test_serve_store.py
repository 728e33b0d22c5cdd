"""What the review pages need from the store: the score of every scored article (written by a real
poll cycle), the v1 -> v2 migration, pruning; and the pure helpers of the pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.security_helpers import make_world, rss_doc
from tests.server import Server
from watcher import store
from watcher.config import ConceptGroup
from watcher.store import retention, schema
from watcher.web import queries
from watcher.web.present import highlight, lacks, local_path

ITEMS = [
    ("Afghan migrants in Russia face new rules", "/a", "Russia told Afghan migrants to renew permits."),
    ("Afghan refugee in Russia", "/b", "An Afghan refugee arrived."),  # thinner
    ("Kazan opens a tram line", "/c", "Trams will run every seven minutes."),
]


def test_a_cycle_stores_the_score_of_every_article_matched_or_not(
    tmp_path: Path, http_server: Server
) -> None:
    items = [(t, http_server.url(p), d) for t, p, d in ITEMS]
    http_server.route("/feed.xml", rss_doc("Wire", items), headers={"Content-Type": "application/rss+xml"})
    w = make_world(http_server, tmp_path, ["/feed.xml"], extract={"fetch_articles": False})
    report = w.cycle()
    assert report.new_entries == 3
    with w.engine.connect() as conn:
        scored = {
            title: (float(score), matched is not None)
            for title, score, matched in conn.execute(
                sa.select(schema.entries.c.title, schema.scores.c.score, schema.matches.c.id)
                .join(schema.scores, schema.scores.c.entry_id == schema.entries.c.id)
                .outerjoin(
                    schema.matches,
                    sa.and_(
                        schema.matches.c.entry_id == schema.entries.c.id,
                        schema.matches.c.topic == schema.scores.c.topic,
                    ),
                )
            )
        }
    assert set(scored) == {t for t, _, _ in ITEMS}  # one row an article, matched or not
    threshold = w.cfg.topics[0].threshold
    for score, matched in scored.values():
        assert matched == (score >= threshold)
    assert scored["Kazan opens a tram line"] == (0.0, False)
    assert len(report.matches) == sum(m for _, m in scored.values())


def test_v1_database_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:  # a database as version 1 left it: no scores table
        schema.metadata.create_all(
            conn, tables=[t for t in schema.metadata.sorted_tables if t.name != "scores"]
        )
        conn.execute(sa.insert(schema.meta).values(key="schema_version", value="1"))
        conn.execute(sa.insert(schema.feeds).values(url="http://x/feed", created_at=datetime.now(UTC)))
    engine.dispose()
    migrated = store.open_db(f"sqlite:///{db}")
    with migrated.connect() as conn:
        version = conn.execute(sa.text("select value from meta where key = 'schema_version'")).scalar()
        tables = set(sa.inspect(conn).get_table_names())
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("matches")}
        feeds = conn.execute(sa.select(schema.feeds.c.url)).scalars().all()
    assert version == str(store.SCHEMA_VERSION) and int(version) >= 2
    assert "scores" in tables and "ix_matches_matched" in indexes
    assert feeds == ["http://x/feed"]
    store.open_db(f"sqlite:///{db}")  # a second open changes nothing and does not fail


def test_pruned_entries_take_their_scores_along(tmp_path: Path) -> None:
    engine = store.open_db(f"sqlite:///{tmp_path / 'p.db'}")
    old = datetime.now(UTC) - timedelta(days=400)
    with engine.begin() as conn:
        fid = conn.execute(
            sa.insert(schema.feeds).values(url="http://x/f", created_at=old)
        ).inserted_primary_key[0]
        eid = conn.execute(
            sa.insert(schema.entries).values(
                feed_id=fid, url="http://x/1", link="http://x/1", first_seen_at=old
            )
        ).inserted_primary_key[0]
        conn.execute(sa.insert(schema.scores).values(entry_id=eid, topic="t", score=0.4, scored_at=old))
    retention.prune(engine, datetime.now(UTC), timedelta(days=90))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.scores)).scalar() == 0


def test_near_misses_are_the_window_below_the_threshold_unlabelled_and_unmatched(tmp_path: Path) -> None:
    engine = store.open_db(f"sqlite:///{tmp_path / 'n.db'}")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        fid = conn.execute(
            sa.insert(schema.feeds).values(url="http://x/f", created_at=now)
        ).inserted_primary_key[0]
        for i, score in enumerate([0.2, 0.36, 0.45, 0.49, 0.5, 0.7, 0.4], start=1):
            conn.execute(
                sa.insert(schema.entries).values(
                    id=i,
                    feed_id=fid,
                    url=f"http://x/{i}",
                    link=f"http://x/{i}",
                    title=f"e{i}",
                    first_seen_at=now,
                )
            )
            conn.execute(
                sa.insert(schema.scores).values(
                    entry_id=i, topic="t", score=score, scored_at=now + timedelta(seconds=i)
                )
            )
        conn.execute(sa.insert(schema.labels).values(entry_id=3, topic="t", relevant=False, created_at=now))
        conn.execute(sa.insert(schema.matches).values(entry_id=7, topic="t", score=0.4, matched_at=now))
    rows, more = queries.near_misses(engine, "t", 0.5, 0.15, limit=10)
    assert [r.entry_id for r in rows] == [4, 2]  # newest first; 0.45 labelled, 0.4 a match, 0.5 is one
    assert not more
    rows, more = queries.near_misses(engine, "t", 0.5, 0.15, limit=1)
    assert [r.entry_id for r in rows] == [4] and more


def test_highlight_marks_stems_phrases_and_ignores_case() -> None:
    pieces = highlight(
        "Afghan migrants met Central Asia envoys; unafghan text.", ["afgha*", "migrant", "central asia"]
    )
    assert [p for p, hit in pieces if hit] == ["Afghan", "migrants", "Central Asia"]
    assert "".join(p for p, _ in pieces) == "Afghan migrants met Central Asia envoys; unafghan text."
    assert highlight("nothing here", []) == [("nothing here", False)]


def test_lacks_names_missing_thin_and_contrasting_concepts() -> None:
    groups = (
        ConceptGroup("russia", ("russia",)),
        ConceptGroup("afghan", ("afghan",)),
        ConceptGroup("migration", ("migrant",)),
        ConceptGroup("elsewhere", ("pakistan",), required=False, contrast="russia"),
        ConceptGroup("extra", ("x",), required=False),
    )
    details = {
        "groups": {
            "russia": ["russia"],
            "afghan": [],
            "migration": ["migrant"],
            "elsewhere": ["pakistan"],
            "extra": [],
        },
        "strengths": {"russia": 0.63, "afghan": 0.0, "migration": 0.95, "elsewhere": 0.9, "extra": 0.0},
        "similarity_score": 0.1,
        "similarity_weight": 0.2,
    }
    found = lacks(details, groups)
    assert "no term of the concept “afghan”" in found
    assert "outweighed by “elsewhere” (pakistan)" in found
    assert "thin “russia” (0.63: russia)" in found
    assert "low similarity to the seeds (0.10)" in found
    assert not any("extra" in f or "migration" in f for f in found)


def test_redirects_stay_on_the_site() -> None:
    assert local_path("/near?topic=t") == "/near?topic=t"
    for bad in (
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "",
        None,
    ):
        assert local_path(bad) == "/"
