"""Snapshot what extract_article makes of every fixture page, to compare two versions of it.

Writes one JSON object a page (status, title, language, site name, author, date, and a hash and
length of the text) for the real pages under ../shared/fixtures/html/, then, given a second
snapshot, lists every page where a field differs (issue 16: a speed change must not change what is
extracted, except for the metadata rule it documents).

    .venv/bin/python scripts/extract_snapshot.py OUT.json [--compare OLD.json] [--dated]

``--dated`` extracts as for a feed entry that has its own date (the page's date is not searched).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import inspect
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher.config import ExtractConfig  # noqa: E402
from watcher.extract import extract_article  # noqa: E402

HTML = ROOT.parent / "shared" / "fixtures" / "html"
SUBDIRS = ("article-extraction-benchmark/html", "newspaper4k/html", "trafilatura/pages")


def snapshot(dated: bool) -> dict[str, dict[str, object]]:
    """Every fixture page -> the fields of its Article that matter downstream."""
    cfg = ExtractConfig()
    extra = {"dated": True} if dated and "dated" in inspect.signature(extract_article).parameters else {}
    out: dict[str, dict[str, object]] = {}
    for sub in SUBDIRS:
        for path in sorted((HTML / sub).glob("*.gz")):
            url = f"https://example.org/{path.stem}"
            a = extract_article(gzip.decompress(path.read_bytes()), url, cfg=cfg, **extra)
            out[f"{sub}/{path.name}"] = {
                "status": a.status,
                "error": a.error,
                "title": a.title,
                "language": a.language,
                "sitename": a.sitename,
                "author": a.author,
                "published": a.published.isoformat() if a.published else None,
                "text_sha1": hashlib.sha1(a.text.encode()).hexdigest(),
                "text_len": len(a.text),
            }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--compare", type=Path, help="an earlier snapshot to compare with")
    ap.add_argument("--dated", action="store_true", help="as for an entry with its own date")
    args = ap.parse_args()
    if not HTML.is_dir():
        print(f"no fixture pages at {HTML}", file=sys.stderr)
        return 2
    new = snapshot(args.dated)
    args.out.write_text(json.dumps(new, indent=1, sort_keys=True), encoding="utf-8")
    print(f"{len(new)} pages -> {args.out}")
    if not args.compare:
        return 0
    old = json.loads(args.compare.read_text(encoding="utf-8"))
    diffs: dict[str, int] = {}
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name, {}), new.get(name, {})
        for field in sorted(set(a) | set(b)):
            if a.get(field) != b.get(field):
                diffs[field] = diffs.get(field, 0) + 1
                if diffs[field] <= 3:
                    print(f"{name}: {field}: {a.get(field)!r} -> {b.get(field)!r}")
    print("differences by field:", diffs or "none")
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())
