"""A real HTTP endpoint on 127.0.0.1 for Apprise's ``json://`` target, and alert configs for tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.digest_helpers import TOPIC, Db
from watcher import config as config_mod
from watcher.config import Config


@dataclass
class Receiver:
    """What the endpoint received (JSON bodies), and the statuses it answers with, in turn."""

    port: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # popped per request; then 200
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def messages(self) -> list[str]:
        with self.lock:
            return [str(r.get("message", "")) for r in self.received]


@contextmanager
def json_endpoint(port: int = 0) -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with rec.lock:
                rec.attempts += 1
                status = rec.statuses.pop(0) if rec.statuses else 200
                if status == 200:
                    rec.received.append(json.loads(body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    rec.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        httpd.shutdown()
        httpd.server_close()


def alerts_raw(db: Db, alerts: dict[str, Any], topics: tuple[str, ...] = (TOPIC,)) -> dict[str, Any]:
    return {
        "storage": {"db": str(db.path)},
        "schedule": {"timezone": "Europe/Moscow"},
        "alerts": alerts,
        "topics": [{"name": t} for t in topics],
    }


def alerts_config(tmp_path: Path, db: Db, **alerts: Any) -> Config:
    return config_mod.parse(alerts_raw(db, alerts, alerts.pop("topics_", (TOPIC,))), tmp_path)


def write_config(tmp_path: Path, db: Db, **alerts: Any) -> Path:
    """The same as a TOML file (for the CLI and subprocesses)."""
    lines = [f'[storage]\ndb = "{db.path}"\n\n[schedule]\ntimezone = "Europe/Moscow"\n\n[alerts]']
    for k, v in alerts.items():
        lines.append(f"{k} = {json.dumps(v)}")
    lines.append(f'\n[[topics]]\nname = "{TOPIC}"\n')
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
