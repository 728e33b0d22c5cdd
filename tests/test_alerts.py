"""Alerts through Apprise to real local endpoints: a JSON webhook on 127.0.0.1 and aiosmtpd (issue 15)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.alert_helpers import Receiver, alerts_config, json_endpoint, write_config
from tests.digest_helpers import T0, TOPIC, Db, free_port, make_db, smtp_server
from watcher import alerts
from watcher.store import schema

ROOT = Path(__file__).resolve().parents[1]
BEFORE = T0 - timedelta(days=1)  # alerts turned on before the test's matches were recorded


@pytest.fixture
def rec() -> Iterator[Receiver]:
    with json_endpoint() as r:
        yield r


@pytest.fixture
def db(tmp_path: Path) -> Db:
    return make_db(tmp_path)


def ids_in(text: str) -> list[str]:
    return re.findall(r"examplenews\.example/story/(\d+)", text)


def test_each_strong_match_is_alerted_exactly_once_with_title_source_score_why_link(
    tmp_path: Path, db: Db, rec: Receiver
) -> None:
    cfg = alerts_config(tmp_path, db, urls=[rec.url], min_score=0.7)
    db.match("Russia tightens work permits for Afghan migrants", "x", site="Wire One", score=0.91)
    db.match("Weak mention of migrants", "x", score=0.55)  # below min_score: never alerted
    out = alerts.deliver(cfg, db.engine, now=T0, environ={}, floor=BEFORE)
    assert out.status == "sent" and out.items == 1 and out.queued == 1
    assert len(rec.received) == 1
    body = rec.received[0]["message"]
    assert "Russia tightens work permits for Afghan migrants" in body
    assert "Wire One" in body and "0.91" in body
    assert "why: migration: migrants, labour migrants" in body
    assert "https://wireone.example/story/1" in body
    assert "Weak mention" not in body
    # again: nothing new, nothing sent; a new match goes alone
    assert alerts.deliver(cfg, db.engine, now=T0, environ={}).status == "idle"
    assert len(rec.received) == 1
    db.match("Afghan students arrive in Kazan", "x", score=0.8)
    alerts.deliver(cfg, db.engine, now=T0 + timedelta(minutes=5), environ={})
    assert len(rec.received) == 2
    assert "Afghan students" in rec.received[1]["message"]
    assert "Russia tightens" not in rec.received[1]["message"]


def test_a_burst_becomes_one_message_and_max_items_splits_it(
    tmp_path: Path, db: Db, rec: Receiver
) -> None:
    cfg = alerts_config(tmp_path, db, urls=[rec.url], max_items=4)
    ids = [db.match(f"Story {i} on Afghan migrants", "x", score=0.7 + i / 100) for i in range(6)]
    out = alerts.deliver(cfg, db.engine, now=T0, environ={}, floor=BEFORE)
    assert out.status == "sent" and len(out.sent) == 2 and out.items == 6
    first, second = rec.messages()
    assert len(ids_in(first)) == 4 and len(ids_in(second)) == 2
    assert sorted(int(i) for i in ids_in(first) + ids_in(second)) == ids
    assert rec.received[0]["title"] == f"watcher: 4 new matches — {TOPIC}"
    # strongest first within a message
    scores = [float(s) for s in re.findall(r"^(\d\.\d\d) ", first, re.M)]
    assert scores == sorted(scores, reverse=True)


def test_a_refusing_endpoint_is_retried_with_backoff_and_gets_the_same_message(
    tmp_path: Path, db: Db, rec: Receiver
) -> None:
    cfg = alerts_config(tmp_path, db, urls=[rec.url])
    db.match("Afghan migrants stranded at the border", "x", score=0.9)
    rec.statuses = [500, 503]
    out = alerts.deliver(cfg, db.engine, now=T0, environ={}, floor=BEFORE)
    assert out.status == "waiting" and out.retry_at == T0 + timedelta(minutes=1)
    assert out.errors and out.errors[0].startswith("alerts.urls[0]: ")
    assert rec.attempts == 1 and rec.received == []
    # before the retry is due nothing is attempted, and a new match waits behind the pending one
    db.match("Second story on Afghan migrants", "x", score=0.9)
    assert alerts.deliver(cfg, db.engine, now=T0 + timedelta(seconds=30), environ={}).status == "waiting"
    assert rec.attempts == 1
    out = alerts.deliver(cfg, db.engine, now=T0 + timedelta(seconds=61), environ={})
    assert out.status == "waiting" and out.retry_at == T0 + timedelta(seconds=61 + 120)
    assert rec.attempts == 2
    out = alerts.deliver(cfg, db.engine, now=T0 + timedelta(minutes=4), environ={})
    assert out.status == "sent" and len(out.sent) == 2 and rec.attempts == 4
    first, second = rec.messages()
    assert "stranded" in first and "Second story" not in first and "Second story" in second
    [(attempts, error)] = db.rows(
        sa.select(schema.alert_messages.c.attempts, schema.alert_messages.c.error).where(
            schema.alert_messages.c.id == out.sent[0]
        )
    )
    assert attempts == 2 and error is None


def test_a_refused_connection_is_retried_until_the_endpoint_is_up(tmp_path: Path, db: Db) -> None:
    port = free_port()  # nothing listens there yet: the connection is refused
    cfg = alerts_config(tmp_path, db, urls=[f"json://127.0.0.1:{port}/hook"])
    db.match("Afghan migrants and a refused connection", "x", score=0.9)
    out = alerts.deliver(cfg, db.engine, now=T0, environ={}, floor=BEFORE)
    assert out.status == "waiting" and len(out.errors) == 1 and "\n" not in out.errors[0]
    [row] = db.rows(sa.select(schema.alert_messages))
    assert row.status == "pending" and row.attempts == 1 and row.error
    with json_endpoint(port) as up:
        out = alerts.deliver(cfg, db.engine, now=T0 + timedelta(minutes=1), environ={})
        assert out.status == "sent" and out.sent == (row.id,)
        assert len(up.received) == 1 and "refused connection" in up.received[0]["message"]
        assert row.id in up.received[0]["message"]


def test_two_targets_one_down_the_other_keeps_getting_alerts_and_none_repeats(
    tmp_path: Path, db: Db, rec: Receiver
) -> None:
    with json_endpoint() as other:
        cfg = alerts_config(tmp_path, db, urls=[rec.url, other.url])
        db.match("Afghan migrants on two channels", "x", score=0.9)
        other.statuses = [500, 500]
        out = alerts.deliver(cfg, db.engine, now=T0, environ={}, floor=BEFORE)
        # taken by one target of two: waiting for the other, with its error
        assert out.status == "waiting" and out.errors[0].startswith("alerts.urls[1]: ")
        assert len(rec.received) == 1 and other.received == []
        # the healthy target is not held back by the one that is down
        db.match("Second Afghan story", "x", score=0.9)
        out = alerts.deliver(cfg, db.engine, now=T0 + timedelta(seconds=10), environ={})
        assert out.status == "waiting" and len(rec.received) == 2 and other.received == []
        # the other one is back: it gets both messages, the healthy one nothing again
        out = alerts.deliver(cfg, db.engine, now=T0 + timedelta(minutes=2), environ={})
        assert out.status == "sent" and len(out.sent) == 2 and out.errors == ()
        assert len(rec.received) == 2 and len(other.received) == 2
        assert [r["message"] for r in other.received] == [r["message"] for r in rec.received]
        assert alerts.deliver(cfg, db.engine, now=T0 + timedelta(hours=1), environ={}).status == "idle"
        assert len(rec.received) == 2 and len(other.received) == 2


def test_quiet_hours_hold_matches_and_fold_them_when_they_end(
    tmp_path: Path, db: Db, rec: Receiver
) -> None:
    # T0 is 06:00 UTC = 09:00 in Moscow; quiet 08:00-12:00 there
    cfg = alerts_config(tmp_path, db, urls=[rec.url], quiet_hours="08:00-12:00")
    db.match("First Afghan story", "x", score=0.9)
    out = alerts.deliver(cfg, db.engine, now=T0, environ={}, floor=BEFORE)
    assert out.status == "quiet" and out.held == 1
    db.match("Second Afghan story", "x", score=0.9)
    assert alerts.deliver(cfg, db.engine, now=T0 + timedelta(hours=2), environ={}).held == 2
    assert rec.attempts == 0
    out = alerts.deliver(cfg, db.engine, now=T0 + timedelta(hours=3), environ={})  # 12:00 Moscow
    assert out.status == "sent" and out.items == 2 and len(rec.received) == 1
    # a window over midnight
    night = alerts_config(tmp_path, db, urls=[rec.url], quiet_hours="22:00-07:00").alerts
    assert night.quiet(T0 - timedelta(hours=10), "Europe/Moscow")  # 23:00
    assert night.quiet(T0 - timedelta(hours=4), "Europe/Moscow")  # 05:00
    assert not night.quiet(T0, "Europe/Moscow")  # 09:00


def test_max_per_hour_holds_the_rest_and_sends_it_folded_later(
    tmp_path: Path, db: Db, rec: Receiver
) -> None:
    cfg = alerts_config(tmp_path, db, urls=[rec.url], max_per_hour=2)
    for i in range(2):
        db.match(f"Burst {i} Afghan", "x", score=0.9)
        alerts.deliver(cfg, db.engine, now=T0 + timedelta(minutes=i), environ={}, floor=BEFORE)
    assert len(rec.received) == 2
    db.match("Held one Afghan", "x", score=0.9)
    db.match("Held two Afghan", "x", score=0.9)
    out = alerts.deliver(cfg, db.engine, now=T0 + timedelta(minutes=10), environ={})
    assert out.status == "limited" and out.held == 2 and out.retry_at == T0 + timedelta(hours=1)
    assert len(rec.received) == 2
    out = alerts.deliver(cfg, db.engine, now=T0 + timedelta(hours=1, seconds=1), environ={})
    assert out.status == "sent" and out.items == 2 and len(rec.received) == 3
    assert "Held one" in rec.received[2]["message"] and "Held two" in rec.received[2]["message"]


def test_per_topic_min_score_and_matches_before_alerts_were_on(
    tmp_path: Path, db: Db, rec: Receiver
) -> None:
    cfg = alerts_config(
        tmp_path,
        db,
        urls=[rec.url],
        min_score=0.8,
        topics={"cats": {"min_score": 0.4}},
        topics_=(TOPIC, "cats"),
    )
    db.match("Old story from last year", "x", score=0.99, matched_at=T0 - timedelta(days=400))
    db.match("Afghan story at 0.75", "x", score=0.75)
    db.match("Cat story at 0.5", "x", topic="cats", score=0.5)
    out = alerts.deliver(cfg, db.engine, now=T0, environ={}, floor=T0 - timedelta(days=2))
    assert out.items == 1
    assert "Cat story" in rec.received[0]["message"]
    assert "Old story" not in rec.received[0]["message"]
    reasons = dict(db.rows(sa.select(schema.alerts.c.match_id, schema.alerts.c.reason)))
    assert reasons == {1: "before-alerts", 2: "below-min-score", 3: ""}


def test_no_alerts_skips_these_matches_for_good(tmp_path: Path, db: Db, rec: Receiver) -> None:
    cfg = alerts_config(tmp_path, db, urls=[rec.url])
    db.match("Backfilled Afghan story", "x", score=0.9)
    assert alerts.deliver(cfg, db.engine, now=T0, environ={}, floor=BEFORE, skip="no-alerts").status == (
        "skipped"
    )
    assert alerts.deliver(cfg, db.engine, now=T0, environ={}).status == "idle"
    assert rec.attempts == 0


def test_urls_from_the_environment(tmp_path: Path, db: Db, rec: Receiver) -> None:
    cfg = alerts_config(tmp_path, db, urls_env="WATCHER_TEST_ALERT_URLS")
    db.match("Afghan story via env", "x", score=0.9)
    out = alerts.deliver(cfg, db.engine, now=T0, environ={}, floor=BEFORE)
    assert out.status == "no-targets" and out.held == 1
    assert out.errors == ("alerts.urls_env: $WATCHER_TEST_ALERT_URLS is not set or empty",)
    out = alerts.deliver(cfg, db.engine, now=T0, environ={"WATCHER_TEST_ALERT_URLS": f" {rec.url} "})
    assert out.status == "sent" and len(rec.received) == 1


def test_markdown_target_gets_escaped_markdown(tmp_path: Path, db: Db, rec: Receiver) -> None:
    cfg = alerts_config(tmp_path, db, urls=[rec.url + "?format=markdown"])
    db.match(
        "Click [here](javascript:alert(1)) *now*",
        "x",
        url="https://evil.example/a b)(c",
        score=0.9,
    )
    alerts.deliver(cfg, db.engine, now=T0, environ={}, floor=BEFORE)
    body = rec.received[0]["message"]
    assert "[here](javascript" not in body
    assert r"\[here\]\(javascript\:alert\(1\)\) \*now\*" in body
    # the link destination cannot be closed early by the stranger's parentheses or space
    assert "(https://evil.example/a%20b%29%28c)" in body


def test_mail_through_apprise_to_a_local_smtp_server_escapes_html(tmp_path: Path, db: Db) -> None:
    with smtp_server() as (inbox, port):
        url = f"mailto://127.0.0.1:{port}/analyst@example.org?from=watcher@example.org&mode=insecure"
        cfg = alerts_config(tmp_path, db, urls=[url])
        db.match("Afghans <script>alert(1)</script> & co", "x", site="Site <i>", score=0.9)
        db.match("Second story", "x", url="javascript:alert(2)", score=0.8)
        out = alerts.deliver(cfg, db.engine, now=T0, environ={}, floor=BEFORE)
        assert out.status == "sent" and len(inbox.messages) == 1
        msg = inbox.parsed()
        assert msg["To"] == "analyst@example.org" and msg["Subject"].startswith("watcher: 2 new")
        part = msg.get_body(("html",))
        assert part is not None
        html = part.get_content()
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html and "<script>" not in html
        assert "Site &lt;i&gt;" in html
        assert 'href="javascript' not in html and "javascript:alert(2)" in html  # shown, not linked
        assert alerts.deliver(cfg, db.engine, now=T0, environ={}).status == "idle"
        assert len(inbox.messages) == 1


def run_cli(config: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", "alerts", "--config", str(config), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    ("stage", "before", "after"),
    [
        ("alerts-recorded", 0, 1),  # recorded, not sent: the next run sends it
        ("alerts-sent", 1, 2),  # accepted, not yet written down: the one repeat, same message
        ("alerts-delivered", 1, 1),  # written down: the next run only closes it
    ],
)
def test_a_crash_between_record_and_send_loses_nothing(
    tmp_path: Path, db: Db, rec: Receiver, stage: str, before: int, after: int
) -> None:
    """The process dies at the stage (a test hook); the next run finishes the recorded message."""
    conf = write_config(tmp_path, db, urls=[rec.url])
    db.match("Afghan story before alerts", "x", score=0.9, matched_at=T0)
    # alerts are turned on (and the first match skipped as older) by the first run
    assert run_cli(conf).returncode == 0 and rec.attempts == 0
    db.match("Afghan story one", "x", score=0.9, matched_at=T0 + timedelta(days=3650))
    db.match("Afghan story two", "x", score=0.9, matched_at=T0 + timedelta(days=3650))
    crashed = run_cli(conf, WATCHER_TEST_CRASH_AT=stage)
    assert crashed.returncode == 75, crashed.stderr
    [row] = db.rows(sa.select(schema.alert_messages))
    assert row.status == "pending" and len(rec.received) == before
    again = run_cli(conf)
    assert again.returncode == 0, again.stderr
    assert len(rec.received) == after
    assert all(r["message"] == rec.received[0]["message"] for r in rec.received)
    final = rec.received[-1]["message"]
    assert "Afghan story one" in final and "Afghan story two" in final and row.id in final
    assert "before alerts" not in final
    assert run_cli(conf).returncode == 0 and len(rec.received) == after
    [row] = db.rows(sa.select(schema.alert_messages))
    assert row.status == "sent"


def test_dry_run_test_and_list_commands(tmp_path: Path, db: Db, rec: Receiver) -> None:
    conf = write_config(tmp_path, db, urls=[rec.url])
    assert run_cli(conf).returncode == 0  # alerts on from now
    db.match("Afghan dry-run story", "x", score=0.9, matched_at=T0 + timedelta(days=3650))
    dry = run_cli(conf, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    data = json.loads(dry.stdout)
    assert [i["title"] for i in data["new"]["items"]] == ["Afghan dry-run story"]
    assert data["targets"] == ["alerts.urls[0]"] and rec.attempts == 0
    assert db.rows(sa.select(schema.alert_messages)) == []
    test = run_cli(conf, "test")
    assert test.returncode == 0 and "alerts.urls[0]: ok" in test.stdout
    assert rec.received[-1]["title"].startswith("watcher: 1 new match")
    assert "Test alert from watcher" in rec.received[-1]["message"]
    sent = run_cli(conf, "--json")
    assert json.loads(sent.stdout)["items"] == 1
    listed = json.loads(run_cli(conf, "list", "--json").stdout)
    assert [m["status"] for m in listed["messages"]] == ["sent"]
    assert listed["counts"]["alerts_batched"] == 1
    bad = write_config(tmp_path, db, urls=[f"json://127.0.0.1:{free_port()}/"])
    failed = run_cli(bad, "test")
    assert failed.returncode == 1 and "alerts.urls[0]: FAILED" in failed.stdout


def test_config_errors_name_the_field(tmp_path: Path, db: Db) -> None:
    from watcher.errors import ConfigError

    for alerts_table, expected in (
        ({"urls": ["not a url"]}, "alerts.urls[0]: expected an Apprise URL"),
        ({"quiet_hours": "22-07"}, 'alerts.quiet_hours: expected a window such as "22:00-07:00"'),
        ({"topics": {"Russia–Afghan migratoin": {}}}, "did you mean 'Russia–Afghan migration'"),
        ({"urls_env": ["NOT-A-NAME"]}, "alerts.urls_env: 'NOT-A-NAME' is not"),
        ({"min_score": 2}, "alerts.min_score"),
        ({"max_per_hours": 2}, "did you mean 'max_per_hour'"),
    ):
        with pytest.raises(ConfigError, match=re.escape(expected)):
            alerts_config(tmp_path, db, **alerts_table)
