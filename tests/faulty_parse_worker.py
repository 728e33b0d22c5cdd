"""A feed parser helper that hangs or dies on marked documents (run by FeedParser in tests)."""

from __future__ import annotations

import os
import time

from watcher.models import ParsedFeed
from watcher.parse_worker import Job, main, parse_job


def faulty_parse(job: Job) -> ParsedFeed:
    body = job[0]
    if body.startswith(b"HANG"):
        time.sleep(3600)
    if body.startswith(b"DIE"):
        os._exit(5)
    if body.startswith(b"RAISE"):
        raise ValueError("parser bug")
    return parse_job(job)


if __name__ == "__main__":
    main(faulty_parse)
