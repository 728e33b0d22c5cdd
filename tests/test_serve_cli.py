"""``watcher serve`` and ``watcher run --serve`` as processes: they listen where told, serve the
pages, and refuse a non-loopback address without a token."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.serve_helpers import free_port
from tests.server import Server
from tests.test_daemon import daemon_config, start, wait_for


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_run_serve_serves_the_review_page_beside_the_daemon(tmp_path: Path, http_server: Server) -> None:
    http_server.route("/feed.xml", "<rss><channel><title>x</title></channel></rss>")
    config = daemon_config(tmp_path, [("wire", http_server.url("/feed.xml"))], "23:59")
    port = free_port()
    proc = start(config, "--serve", "--serve-port", str(port), log=tmp_path / "log")
    try:
        wait_for(lambda: _up(f"http://127.0.0.1:{port}/feeds"), 60, "the review page")
        page = httpx.get(f"http://127.0.0.1:{port}/feeds").text
        assert http_server.url("/feed.xml") in page  # the daemon's feeds, in the health table
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, (tmp_path / "log").read_text()


def test_serve_process_listens_and_run_serve_refuses_a_bare_public_address(tmp_path: Path) -> None:
    config = daemon_config(tmp_path, [], "23:59")
    env = {k: v for k, v in os.environ.items() if k not in ("WATCHER_CONFIG", "WATCHER_DB")}
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "serve", "--config", str(config), "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: _up(f"http://127.0.0.1:{port}/"), 60, "watcher serve")
        assert "Matches" in httpx.get(f"http://127.0.0.1:{port}/").text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    refused = subprocess.run(
        [sys.executable, "-m", "watcher", "run", "--serve", "--config", str(config), "--serve-host", "::"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "refusing to listen on :: without a token" in refused.stderr
