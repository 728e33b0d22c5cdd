"""Exactly-once delivery to a real SMTP server (aiosmtpd on 127.0.0.1), with a real SQLite file."""

from __future__ import annotations

import json
import logging
import os
import ssl
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.digest_helpers import (
    OTHER,
    RUSSIAN,
    T0,
    WIRE,
    WIRE_REWRITE,
    Db,
    Inbox,
    free_port,
    make_config,
    make_db,
    smtp_server,
)
from watcher import cli, outbox
from watcher.digest import from_dict
from watcher.store import schema

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


def email_cfg(port: int, **over: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "from": "watcher@example.org",
        "to": ["analyst@example.org", "desk@example.org"],
        "starttls": False,
        "timeout": 5,
        "subject": "Digest {date}: {count} new — {top}",
        **over,
    }


def fill(db: Db) -> dict[str, int]:
    """Four matches: a wire story and its rewrite on another site, two other stories."""
    return {
        "wire": db.match(
            "Russia tightens work permits for Afghan migrants",
            WIRE,
            site="Wire One",
            published=T0 - timedelta(hours=9),
            score=0.8,
        ),
        "copy": db.match(
            "Work permit rules tightened for Afghans",
            WIRE_REWRITE,
            site="Daily Echo",
            published=T0 - timedelta(hours=7),
            score=0.84,
        ),
        "other": db.match("Afghan students arrive in Kazan", OTHER, site="Volga Post", score=0.55),
        "ru": db.match(
            "Новые правила для мигрантов из Афганистана",
            RUSSIAN,
            site="Лента",
            language="ru",
            score=0.6,
        ),
    }


def parts(msg: EmailMessage) -> tuple[str, str]:
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def match_urls(db: Db) -> dict[int, str]:
    q = sa.select(schema.matches.c.id, schema.entries.c.url).join(
        schema.entries, schema.entries.c.id == schema.matches.c.entry_id
    )
    return {r.id: r.url for r in db.rows(q)}


