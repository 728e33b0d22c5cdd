"""SIGKILL at named points (issue 17): the process says where it stopped, then is killed there.

``WATCHER_TEST_PAUSE=<stage>`` (``watcher/stages.py``) makes a real ``watcher`` process log a
``test-stage`` line and stop itself at that point; the test checks what the database shows at that
moment, kills the process with SIGKILL, restarts the work, and asserts that nothing was lost, nothing
doubled and the feeds are healthy again.  ``WATCHER_TEST_EXIT`` exits at the point instead.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.farm import (
    AFGHAN_REFUGEES_RU,
    AFGHAN_WORKERS,
    LOCAL_WEATHER,
    TALIBAN_TRADE,
    page,
    serve_feed,
    write_config,
)
from tests.proc_helpers import clean_env, query, wait_for
from tests.server import Server
from watcher.stages import EXIT_CODE, Stage

pytestmark = pytest.mark.slow
FEEDS = {  # two feeds, so that "mid-cycle" has one feed done and one not
    "/a.xml": (AFGHAN_WORKERS, LOCAL_WEATHER),
    "/b.xml": (AFGHAN_REFUGEES_RU, TALIBAN_TRADE),
}
RELEVANT = {AFGHAN_WORKERS.slug, AFGHAN_REFUGEES_RU.slug}
LEASE = 2.0


def _launch(config: Path, command: str, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    with open(log, "ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "watcher", command, "--config", str(config)],
            cwd=config.parent,
            env=clean_env(**extra),
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


def _run(config: Path, command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "watcher", command, "--config", str(config)],
        cwd=config.parent,
        env=clean_env(),
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()


def _stopped(pid: int) -> bool:
    """The process is stopped (state T): it reached its stage and is waiting for the kill."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def _pause_at(proc: subprocess.Popen[bytes], log: Path, stage: Stage) -> str:
    """Wait until the process has logged the stage line and stopped; return the line."""
    marker = f"test-stage stage={stage.value} pid={proc.pid}"
    wait_for(lambda: marker in log.read_text("utf-8") or proc.poll() is not None, 90, stage.value)
    assert proc.poll() is None, log.read_text("utf-8")
    wait_for(lambda: _stopped(proc.pid), 10, f"the process to stop at {stage.value}")
    return next(line for line in log.read_text("utf-8").splitlines() if marker in line)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def _world(tmp: Path, server: Server) -> tuple[Path, dict[str, str]]:
    urls: dict[str, str] = {}
    feeds = []
    for path, stories in FEEDS.items():
        items = []
        for s in stories:
            urls[s.slug] = server.route(f"/n/{s.slug}.html", page(s))
            items.append((s.title, urls[s.slug], s.slug))
        feeds.append((path, serve_feed(server, path, path, items)))
    extra = (
        '[schedule]\npoll_interval = "1s"\nmin_interval = "1s"\nmax_interval = "2s"\n'
        f'digest_at = "03:00"\ntimezone = "UTC"\nlease = "{LEASE:g}s"\n'
    )
    return write_config(tmp, feeds, extra), urls


def _assert_all_stored_once(db: Path, urls: dict[str, str]) -> None:
    """Every story served is one entry, the relevant ones one match each, every feed healthy."""
    stored = [str(u) for (u,) in query(db, "select url from entries order by url")]
    assert stored == sorted(urls.values())
    matched = sorted(
        str(u) for (u,) in query(db, "select e.url from matches m join entries e on e.id = m.entry_id")
    )
    assert matched == sorted(urls[s] for s in RELEVANT)
    feeds = query(db, "select last_status, failures, lease_owner, next_poll_at from feeds")
    assert len(feeds) == 2
    for status, failures, owner, next_poll in feeds:  # polled, healthy, released, scheduled
        assert status in ("ok", "not_modified") and failures == 0 and owner is None and next_poll
    links = query(db, "select count(*) from entry_feeds")
    assert links == [(len(urls),)]  # each entry linked to its one feed, once
    assert query(db, "pragma integrity_check") == [("ok",)]


