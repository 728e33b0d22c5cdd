"""The relevance filter through the whole pipeline agrees with ``watcher eval`` on the dev articles.

``watcher eval`` scores each labelled article's title and text as the corpus gives them; a user's
article arrives as a feed entry and a page that trafilatura extracts (issue 12: the hidden sets are
also judged through ``watcher fetch``).  Here every article of both dev files (read from
``../shared/corpus`` at run time) is served on 127.0.0.1 as an RSS entry and an HTML page written
here, and ``watcher fetch --json`` must match exactly the articles ``watcher eval`` matches.
"""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path

from tests.farm import ROOT, rss, write_config
from tests.server import Server
from tests.shared_data import require_shared

FEEDS = 4


def _page(record: dict[str, str]) -> str:
    """An article page as a news site writes one: navigation, the headline, the text, a footer."""
    title = html.escape(record["title"])
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in record["text"].split("\n") if p.strip())
    return (
        f'<!DOCTYPE html><html lang="{html.escape(record["lang"])}"><head><meta charset="utf-8">'
        f'<title>{title}</title></head><body><nav><a href="/">Home</a> <a href="/world">World</a></nav>'
        f"<main><article><h1>{title}</h1>{paragraphs}</article></main>"
        "<footer><p>Write to the newsroom.</p></footer></body></html>"
    )


def _run(*argv: str, cwd: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "watcher", *argv], cwd=cwd, capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout))


def test_watcher_fetch_matches_what_watcher_eval_matches_on_the_dev_articles(
    http_server: Server, tmp_path: Path
) -> None:
    files = [require_shared("corpus", "dev.jsonl"), require_shared("corpus", "dev_multilingual.jsonl")]
    records = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    feeds = []
    for k in range(FEEDS):
        share = records[k::FEEDS]
        items = []
        for r in share:
            link = http_server.route(
                f"/a/{r['id']}.html", _page(r), headers={"Content-Type": "text/html; charset=utf-8"}
            )
            items.append((r["title"], link, link))
        feeds.append((f"dev {k}", http_server.route(f"/f/{k}.xml", rss(f"dev {k}", items))))
    config = write_config(tmp_path, feeds)

    fetched = _run("fetch", "--json", "--no-alerts", "--config", str(config), cwd=tmp_path)
    evaluated = _run("eval", *map(str, files), "--json", "--config", str(ROOT / "config.toml"), cwd=tmp_path)

    assert fetched["errors"] == [] and fetched["new_entries"] == len(records)
    matches = fetched["matches"]
    assert isinstance(matches, list)
    by_fetch = {str(m["url"]).rsplit("/", 1)[1].removesuffix(".html") for m in matches}
    wrong = set(evaluated["misclassified"])  # type: ignore[call-overload]
    by_eval = {r["id"] for r in records if (r["label"] == 1) != (r["id"] in wrong)}
    assert len(by_eval) > 90  # the dev files have 102 relevant articles
    assert by_fetch == by_eval, {"fetch only": by_fetch - by_eval, "eval only": by_eval - by_fetch}