def test_pending_matches_are_mailed_once_and_only_once(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    db = make_db(tmp_path)
    ids = fill(db)
    cfg = make_config(tmp_path, db, email=email_cfg(port))

    out = outbox.send_digest(cfg, db.engine, now=T0, environ={})
    assert out.status == "sent" and out.items == 3 and out.matches == 4
    assert len(box.messages) == 1
    mail_from, rcpts, _ = box.messages[0]
    assert mail_from == "watcher@example.org"
    assert rcpts == ["analyst@example.org", "desk@example.org"]
    msg = box.parsed()
    assert msg["To"] == "analyst@example.org, desk@example.org"
    assert msg["Message-ID"] == out.message_id
    # The best story leads the subject; the syndicated copy's higher score lifts its cluster.
    assert (
        msg["Subject"]
        == "Digest 2025-03-14: 3 new — Russia tightens work permits for Afghan migrants"
    )
    text, html = parts(msg)
    # Every match is in the mail exactly once: its URL is linked once (copies: "also reported by").
    for mid, url in match_urls(db).items():
        assert html.count(f'href="{url}"') == 1, (mid, url)
    for title in (
        "Russia tightens work permits for Afghan migrants",
        "Afghan students arrive in Kazan",
        "Новые правила для мигрантов из Афганистана",
    ):
        assert text.count(title) == 1 and html.count(title) == 1
    assert "Work permit rules tightened for Afghans" not in text  # folded under the first source
    assert "Also reported by: Daily Echo" in text
    assert set(db.digest_ids().values()) == {out.digest_id}
    [(payload,)] = db.rows(sa.select(schema.digests.c.payload))
    stored = from_dict(json.loads(payload))  # what a resend would send: the same four matches
    assert sorted(stored.match_ids) == sorted(ids.values()) and stored.id == out.digest_id

    again = outbox.send_digest(cfg, db.engine, now=T0 + timedelta(hours=1), environ={})
    assert again.status == "skipped" and len(box.messages) == 1

    later = db.match(
        "Afghan traders protest new market rules in Moscow",
        OTHER.replace("Kazan", "Moscow markets"),
        site="City Wire",
        score=0.7,
        matched_at=T0 + timedelta(hours=2),
    )
    third = outbox.send_digest(cfg, db.engine, now=T0 + timedelta(hours=3), environ={})
    assert third.status == "sent" and third.matches == 1 and len(box.messages) == 2
    assert db.digest_ids()[later] == third.digest_id
    assert third.message_id != out.message_id


def test_refused_send_leaves_everything_pending_and_a_later_run_delivers(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    db = make_db(tmp_path)
    fill(db)
    cfg = make_config(tmp_path, db, email=email_cfg(port))
    box.refuse = True

    failed = outbox.send_digest(cfg, db.engine, now=T0, environ={})
    assert failed.status == "failed" and "554" in (failed.error or "")
    assert box.messages == []
    assert set(db.digest_ids().values()) == {None}  # released: pending again
    status = db.rows(sa.select(schema.digests.c.status))
    assert [r.status for r in status] == ["failed"]

    box.refuse = False
    ok = outbox.send_digest(cfg, db.engine, now=T0 + timedelta(hours=1), environ={})
    assert ok.status == "sent" and ok.matches == 4 and len(box.messages) == 1
    assert set(db.digest_ids().values()) == {ok.digest_id}
    assert (
        outbox.send_digest(cfg, db.engine, now=T0 + timedelta(hours=2), environ={}).status
        == "skipped"
    )
    assert len(box.messages) == 1


def test_unreachable_server_is_a_definite_failure(tmp_path: Path) -> None:
    db = make_db(tmp_path)
    fill(db)
    cfg = make_config(tmp_path, db, email=email_cfg(free_port()))  # nothing listens there
    out = outbox.send_digest(cfg, db.engine, now=T0, environ={})
    assert out.status == "failed" and "cannot connect" in (out.error or "")
    assert set(db.digest_ids().values()) == {None}


def test_connection_lost_after_data_keeps_the_digest_and_resends_the_same_mail(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    db = make_db(tmp_path)
    fill(db)
    cfg = make_config(tmp_path, db, email=email_cfg(port))
    box.drop = True
    first = outbox.send_digest(cfg, db.engine, now=T0, environ={})
    assert first.status == "pending" and len(box.messages) == 1  # the server has it; we cannot know
    assert set(db.digest_ids().values()) == {first.digest_id}  # still claimed by that digest

    box.drop = False
    new = db.match(
        "Afghan traders protest in Moscow",
        OTHER.replace("Kazan", "Moscow"),
        site="City Wire",
        score=0.7,
        matched_at=T0 + timedelta(hours=1),
    )
    second = outbox.send_digest(cfg, db.engine, now=T0 + timedelta(hours=2), environ={})
    assert second.resent == (first.digest_id,)
    assert len(box.messages) == 3  # the same digest again, then a new one with only the new match
    again, fresh = box.parsed(1), box.parsed(2)
    assert again["Message-ID"] == box.parsed(0)["Message-ID"] == first.message_id
    assert parts(again) == parts(box.parsed(0))
    assert fresh["Message-ID"] == second.message_id != first.message_id
    assert db.digest_ids()[new] == second.digest_id
    assert {r.status for r in db.rows(sa.select(schema.digests.c.status))} == {"sent"}


def test_crash_between_send_and_marking_resends_the_same_digest(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    db = make_db(tmp_path)
    fill(db)
    conf = tmp_path / "config.toml"
    conf.write_text(
        textwrap.dedent(
            f"""
            [storage]
            db = "{db.path}"
            [digest]
            dir = "{tmp_path / "digests"}"
            [digest.email]
            enabled = true
            smtp_host = "127.0.0.1"
            smtp_port = {port}
            from = "watcher@example.org"
            to = ["analyst@example.org"]
            starttls = false
            [[topics]]
            name = "Russia–Afghan migration"
            """
        ),
        encoding="utf-8",
    )
    # A real crash: the process dies after the server accepted the mail, before "sent" is recorded.
    script = textwrap.dedent(
        f"""
        import os
        from datetime import datetime, UTC
        from pathlib import Path
        from watcher import config, outbox, store
        from watcher.store import digests
        digests.mark_sent = lambda *a, **k: os._exit(3)
        cfg = config.load(Path({str(conf)!r}))
        now = datetime(2025, 3, 14, 6, tzinfo=UTC)
        outbox.send_digest(cfg, store.open_db(cfg.db_url), now=now, environ={{}})
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 3, proc.stderr
    assert len(box.messages) == 1
    [(digest_id, status)] = [(r.id, r.status) for r in db.rows(sa.select(schema.digests))]
    assert status == "pending"

    result = subprocess.run(
        [sys.executable, "-m", "watcher", "digest", "--config", str(conf)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"resent digest {digest_id}" in result.stdout
    assert (
        len(box.messages) == 2
    )  # the same digest once more, and no second digest with those items
    assert box.parsed(0)["Message-ID"] == box.parsed(1)["Message-ID"]
    assert parts(box.parsed(0)) == parts(box.parsed(1))
    assert [(r.id, r.status) for r in db.rows(sa.select(schema.digests))] == [(digest_id, "sent")]
    assert set(db.digest_ids().values()) == {digest_id}


def test_resend_by_id_reuses_items_and_message_id(tmp_path: Path, inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    db = make_db(tmp_path)
    fill(db)
    cfg = make_config(tmp_path, db, email=email_cfg(port))
    first = outbox.send_digest(cfg, db.engine, now=T0, environ={})
    assert first.digest_id is not None
    db.match(
        "A later story about Afghan migrants", OTHER, site="Late Wire", score=0.9
    )  # must not leak in
    again = outbox.resend_digest(cfg, db.engine, first.digest_id, environ={})
    assert again.status == "sent" and again.message_id == first.message_id
    assert parts(box.parsed(0)) == parts(box.parsed(1))
    assert "Late Wire" not in parts(box.parsed(1))[0]
    # Resending a sent digest changes nothing about what is pending.
    assert sum(1 for v in db.digest_ids().values() if v is None) == 1


def test_login_uses_the_password_from_the_environment_and_never_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, tls_files: tuple[Path, Path]
) -> None:
    seen: list[tuple[str, str]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        seen.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"s3cret-Pa55", handled=False)

    handler = Inbox()
    port = free_port()
    cert, key = tls_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    ctl = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        tls_context=server_ctx,
        require_starttls=True,
    )
    ctl.start()
    try:
        db = make_db(tmp_path)
        fill(db)
        cfg = make_config(
            tmp_path,
            db,
            email=email_cfg(
                port, username="watcher", password_env="WATCHER_TEST_PW", starttls=True
            ),
        )
        client_ctx = ssl.create_default_context(cafile=str(cert))
        caplog.set_level(logging.DEBUG)
        missing = outbox.send_digest(cfg, db.engine, now=T0, environ={})
        assert missing.status == "failed" and "$WATCHER_TEST_PW" in (missing.error or "")
        wrong = outbox.send_digest(
            cfg,
            db.engine,
            now=T0,
            environ={"WATCHER_TEST_PW": "nope-wrong"},
            ssl_context=client_ctx,
        )
        assert wrong.status == "failed" and "login failed" in (wrong.error or "")
        ok = outbox.send_digest(
            cfg,
            db.engine,
            now=T0,
            environ={"WATCHER_TEST_PW": "s3cret-Pa55"},
            ssl_context=client_ctx,
        )
        assert ok.status == "sent" and len(handler.messages) == 1
        assert seen[-1] == ("watcher", "s3cret-Pa55")
        errors = " ".join(str(r.error) for r in db.rows(sa.select(schema.digests.c.error)))
        for secret in ("s3cret-Pa55", "nope-wrong"):
            assert secret not in caplog.text and secret not in errors
            assert secret not in (wrong.error or "")
    finally:
        ctl.stop()


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"openssl cannot make a test certificate: {e}")
    return cert, key


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_modes(tmp_path: Path, tls_files: tuple[Path, Path], mode: str) -> None:
    cert, key = tls_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))  # verifies the name too (IP SAN)
    handler = Inbox()
    port = free_port()
    kwargs: dict[str, Any] = (
        {"tls_context": server_ctx, "require_starttls": True}
        if mode == "starttls"
        else {"ssl_context": server_ctx}
    )
    ctl = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    ctl.start()
    try:
        db = make_db(tmp_path)
        fill(db)
        over = {"starttls": True} if mode == "starttls" else {"starttls": False, "ssl": True}
        cfg = make_config(tmp_path, db, email=email_cfg(port, **over))
        untrusted = outbox.send_digest(cfg, db.engine, now=T0, environ={})  # system CAs: refused
        assert untrusted.status == "failed" and "cannot connect" in (untrusted.error or "")
        out = outbox.send_digest(cfg, db.engine, now=T0, environ={}, ssl_context=client_ctx)
        assert out.status == "sent" and len(handler.messages) == 1
    finally:
        ctl.stop()


@pytest.mark.parametrize("empty", ["note", "skip"])
def test_empty_day(tmp_path: Path, inbox: tuple[Inbox, int], empty: str) -> None:
    box, port = inbox
    db = make_db(tmp_path)
    for h in range(4):
        db.cycle(T0 - timedelta(hours=h + 1), feeds=12, errors=1 if h == 0 else 0)
    db.feed(
        "https://down.example/rss",
        "Down Daily",
        failures=30,
        first_failure_at=T0 - timedelta(days=2),
        last_error="HTTP 503",
    )
    cfg = make_config(tmp_path, db, empty=empty, email=email_cfg(port))
    out = outbox.send_digest(cfg, db.engine, now=T0, environ={})
    if empty == "skip":
        assert out.status == "skipped" and box.messages == []
        return
    assert out.status == "sent" and len(box.messages) == 1
    msg = box.parsed()
    assert msg["Subject"] == "watcher 2025-03-14: nothing new (12 feeds polled, 1 error)"
    text, html = parts(msg)
    assert "Nothing new" in text and "12 feeds polled (4 cycles), 1 error" in text
    assert "Down Daily" in text and "Down Daily" in html and "HTTP 503" in text


def test_cli_digest_and_list(
    tmp_path: Path, inbox: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    box, port = inbox
    db = make_db(tmp_path)
    fill(db)
    conf = tmp_path / "config.toml"
    conf.write_text(
        f'[storage]\ndb = "{db.path}"\n'
        '[digest]\ndir = "digests"\nformats = ["markdown", "json", "atom"]\n'
        f'[digest.email]\nenabled = true\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\n'
        'starttls = false\nto = ["analyst@example.org"]\n'
        '[[topics]]\nname = "Russia–Afghan migration"\n',
        encoding="utf-8",
    )
    assert cli.main(["digest", "--config", str(conf), "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "# watcher digest" in dry and "nothing was marked" in dry
    assert box.messages == [] and set(db.digest_ids().values()) == {None}
    assert not (tmp_path / "digests").exists()

    assert cli.main(["digest", "--config", str(conf)]) == 0
    out = capsys.readouterr().out
    day = sorted((tmp_path / "digests").glob("*.md"))
    assert [p.name for p in day] == [f"{day[0].stem}.md"] and f"wrote {day[0]}" in out
    assert (tmp_path / "digests" / "feed.atom").is_file() and (
        tmp_path / "digests" / f"{day[0].stem}.json"
    ).is_file()
    assert "mailed to analyst@example.org" in out and len(box.messages) == 1
    assert oct(day[0].stat().st_mode & 0o777) == "0o600"

    assert cli.main(["digest", "--config", str(conf), "list"]) == 0
    listing = capsys.readouterr().out
    digest_id = box.parsed()["X-Watcher-Digest"]
    assert digest_id in listing and "sent" in listing

    assert cli.main(["digest", "--config", str(conf), "--resend", digest_id]) == 0
    assert len(box.messages) == 2 and box.parsed(1)["Message-ID"] == box.parsed(0)["Message-ID"]
    assert cli.main(["digest", "--config", str(conf), "--resend", "no-such-id"]) == 1
    assert "no digest 'no-such-id'" in capsys.readouterr().err
    assert os.path.exists(day[0])
