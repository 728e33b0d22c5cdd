"""The GET pages: Matches, Near misses, Article, Feeds, Try the topic, Digests."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from .. import match, render
from ..digest import from_dict
from ..store import digests as store_digests
from ..store import feeds as store_feeds
from ..store import now_utc
from . import queries
from .app import Site
from .present import concepts, day_start, highlight, lacks, parse_day, parse_float, parse_int, terms

# The stored copy of a page is a stranger's HTML: shown sandboxed (no script, its own origin).
COPY_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class Pages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def _topic(self, request: Request, default_first: bool) -> str | None:
        names = [t.name for t in self.site.cfg.topics]
        asked = request.query_params.get("topic") or None
        if asked in names:
            return asked
        return names[0] if default_first and names else None

    def matches(self, request: Request) -> Response:
        site, q = self.site, request.query_params
        tz = site.cfg.schedule.timezone
        since, until = parse_day(q.get("from"), tz), parse_day(q.get("to"), tz)
        f = queries.MatchFilter(
            topic=self._topic(request, False),
            since=day_start(since, tz) if since else None,
            until=day_start(until, tz, 1) if until else None,
            language=q.get("language") or None,
            feed_id=parse_int(q.get("feed")),
            min_score=parse_float(q.get("min_score")),
            labelled=q.get("labelled") == "1",
            offset=max(0, parse_int(q.get("offset")) or 0),
        )
        size = site.cfg.serve.page_size
        rows, more = queries.list_matches(site.engine, f, size)
        thresholds = {t.name: match.effective_threshold(t) for t in site.cfg.topics}
        return site.page(
            request,
            "matches.html.j2",
            {
                "rows": rows,
                "more": more,
                "f": f,
                "q": q,
                "size": size,
                "thresholds": thresholds,
                "languages": queries.languages(site.engine),
                "feeds": queries.feed_choices(site.engine),
                "concepts": concepts,
                "next_query": _with(q, offset=str(f.offset + size)),
                "prev_query": _with(q, offset=str(max(0, f.offset - size))),
            },
        )

    def near(self, request: Request) -> Response:
        site = self.site
        name = self._topic(request, True)
        if name is None:
            return site.page(request, "near.html.j2", {"rows": [], "topic": None, "more": False})
        topic = site.cfg.topic(name)
        offset = max(0, parse_int(request.query_params.get("offset")) or 0)
        margin = site.cfg.serve.near_margin
        threshold = match.effective_threshold(topic)
        rows, more = queries.near_misses(
            site.engine, topic.name, threshold, margin, site.cfg.serve.page_size, offset
        )
        return site.page(
            request,
            "near.html.j2",
            {
                "rows": rows,
                "more": more,
                "topic": topic,
                "margin": margin,
                "lacks": lambda details: lacks(details, topic.groups),
                "concepts": concepts,
                "offset": offset,
                "size": site.cfg.serve.page_size,
            },
        )

    def article(self, request: Request) -> Response:
        site = self.site
        ev = queries.evidence(site.engine, int(request.path_params["entry_id"]))
        if ev is None:
            return site.page(request, "missing.html.j2", {"what": "article"}, 404)
        found = [t for _, _, _, details in ev.scores for t in terms(details)]
        return site.page(
            request,
            "article.html.j2",
            {
                "ev": ev,
                "pieces": highlight(ev.text, found),
                "concepts": concepts,
                "thresholds": {t.name: match.effective_threshold(t) for t in site.cfg.topics},
            },
        )

    def stored_copy(self, request: Request) -> Response:
        raw = queries.stored_copy(self.site.engine, int(request.path_params["entry_id"]))
        if raw is None:
            return PlainTextResponse("no copy of this page was kept (pages are kept for matches)\n", 404)
        return Response(
            raw, media_type="text/html", headers={"content-security-policy": COPY_CSP}
        )

    def feeds(self, request: Request) -> Response:
        site = self.site
        store_feeds.sync_config_feeds(site.engine, site.cfg.feeds, now_utc())
        return site.page(request, "feeds.html.j2", {"rows": store_feeds.health(site.engine)})

    def try_page(self, request: Request) -> Response:
        return self.site.page(request, "try.html.j2", {"trial": None, "source": "", "chosen": None})

    def digests(self, request: Request) -> Response:
        site = self.site
        return site.page(
            request, "digests.html.j2", {"rows": store_digests.list_digests(site.engine, 200)}
        )

    def digest(self, request: Request) -> Response:
        site = self.site
        stored = store_digests.load(site.engine, str(request.path_params["digest_id"]))
        if stored is None:
            return site.page(request, "missing.html.j2", {"what": "digest"}, 404)
        try:
            digest = from_dict(json.loads(stored.payload))
        except (ValueError, KeyError, TypeError) as e:
            return PlainTextResponse(f"digest {stored.id}: its payload cannot be read ({e})\n", 500)
        html = render.render(site.env, "html", digest)
        return HTMLResponse(html)


def _with(params: QueryParams, **changes: str) -> str:
    """The query string with some parameters replaced."""
    items = [(k, v) for k, v in params.multi_items() if k not in changes]
    return urlencode([*items, *changes.items()])
