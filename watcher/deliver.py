"""I/O for digests: atomic file writes and SMTP.

A send never raises for an expected failure: it returns a ``SendResult`` saying whether the mail
was accepted and, if not, whether it is *certainly* undelivered (the server refused it, or we never
got as far as the message) or *maybe* delivered (the connection broke while the message was in
flight) — the outbox releases the matches in the first case and resends the same digest in the
second.
The SMTP password is read from the environment variable named in the config; it is never logged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import ssl
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from .config import EmailConfig
from .errors import DeliveryError

log = logging.getLogger(__name__)


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half of one."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise DeliveryError(f"{path}: cannot write: {e}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise DeliveryError(f"{path}: cannot write: {e}") from e
    with contextlib.suppress(OSError):  # make the rename itself durable (not possible everywhere)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def build_message(
    *,
    subject: str,
    sender: str,
    to: Sequence[str],
    text: str,
    html: str,
    message_id: str,
    date: datetime,
    digest_id: str = "",
) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML second (the preferred part)."""
    msg = EmailMessage(policy=policy.SMTP)
    # EmailMessage refuses CR/LF in header values: a title that slipped through fails, not opens.
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to the digest
    if digest_id:
        msg["X-Watcher-Digest"] = digest_id
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


@dataclass(frozen=True, slots=True)
class SendResult:
    """How a send ended: accepted, certainly not delivered, or maybe delivered."""

    ok: bool
    definite: bool = True  # when not ok: True if the mail was certainly not delivered
    error: str | None = None
    refused: tuple[str, ...] = ()  # recipients refused while others accepted


def _connect(cfg: EmailConfig, context: ssl.SSLContext) -> smtplib.SMTP:
    if cfg.ssl:
        return smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout, context=context)
    smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout)
    try:
        if cfg.starttls:
            smtp.starttls(context=context)
    except BaseException:
        smtp.close()
        raise
    return smtp


def send(
    cfg: EmailConfig,
    msg: EmailMessage,
    *,
    environ: Mapping[str, str],
    ssl_context: ssl.SSLContext | None = None,
) -> SendResult:
    """Send ``msg`` to ``cfg.to`` over SMTP (implicit TLS, STARTTLS or plain, optional login)."""
    where = f"smtp {cfg.smtp_host}:{cfg.smtp_port}"
    password = cfg.password(environ)
    if cfg.username and password is None:
        return SendResult(
            False,
            True,
            f"{where}: login needs the password in ${cfg.password_env or '(password_env)'}",
        )
    context = ssl_context or ssl.create_default_context()
    try:
        smtp = _connect(cfg, context)
    except (OSError, smtplib.SMTPException) as e:  # connect, greeting, TLS: nothing was sent
        return SendResult(False, True, f"{where}: cannot connect: {_reason(e)}")
    try:
        if cfg.username:
            try:
                smtp.login(cfg.username, password or "")
            except (OSError, smtplib.SMTPException) as e:
                return SendResult(False, True, f"{where}: login failed: {_reason(e)}")
            except UnicodeError:  # smtplib sends credentials as ASCII; its error quotes them
                return SendResult(False, True, f"{where}: login failed: non-ASCII user or password")
        try:
            refused = smtp.send_message(msg, from_addr=cfg.from_, to_addrs=list(cfg.to))
        except (
            smtplib.SMTPSenderRefused,
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPDataError,
        ) as e:
            return SendResult(False, True, f"{where}: refused: {_reason(e)}")
        except (
            OSError,
            smtplib.SMTPException,
        ) as e:  # broke mid-transaction: it may have been accepted
            return SendResult(False, False, f"{where}: interrupted: {_reason(e)}")
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()
        smtp.close()
    if refused:
        log.warning("%s: accepted, but refused for %s", where, ", ".join(sorted(refused)))
    return SendResult(True, refused=tuple(sorted(refused)))


def _reason(e: BaseException) -> str:
    """A one-line reason without anything the caller did not already know (never the password)."""
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return "all recipients refused: " + "; ".join(
            f"{rcpt} {code} {_text(msg)}" for rcpt, (code, msg) in e.recipients.items()
        )
    if isinstance(e, smtplib.SMTPResponseException):
        return f"{e.smtp_code} {_text(e.smtp_error)}"
    return " ".join(f"{type(e).__name__}: {e}".split())[:300]


def _text(value: bytes | str) -> str:
    s = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return " ".join(s.split())[:300]
