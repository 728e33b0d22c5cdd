"""Memory and time of one hostile input, each in a fresh process (``python -m tests.bomb_probe``).

``ru_maxrss`` is a high-water mark: read in the test process, a blow-up below an earlier peak is
invisible and the result depends on test order.  Here a clean parent (imports done, single-threaded)
forks one child per case; a forked child's high-water mark starts at its own resident size, so the
growth it reports belongs to that case alone.

Input (stdin): a JSON list of cases; output (stdout): a JSON list of results, in order.
A case is {"kind": "parse", "path", "url", "content_type", "fast", "markers"},
{"kind": "fetch", "url", "max_body_bytes"}, {"kind": "cycle", "config", "dir"} (one poll cycle)
or {"kind": "alloc", "mib"} (a control that must show).
A result is {"grew_mib", "seconds", "status", "markers": {marker: found}, "error"}.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(case: dict[str, Any]) -> dict[str, Any]:
    kind = case["kind"]
    if kind == "alloc":
        block = bytearray(int(case["mib"]) << 20)
        for i in range(0, len(block), 4096):  # touch every page: resident, not just reserved
            block[i] = 1
        return {"status": "ok", "markers": {}}
    if kind == "parse":
        from watcher.feeds import parse_feed

        body = Path(case["path"]).read_bytes()
        p = parse_feed(body, url=case["url"], content_type=case.get("content_type"), fast=case["fast"])
        text = "\n".join([p.title, *(f"{e.title}\n{e.summary}\n{e.content}" for e in p.entries)])
        markers = {m: m in text for m in case.get("markers", [])}
        return {"status": p.status.value, "markers": markers}
    if kind == "fetch":
        from tests.http_helpers import fetch, http_cfg

        r = fetch(http_cfg(max_body_bytes=int(case["max_body_bytes"])), case["url"])
        return {"status": r.status.value, "markers": {}, "body_bytes": len(r.body)}
    if kind == "cycle":
        return _cycle(case["config"], Path(case["dir"]))
    raise ValueError(f"unknown case kind {kind!r}")


def _cycle(raw: dict[str, Any], folder: Path) -> dict[str, Any]:
    """One poll cycle on a config, extraction in this process (so its memory counts here)."""
    import asyncio

    from watcher import config as config_mod
    from watcher.extract_pool import ExtractPool
    from watcher.pipeline import build_models, run_cycle_async
    from watcher.store import open_db

    cfg = config_mod.parse(raw, folder)
    engine = open_db(cfg.db_url)

    async def go() -> dict[str, str]:
        async with ExtractPool(cfg.extract, workers=0) as pool:
            models = build_models(cfg, engine)
            report = await run_cycle_async(cfg, engine, models=models, pool=pool)
        return {f.feed: f.status for f in report.feeds}

    try:
        return {"status": "ok", "feeds": asyncio.run(go()), "markers": {}}
    finally:
        engine.dispose()


def _in_child(case: dict[str, Any]) -> dict[str, Any]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure one case, answer, leave without running any cleanup
        os.close(read_end)
        try:
            before, start = _peak_mib(), time.perf_counter()
            result = _run(case)
            result.update(seconds=time.perf_counter() - start, grew_mib=_peak_mib() - before)
        except BaseException as e:  # reported to the test, which fails on it
            result = {"status": "probe-error", "error": f"{type(e).__name__}: {e}", "markers": {}}
        with os.fdopen(write_end, "w") as out:
            json.dump(result, out)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        text = answer.read()
    _, status = os.waitpid(pid, 0)
    if not text:
        return {"status": "died", "error": f"wait status {status}", "markers": {}}
    result: dict[str, Any] = json.loads(text)
    return result


def main() -> int:
    cases = json.load(sys.stdin)
    # Import what the cases use before forking, so a child's growth is the case's and not imports'.
    from tests.http_helpers import fetch  # noqa: F401
    from watcher import pipeline  # noqa: F401
    from watcher.feeds import parse_feed

    for fast in (True, False):  # and warm what the first parse loads lazily
        parse_feed(b"<rss><channel><title>w</title></channel></rss>", url="http://w.example/", fast=fast)
    json.dump([_in_child(c) for c in cases], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
