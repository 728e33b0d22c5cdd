"""A feed parser helper that hangs, dies or garbles its answer on marked documents (tests)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from watcher.models import ParsedFeed
from watcher.parse_worker import Job, main, parse_job


def faulty_parse(job: Job) -> ParsedFeed:
    body = job[0]
    if body.startswith(b"HANG"):
        time.sleep(3600)
    if body.startswith(b"DIE"):
        os._exit(5)
    if body.startswith(b"GARBLE"):  # an answer that is not a pickle, then silence
        sys.__stdout__.buffer.write(b"\x00\x00\x00\x05hello")
        sys.__stdout__.buffer.flush()
        time.sleep(3600)
    if body.startswith(b"STALL:"):  # once: say which helper holds it, then wait to be killed
        line, body = body.split(b"\n", 1)
        marker = Path(line[len(b"STALL:") :].decode())
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            time.sleep(3600)
        return parse_job((body, *job[1:]))
    if body.startswith(b"RAISE"):
        raise ValueError("parser bug")
    return parse_job(job)


if __name__ == "__main__":
    main(faulty_parse)
