"""Secrets (issue 8): passwords come only from the environment and never show up anywhere else.

A real aiosmtpd on 127.0.0.1 demands a login; the password sits in an environment variable.  After
failed, odd (non-ASCII) and successful sends through the real CLI, in process and in a child
process with debug logging, the password (and its AUTH PLAIN / LOGIN encodings) must be absent
from log records, stdout, stderr, tracebacks, ``watcher status`` and ``digest list`` (text and
JSON), the heartbeat, the digest files and every byte of the SQLite files.
Complements ``test_digest_smtp.py::test_login_uses_the_password_from_the_environment...``.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.digest_helpers import WIRE, Inbox, free_port, make_db
from watcher import cli
from watcher import config as config_mod
from watcher.daemon import Daemon
from watcher.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cret-Pa55-for-tests"
ODD = "pässwörd-ünïcode-secret"
ENV = "WATCHER_SECURITY_TEST_PW"
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def encodings(secret: str) -> list[str]:
    """The password and the forms an SMTP client puts on the wire."""
    raw = secret.encode()
    return [
        secret,
        base64.b64encode(b"\0watcher\0" + raw).decode(),
        base64.b64encode(raw).decode(),
        secret[: len(secret) // 2 + 1],
    ]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    def authenticator(server: Any, session: Any, envelope: Any, mech: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == SECRET.encode()
        return AuthResult(success=ok, handled=False)

    inbox, port = Inbox(), free_port()
    ctl = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    ctl.start()
    try:
        yield inbox, port
    finally:
        ctl.stop()


def write_config(tmp: Path, db: Path, port: int) -> Path:
    text = (
        f'[storage]\ndb = "{db}"\n'
        f'[digest]\ndir = "{tmp / "digests"}"\nformats = ["markdown", "html", "json"]\n'
        '[digest.email]\nenabled = true\nsmtp_host = "127.0.0.1"\n'
        f'smtp_port = {port}\nstarttls = false\nusername = "watcher"\npassword_env = "{ENV}"\n'
        'to = ["analyst@example.org"]\ntimeout = 5\n'
        '[[topics]]\nname = "Russia–Afghan migration"\n'
        '[[topics.groups]]\nname = "migration"\nterms = ["migrant"]\n'
    )
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def assert_absent(where: str, text: str | bytes) -> None:
    for secret in (SECRET, ODD):
        for form in encodings(secret):
            found = form.encode() in text if isinstance(text, bytes) else form in text
            assert not found, f"{form!r} found in {where}"


def test_the_password_is_never_read_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[digest.email]\npassword = "{SECRET}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"digest\.email\.password: .*password_env") as e:
        config_mod.load(path, environ={})
    assert_absent("the config error", str(e.value))
    with pytest.raises(ConfigError, match="password_env") as e:
        config_mod.load(None, overrides=[f"digest.email.password={SECRET}"], environ={})
    assert_absent("the --set error", str(e.value))
    path.write_text(f'[storage]\ndb = "postgresql://u:{SECRET}@db.example/w"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"storage\.db: passwords are not read") as e:
        config_mod.load(path, environ={})
    assert_absent("the storage error", str(e.value))
    # From the environment the URL is accepted, and shown masked.
    cfg = config_mod.load(None, environ={"WATCHER_DB": f"postgresql://u:{SECRET}@db.example/w"})
    assert cfg.db_shown == "postgresql://u:***@db.example/w"


def test_password_is_absent_from_logs_output_status_and_storage(
    tmp_path: Path,
    smtp: tuple[Inbox, int],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, port = smtp
    db = make_db(tmp_path)
    db.match("Russia tightens work permits for Afghan migrants", WIRE)
    db.engine.dispose()
    conf = str(write_config(tmp_path, db.path, port))
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    for password, expect in (("wrong-" + SECRET[::-1], 1), (ODD, 1), (SECRET, 0)):
        monkeypatch.setenv(ENV, password)
        assert cli.main(["-vv", "digest", "--config", conf]) == expect, password
        captured = capfd.readouterr()
        seen.append(captured.out + captured.err)
    assert "login failed" in seen[0] and "non-ASCII" in seen[1]  # clear, and nothing more
    assert len(inbox.messages) == 1
    for argv in (["digest", "list"], ["digest", "list", "--json"], ["status"], ["status", "--json"]):
        assert cli.main([*argv, "--config", conf]) == 0
    cfg = config_mod.load(Path(conf), environ=dict(os.environ))
    Daemon(lambda: cfg, cfg).heartbeat()  # the daemon's heartbeat row, as `watcher run` writes it
    out = capfd.readouterr()
    assert_absent("the log records", caplog.text + "".join(repr(r.__dict__) for r in caplog.records))
    assert_absent("stdout/stderr", "".join(seen) + out.out + out.err)
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file() and path.suffix != ".toml":  # the database (+ -wal), digests, lock
            assert_absent(str(path), path.read_bytes())
    assert_absent("the sent mail", inbox.messages[0][2])


def test_a_child_process_with_debug_logs_leaks_nothing(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    _, port = smtp
    db = make_db(tmp_path)
    db.match("Russia tightens work permits for Afghan migrants", WIRE)
    db.engine.dispose()
    conf = write_config(tmp_path, db.path, port)
    env = {**os.environ, ENV: ODD, "PYTHONPATH": str(ROOT)}
    for password in (ODD, "wrong-" + SECRET[::-1]):
        env[ENV] = password
        proc = subprocess.run(
            [sys.executable, "-m", "watcher", "-vv", "digest", "--config", str(conf)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr and "login failed" in proc.stderr
        assert_absent("the child's output", proc.stdout + proc.stderr)
        assert password not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("host", "tls", "ok"),
    [
        ("smtp.example.org", {"starttls": False}, False),
        ("10.0.0.5", {"starttls": False}, False),
        ("smtp.example.org", {"starttls": True}, True),
        ("smtp.example.org", {"starttls": False, "ssl": True}, True),
        ("127.0.0.1", {"starttls": False}, True),
        ("localhost", {"starttls": False}, True),
        ("::1", {"starttls": False}, True),
    ],
)
def test_a_login_never_goes_out_in_clear_text(host: str, tls: dict[str, bool], ok: bool) -> None:
    raw = {"digest": {"email": {"smtp_host": host, "username": "u", "password_env": ENV, **tls}}}
    if ok:
        assert config_mod.parse(raw, ROOT).digest.email.username == "u"
    else:
        with pytest.raises(ConfigError, match=r"^digest\.email\.username: .*clear text"):
            config_mod.parse(raw, ROOT)
