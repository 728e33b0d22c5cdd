"""Named points in a cycle and a digest run where a test can stop the process (issue 17).

Crash tests kill the daemon at a point they can name instead of at a random time.  The point is
chosen at start-up by an environment variable, read once by ``config.load`` into ``Config.stop_at``:

* ``WATCHER_TEST_PAUSE=<stage>``: on reaching the stage, log one ``test-stage`` line and stop
  (SIGSTOP to itself) until the test kills it, or resumes it with SIGCONT;
* ``WATCHER_TEST_EXIT=<stage>``: log the line and exit at once with code 86 (no cleanup at all).

Unset (always, in production) every ``reached`` call is a no-op.
"""

from __future__ import annotations

import enum
import logging
import os
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

EXIT_CODE = 86  # the exit status of WATCHER_TEST_EXIT, told apart from a crash


class Stage(enum.StrEnum):
    """The named points, in the order a cycle and a digest run reach them."""

    CYCLE_CLAIMED = "cycle-claimed"  # due feeds leased, nothing fetched yet
    ENTRIES_RECORDED = "entries-recorded"  # a feed's entries written, its state not yet (one txn)
    FEED_RECORDED = "feed-recorded"  # one feed committed, the cycle not finished (mid-cycle)
    DIGEST_RECORDED = "digest-recorded"  # a digest recorded (pending), nothing delivered
    DIGEST_DELIVERED = "digest-delivered"  # files written and mail sent, not marked sent yet


@dataclass(frozen=True, slots=True)
class StopAt:
    """Where this process stops, and how (pause for the test, or exit)."""

    stage: Stage
    exit: bool = False


def from_env(environ: Mapping[str, str]) -> StopAt | None:
    """``WATCHER_TEST_PAUSE`` / ``WATCHER_TEST_EXIT`` as a StopAt; ValueError names a bad value."""
    for name, exit_ in (("WATCHER_TEST_PAUSE", False), ("WATCHER_TEST_EXIT", True)):
        value = environ.get(name)
        if value:
            try:
                return StopAt(Stage(value), exit_)
            except ValueError:
                known = ", ".join(s.value for s in Stage)
                raise ValueError(f"{name}={value!r} is not a stage (one of: {known})") from None
    return None


def reached(stop: StopAt | None, stage: Stage, **detail: object) -> None:
    """Stop here if the process was told to (a no-op otherwise)."""
    if stop is None or stop.stage is not stage:
        return
    shown = " ".join(f"{k}={v}" for k, v in detail.items())
    log.warning(
        "test-stage stage=%s pid=%d %s",
        stage.value,
        os.getpid(),
        shown,
        extra={"event": "test_stage", "stage": stage.value},
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
    if stop.exit:
        os._exit(EXIT_CODE)
    # The test kills us here, or lets us go on (SIGCONT).  Sent to this thread, not the process:
    # a process-directed stop is taken by the main thread, which on busy cores may run only
    # milliseconds later, while this thread (the database thread, say) went on committing past the
    # point; a thread-directed one stops this thread before it returns, then the rest.
    signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)


__all__ = ["EXIT_CODE", "Stage", "StopAt", "from_env", "reached"]