@pytest.mark.parametrize(
    "stage", [Stage.CYCLE_CLAIMED, Stage.ENTRIES_RECORDED, Stage.FEED_RECORDED], ids=str
)
def test_daemon_killed_at_a_named_point_of_a_cycle_loses_and_doubles_nothing(
    tmp_path: Path, http_server: Server, stage: Stage
) -> None:
    config, urls = _world(tmp_path, http_server)
    db, log = tmp_path / "seen.db", tmp_path / "daemon.log"
    proc = _launch(config, "run", log, WATCHER_TEST_PAUSE=stage.value)
    try:
        line = _pause_at(proc, log, stage)
        entries = query(db, "select count(*) from entries")
        leased = query(db, "select count(*) from feeds where lease_owner is not null")
        states = query(db, "select count(*) from feeds where last_status is not null")
        finished = query(db, "select count(*) from cycles where finished_at is not null")
        if stage is Stage.CYCLE_CLAIMED:  # both feeds leased, nothing fetched
            assert "feeds=2" in line
            assert (entries, leased, states) == ([(0,)], [(2,)], [(0,)])
            assert http_server.hits("/a.xml") == http_server.hits("/b.xml") == 0
        else:
            # Feeds commit on the cycle's database thread while others are still being fetched, so
            # the other feed may or may not be committed already; what must hold is that no feed is
            # half-written: each committed feed has its two entries and its state, and a feed whose
            # transaction is paused (entries written, state not) shows neither.
            (n_entries,), (n_leased,), (n_states,) = entries[0], leased[0], states[0]
            assert n_entries == 2 * n_states and n_leased + n_states == 2, (entries, leased, states)
            if stage is Stage.ENTRIES_RECORDED:  # the paused feed's entries are not visible
                assert n_leased >= 1
            else:  # mid-cycle: at least the feed that reached the point is committed
                assert n_states >= 1
        assert finished == [(0,)]
        _kill(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The kill left no half-written feed; the restarted daemon catches up once the leases expire.
    if stage is Stage.ENTRIES_RECORDED:
        # the paused feed's entries rolled back, not half there (the other feed may be committed)
        assert query(db, "select count(*) from entries") == entries
    again = _launch(config, "run", tmp_path / "restart.log")
    try:
        wait_for(lambda: _caught_up(db, len(FEEDS)), 60, "the restarted daemon to poll every feed")
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=20) == 0
    finally:
        if again.poll() is None:
            again.kill()
            again.wait()
    _assert_all_stored_once(db, urls)
    _run(config, "fetch")  # and a further poll adds nothing
    assert len(query(db, "select id from entries")) == len(urls)


def _caught_up(db: Path, feeds: int) -> bool:
    """Every feed polled and released, and a cycle finished: by the restarted daemon (the killed one
    never finished one), so it is running, not still starting, when the test stops it."""
    done = query(db, "select count(*) from feeds where last_status is not null and lease_owner is null")
    finished = query(db, "select count(*) from cycles where finished_at is not null")
    return done == [(feeds,)] and finished != [(0,)]


def test_exit_at_a_stage_exits_there_with_its_code(tmp_path: Path, http_server: Server) -> None:
    config, urls = _world(tmp_path, http_server)
    db, log = tmp_path / "seen.db", tmp_path / "fetch.log"
    proc = _launch(config, "fetch", log, WATCHER_TEST_EXIT=Stage.FEED_RECORDED.value)
    assert proc.wait(timeout=120) == EXIT_CODE
    assert f"test-stage stage=feed-recorded pid={proc.pid}" in log.read_text("utf-8")
    # The feed that reached the stage is committed; the other feed's transaction runs on the
    # database thread meanwhile and may have committed too (as in the pause test above): what
    # must hold is that no feed is half-written, each committed feed with its entries and state.
    (n_entries,), (n_states,) = (
        query(db, "select count(*) from entries")[0],
        query(db, "select count(*) from feeds where last_status is not null")[0],
    )
    assert n_states >= 1 and n_entries == 2 * n_states, (n_entries, n_states)
    time.sleep(LEASE + 0.5)
    _run(config, "fetch")
    _assert_all_stored_once(db, urls)


def test_a_bad_stage_name_is_one_config_error(tmp_path: Path, http_server: Server) -> None:
    config, _ = _world(tmp_path, http_server)
    done = subprocess.run(
        [sys.executable, "-m", "watcher", "fetch", "--config", str(config)],
        cwd=tmp_path,
        env=clean_env(WATCHER_TEST_PAUSE="nowhere"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "WATCHER_TEST_PAUSE='nowhere' is not a stage" in done.stderr
    assert http_server.hits("/a.xml") == 0


def _digests(tmp: Path) -> list[str]:
    return [p.read_text("utf-8") for p in sorted((tmp / "digests").glob("*.md"))]


@pytest.mark.parametrize("stage", [Stage.DIGEST_RECORDED, Stage.DIGEST_DELIVERED], ids=str)
def test_digest_killed_between_record_and_send_is_sent_once(
    tmp_path: Path, http_server: Server, stage: Stage
) -> None:
    config, urls = _world(tmp_path, http_server)
    db, log = tmp_path / "seen.db", tmp_path / "digest.log"
    _run(config, "fetch")
    proc = _launch(config, "digest", log, WATCHER_TEST_PAUSE=stage.value)
    try:
        _pause_at(proc, log, stage)
        assert query(db, "select status from digests") == [("pending",)]
        # recorded: the matches are claimed by the digest, nothing written yet
        assert query(db, "select count(*) from matches where digest_id is null") == [(0,)]
        if stage is Stage.DIGEST_RECORDED:
            assert _digests(tmp_path) == []
        else:
            assert len(_digests(tmp_path)) == 1
        _kill(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _run(config, "digest")  # the next run finishes the recorded digest instead of making another
    assert query(db, "select status from digests") == [("sent",)]
    texts = _digests(tmp_path)
    assert len(texts) == 1
    for slug, url in urls.items():
        assert texts[0].count(url + ")") == (slug in RELEVANT), slug
    _run(config, "digest")  # nothing new: no second digest with the same matches
    assert all(status == "sent" for (status,) in query(db, "select status from digests"))
    assert sum(t.count(urls[AFGHAN_WORKERS.slug] + ")") for t in _digests(tmp_path)) == 1


